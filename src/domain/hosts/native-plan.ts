// Activation and rollback of a native service PLANNED as data (Kamal style): from what one probe read (NativeState)
// and the target, a pure function returns the host commands to run, in order, and the restart they end with; the
// driver (activities/hosts/native.ts) only executes a plan — rendered as one host script by native-script.ts — and
// turns a refusal into its failure. Tested by value in
// test/unit/native-plan.test.ts; the commands themselves run against a real sshd in
// test/integration/native-driver.test.ts.
//
// Why the steps are what they are (converging on the target, so that a retried activity finishes the job or does
// nothing):
// - Activation writes `.fw-pending` BEFORE it switches anything and removes it after the restart/reload, so "the
//   record says target but the old process still runs" (a crash between the two) is completed on retry.
// - installed.json keeps ONE previous record, the last fully activated (identity, config): a retry after the record
//   was written must not shift it (previous would become the target itself).
// - The env the previous record ran with is kept as `env.previous` (only while the env file still IS that env), and
//   rollback refuses when `env.previous` does not hash to the config it restores.
// - SIGHUP reload only when just the config changed, the service declares reload_on_sighup, and no interrupted
//   restart is pending; the driver falls back to a restart when the reload cannot be delivered.
import {
  configHash,
  copyFileAtomicCommand,
  identityHex,
  nativePaths,
  removeCommand,
  renderInstalledJson,
  switchSymlinkCommand,
  writeFileAtomicCommand,
  type Argv,
  type HostStep,
  type InstalledEntry,
  type InstalledRecord,
  type NativePaths,
  type NativeProbe,
} from './commands';

export type { HostStep };

/** What the probe read, with installed.json parsed (null when absent). */
export interface NativeState extends NativeProbe {
  installed: InstalledRecord | null;
}

/** The paths of the layout installed.json records (the orchestrator's own when there is none). */
export const pathsOf = (svc: string, base: string | undefined, st: Pick<NativeState, 'installed'>): NativePaths =>
  nativePaths(svc, base, st.installed?.layout ?? 'own');

/** Points `current` at `releases/<hex>`, RELATIVE to the service folder (the on-host layout contract). */
export const switchCurrentRelative = (p: NativePaths, hex: string): Argv =>
  switchSymlinkCommand(`releases/${hex}`, p.current);

export const entryOf = (r: InstalledEntry): InstalledEntry => ({
  identity: r.identity,
  version: r.version,
  config_hash: r.config_hash,
});

const recordStep = (p: NativePaths, record: InstalledRecord): HostStep => ({
  argv: writeFileAtomicCommand(p.installed, '0644'),
  what: 'record',
  stdin: renderInstalledJson(record),
});

export interface ActivationTarget {
  identity: string;
  version: string;
  /** The rendered env file (renderEnvFile). */
  envText: string;
  reloadOnSighup: boolean;
}

export type ActivationPlan =
  | { kind: 'not-staged'; hex: string }
  | {
      /** Release, config and record are the target's: run `steps` (a version relabel), then start it if down. */
      kind: 'converged';
      target: InstalledEntry;
      previous: InstalledEntry | null;
      steps: HostStep[];
    }
  | {
      /** Run `steps`, then `restart` (restart, or SIGHUP reload falling back to a restart), then `after`. */
      kind: 'activate';
      target: InstalledEntry;
      previous: InstalledEntry | null;
      steps: HostStep[];
      restart: 'restart' | 'reload';
      after: HostStep[];
    };

export function planNativeActivation(
  svc: string,
  base: string | undefined,
  st: NativeState,
  input: ActivationTarget,
): ActivationPlan {
  const hex = identityHex(input.identity);
  const target: InstalledEntry = {
    identity: `sha256:${hex}`,
    version: input.version,
    config_hash: configHash(input.envText),
  };
  const p = pathsOf(svc, base, st);
  if (!st.releases.includes(hex)) return { kind: 'not-staged', hex };
  const inst = st.installed;
  const recorded = inst?.identity === target.identity && inst.config_hash === target.config_hash;
  const linkOk = st.currentIdentity === hex;
  const envOk = st.envSha256 === target.config_hash;
  const previous = inst && !recorded ? entryOf(inst) : (inst?.previous ?? null);
  const layout = inst?.layout ? { layout: inst.layout } : {};

  if (recorded && linkOk && envOk && st.pending === null) {
    const relabel =
      inst.version !== input.version ? [recordStep(p, { ...target, previous: inst.previous, ...layout })] : [];
    return { kind: 'converged', target, previous, steps: relabel };
  }

  const onlyConfig = inst?.identity === target.identity && linkOk;
  const restart = onlyConfig && input.reloadOnSighup && st.pending !== 'restart' ? 'reload' : 'restart';
  const steps: HostStep[] = [];
  if (inst && !recorded && st.envSha256 === inst.config_hash) {
    steps.push({ argv: copyFileAtomicCommand(p.env, p.envPrevious), what: 'keep the previous env file' });
  }
  steps.push({ argv: writeFileAtomicCommand(p.pending, '0644'), what: 'mark the activation', stdin: restart });
  if (!envOk) steps.push({ argv: writeFileAtomicCommand(p.env), what: 'write the env file', stdin: input.envText });
  if (!linkOk) steps.push({ argv: switchCurrentRelative(p, hex), what: 'switch current' });
  steps.push(recordStep(p, { ...target, previous, ...layout }));
  const after = [{ argv: removeCommand(p.pending), what: 'clear the activation mark' }];
  return { kind: 'activate', target, previous, steps, restart, after };
}

/** What the host ran before the upgrade (from detect): makes a retried or premature rollback converge. */
export interface RollbackTarget {
  identity: string;
  configHash: string;
}

export type RollbackPlan =
  | { kind: 'unavailable'; why: string }
  | {
      kind: 'rollback';
      dest: InstalledEntry;
      /** Already on `dest` with nothing pending: nothing to do if the service runs (else the full plan). */
      converged: boolean;
      /** Run `steps`, restart, then `after`. */
      steps: HostStep[];
      after: HostStep[];
    };

/**
 * Back onto the release and config the host ran before the upgrade: installed.json's `previous`, or, with `to`,
 * whichever of the record or its `previous` is `to` (a retry after the record was rewritten, or an activation that
 * died before writing the record).
 */
export function planNativeRollback(
  svc: string,
  base: string | undefined,
  st: NativeState,
  to?: RollbackTarget,
): RollbackPlan {
  const p = pathsOf(svc, base, st);
  const inst = st.installed;
  const unavailable = (why: string): RollbackPlan => ({ kind: 'unavailable', why });
  if (!inst) return unavailable(`no ${p.installed}`);
  const is = (e: InstalledEntry | null, t: RollbackTarget): boolean =>
    e !== null && e.identity === `sha256:${identityHex(t.identity)}` && e.config_hash === t.configHash;
  let dest: InstalledEntry;
  if (to === undefined) {
    if (!inst.previous) return unavailable(`${p.installed} records no previous release`);
    dest = inst.previous;
  } else if (is(inst, to)) dest = entryOf(inst);
  else if (is(inst.previous, to)) dest = inst.previous!;
  else
    return unavailable(`neither ${p.installed} nor its previous record is ${to.identity} with config ${to.configHash}`);

  const destHex = identityHex(dest.identity);
  if (!st.releases.includes(destHex)) return unavailable(`${p.release(destHex)} is gone`);
  const restoreEnv = st.envSha256 !== dest.config_hash;
  if (restoreEnv && st.envPreviousSha256 !== dest.config_hash) {
    return unavailable(`${p.envPrevious} does not hold the previous config (hash ${dest.config_hash})`);
  }
  const rewrite = dest === inst.previous;
  const converged = !restoreEnv && !rewrite && st.currentIdentity === destHex && st.pending === null;

  const steps: HostStep[] = [
    { argv: writeFileAtomicCommand(p.pending, '0644'), what: 'mark the rollback', stdin: 'restart' },
  ];
  if (restoreEnv)
    steps.push({ argv: copyFileAtomicCommand(p.envPrevious, p.env), what: 'restore the previous env file' });
  if (st.currentIdentity !== destHex) steps.push({ argv: switchCurrentRelative(p, destHex), what: 'switch back' });
  // The failed release is not a rollback target, so the restored record has no previous.
  if (rewrite) steps.push(recordStep(p, { ...dest, previous: null, ...(inst.layout ? { layout: inst.layout } : {}) }));
  const after = [{ argv: removeCommand(p.pending), what: 'clear the rollback mark' }];
  return { kind: 'rollback', dest, converged, steps, after };
}
