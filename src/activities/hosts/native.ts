// Native (tarball + service manager) per-host steps over SSH (SPEC §6): detect, stage, activate, rollback.
// Every remote command comes from src/domain/hosts/commands.ts (data); this module decides and executes.
// `current` is switched to a RELATIVE `releases/<hex>` (the on-host layout contract, lab/README.md): an absolute
// target breaks as soon as the folder is seen through another mount (the lab's root namespace, a rescue shell).
//
// Decisions:
// - Each step converges on a target instead of replaying actions, so a retried activity (worker crash, lost
//   connection) finishes the job or does nothing. Activation writes `.fw-pending` BEFORE it switches anything
//   and removes it after the restart/reload, so "installed.json says target but the old process still runs"
//   (a crash between the two) is seen and completed on retry rather than read as "already done".
// - installed.json keeps ONE previous record: the last fully activated (identity, config). A retry after the
//   record was written must not shift it (previous would become the target itself), hence the comparisons.
// - Rollback needs the previous CONFIG too, which the layout does not store: the env file the previous record
//   ran with is kept as `env.previous`, and rollback refuses when it does not hash to previous.config_hash.
// - SIGHUP reload only when the release is unchanged, the service declares reload_on_sighup and it is running;
//   a failed reload (no pid file, no ExecReload) falls back to a restart: a config change must take effect.
import { ApplicationFailure } from '@temporalio/activity';
import type { ServiceManager } from '../../contracts/cluster';
import {
  configHash,
  copyFileAtomicCommand,
  extractReleaseCommand,
  identityHex,
  mkdirCommand,
  nativePaths,
  probeNativeCommand,
  removeCommand,
  renderInstalledJson,
  sha256FileCommand,
  statusCommand,
  systemdMainPidCommand,
  writeFileAtomicCommand,
  type InstalledEntry,
  type InstalledRecord,
  type NativeLayout,
} from '../../domain/hosts/commands';
import { FailureType } from '../../errors';
import { failure } from '../failures';
import { exec, uploadFile, type SshConnection } from '../ssh/client';
import { shellCommand } from '../../domain/hosts/shell-quote';
import { batchableProbePaths, parseNativeBatchProbe, probeNativeBatchCommand } from '../../domain/hosts/probe-batch';
import { reportProgress } from '../heartbeat';
import { hashFile, inspectTarball } from './tarball';
import {
  switchCurrent,
  STEP_MS,
  EXTRACT_MS,
  run,
  type Observed,
  observed,
  pathsOf,
  observe,
  isRunning,
  nativeDiagnostics,
  restartService,
  restartOrReload,
} from './native-steps';

export { nativeDiagnostics };

export interface NativeDetection {
  /** installed.json exists (and parses). */
  present: boolean;
  /** `sha256:<hex>` of the installed tarball. */
  identity: string | null;
  version: string | null;
  configHash: string | null;
  running: boolean;
  pid?: number;
  previous: InstalledEntry | null;
  /** Release dirs present on the host (hex identities). */
  staged: string[];
  /** An activation or rollback was interrupted between switch and restart. */
  pending: boolean;
  /** installed.json's layout (absent when nothing is installed). */
  layout?: NativeLayout;
}

function detection(st: Observed, running: boolean, pid: number | undefined): NativeDetection {
  return {
    present: st.installed !== null,
    identity: st.installed?.identity ?? null,
    version: st.installed?.version ?? null,
    configHash: st.installed?.config_hash ?? null,
    running,
    ...(pid !== undefined ? { pid } : {}),
    previous: st.installed?.previous ?? null,
    staged: st.releases,
    pending: st.pending !== null,
    ...(st.installed ? { layout: st.installed.layout ?? 'own' } : {}),
  };
}

export async function detectNative(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  manager: ServiceManager,
): Promise<NativeDetection> {
  const st = await observe(conn, svc, base);
  const running = await isRunning(conn, svc, manager);
  let pid = st.pid ?? undefined;
  if (manager.type === 'systemd' && running) {
    const r = await exec(conn, systemdMainPidCommand(svc), { timeoutMs: STEP_MS });
    const n = Number(r.stdout.trim());
    if (r.code === 0 && Number.isSafeInteger(n) && n > 0) pid = n;
  }
  return detection(st, running, pid);
}

const BATCH_END = '@@fw-detect-end';
/** Per service: the probe and the status command, then a line with both exit codes (probe output first). */
const BATCH_MS = 120_000;

interface ProbeOutcome {
  probe: string;
  probeRc: number;
  statusRc: number;
}

/**
 * detectNative for many services of one host in ONE remote command (one SSH round trip instead of two per
 * service), each entry that service's detection or the error detectNative would have thrown for it. `command`
 * service managers only (systemd also needs MainPID, so callers use detectNative there). The host side reads every
 * service's files with a handful of processes (domain/hosts/probe-batch.ts: one sha256sum, one readlink, shell
 * builtins) and runs each service's status command; whatever that fast path cannot vouch for exactly is probed
 * again service by service (the per-service probe script and status, still one remote command).
 */
export async function detectNativeBatch(
  conn: SshConnection,
  svcs: readonly string[],
  base: string | undefined,
  manager: Extract<ServiceManager, { type: 'command' }>,
): Promise<(NativeDetection | Error)[]> {
  if (svcs.length === 0) return [];
  const status = svcs.map((svc) => statusCommand(manager, svc));
  let outcomes: (ProbeOutcome | undefined)[] | null = null;
  let failed = '';
  if (batchableProbePaths(svcs, base)) {
    const { argv, script } = probeNativeBatchCommand(svcs, base, status);
    const r = await exec(conn, argv, { timeoutMs: BATCH_MS, stdin: script });
    outcomes = r.code === 0 ? parseNativeBatchProbe(r.stdout, svcs, base) : null;
  }
  if (outcomes === null) ({ outcomes, failed } = await probeEach(conn, svcs, base, status));
  return svcs.map((svc, i) => {
    const o = outcomes[i];
    if (o === undefined) return new Error(`${conn.target}: no detection output for ${svc}${failed}`);
    try {
      if (o.probeRc !== 0) {
        throw failure(
          FailureType.HostCommandFailed,
          `${conn.target}: read the install state of ${svc} failed (exit ${o.probeRc})`,
        );
      }
      if (o.statusRc === 126 || o.statusRc === 127) {
        throw failure(
          FailureType.HostCommandFailed,
          `${conn.target}: status of ${svc}: exit ${o.statusRc} (command not runnable)`,
        );
      }
      const st = observed(conn.target, svc, base, o.probe);
      return detection(st, o.statusRc === 0, st.pid ?? undefined);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  });
}

/** The per-service probe script and status command of every service, in one remote command. */
async function probeEach(
  conn: SshConnection,
  svcs: readonly string[],
  base: string | undefined,
  status: readonly string[][],
): Promise<{ outcomes: (ProbeOutcome | undefined)[]; failed: string }> {
  const script = svcs
    .map(
      (svc, i) =>
        `(${shellCommand(probeNativeCommand(svc, base))}); p=$?; ` +
        `(${shellCommand(status[i]!)}) >/dev/null 2>&1; s=$?; ` +
        `printf '\n${BATCH_END} %s %s %s\n' ${i} "$p" "$s"`,
    )
    .join('\n');
  const r = await exec(conn, ['sh', '-c', script], { timeoutMs: BATCH_MS });
  const outcomes: (ProbeOutcome | undefined)[] = svcs.map(() => undefined);
  const end = new RegExp(`\n${BATCH_END} (\\d+) (\\d+) (\\d+)\n`, 'g');
  let from = 0;
  for (const m of r.stdout.matchAll(end)) {
    const i = Number(m[1]);
    const chunk = r.stdout.slice(from, m.index);
    from = m.index + m[0].length;
    if (i < svcs.length) outcomes[i] = { probe: chunk, probeRc: Number(m[2]), statusRc: Number(m[3]) };
  }
  return { outcomes, failed: ` (exit ${r.code ?? r.signal}): ${r.stderr.trim().slice(0, 500)}` };
}

export interface StageResult {
  action: 'staged' | 'skipped';
  releaseDir: string;
}

/** Verifies and inspects the local tarball, then uploads and unpacks it to `releases/<hex>` (skip if there). */
export async function stageNative(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  localTarball: string,
  identity: string,
): Promise<StageResult> {
  const hex = identityHex(identity);
  const p = nativePaths(svc, base);
  const releaseDir = p.release(hex);
  // Everything local comes first: a wrong or unsafe tarball must not create a single remote file.
  reportProgress({ step: 'verify' });
  const local = await hashFile(localTarball);
  if (local.hex !== hex) {
    throw failure(
      FailureType.ChecksumMismatch,
      `${localTarball} has sha256:${local.hex}, not the identity sha256:${hex} it is staged as; nothing uploaded`,
    );
  }
  await inspectTarball(localTarball);

  const present = await exec(conn, ['test', '-d', releaseDir], { timeoutMs: STEP_MS });
  if (present.code === 0) return { action: 'skipped', releaseDir };

  await run(conn, mkdirCommand(p.releases), `create ${p.releases}`);
  const remoteTar = `${p.releases}/.${hex}.tar.gz`;
  await uploadFile(conn, localTarball, remoteTar, 0o600);
  reportProgress({ step: 'checksum' });
  // Checksum and unpack are the long remote commands: killed on the host when the step is cancelled or times out.
  const sum = await run(conn, sha256FileCommand(remoteTar), `checksum ${remoteTar}`, EXTRACT_MS, undefined, true);
  if (!sum.stdout.startsWith(`${hex} `)) {
    await exec(conn, removeCommand(remoteTar), { timeoutMs: STEP_MS });
    // Retryable: the local file was verified, so this is a transfer or disk problem on the host.
    throw failure(FailureType.HostCommandFailed, `${conn.target}: uploaded ${remoteTar} does not hash to ${hex}`);
  }
  reportProgress({ step: 'unpack' });
  const unpack = extractReleaseCommand(remoteTar, releaseDir, `${p.releases}/.${hex}.tmp`);
  await run(conn, unpack, 'unpack', EXTRACT_MS, undefined, true);
  return { action: 'staged', releaseDir };
}

export interface ActivateNativeInput {
  identity: string;
  version: string;
  /** The rendered env file (renderEnvFile). */
  envText: string;
  manager: ServiceManager;
  reloadOnSighup: boolean;
}

export interface ActivateNativeResult {
  action: 'none' | 'started' | 'restarted' | 'reloaded';
  identity: string;
  configHash: string;
  previous: InstalledEntry | null;
}

const entryOf = (r: InstalledRecord): InstalledEntry => ({
  identity: r.identity,
  version: r.version,
  config_hash: r.config_hash,
});

export async function activateNative(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  input: ActivateNativeInput,
): Promise<ActivateNativeResult> {
  const hex = identityHex(input.identity);
  const target: InstalledEntry = {
    identity: `sha256:${hex}`,
    version: input.version,
    config_hash: configHash(input.envText),
  };
  const st = await observe(conn, svc, base);
  const p = pathsOf(svc, base, st);
  if (!st.releases.includes(hex)) {
    throw failure(FailureType.NotStaged, `${conn.target}: release ${hex} of ${svc} is not staged; stage it first`);
  }
  const inst = st.installed;
  const recorded = inst?.identity === target.identity && inst.config_hash === target.config_hash;
  const linkOk = st.currentIdentity === hex;
  const envOk = st.envSha256 === target.config_hash;
  const previous = inst && !recorded ? entryOf(inst) : (inst?.previous ?? null);
  const done = (action: ActivateNativeResult['action']): ActivateNativeResult => ({
    action,
    identity: target.identity,
    configHash: target.config_hash,
    previous,
  });

  if (recorded && linkOk && envOk && st.pending === null) {
    if (inst.version !== input.version) {
      const record = { ...target, previous: inst.previous, ...(inst.layout ? { layout: inst.layout } : {}) };
      await run(conn, writeFileAtomicCommand(p.installed, '0644'), 'record', STEP_MS, renderInstalledJson(record));
    }
    if (await isRunning(conn, svc, input.manager)) return done('none');
    await restartService(conn, svc, input.manager, `start ${svc}`);
    return done('started');
  }

  const onlyConfig = inst?.identity === target.identity && linkOk;
  const mode = onlyConfig && input.reloadOnSighup && st.pending !== 'restart' ? 'reload' : 'restart';
  // Keep the env the previous record ran with, but only while the env file still IS that env (not on a retry
  // after it was overwritten).
  if (inst && !recorded && st.envSha256 === inst.config_hash) {
    await run(conn, copyFileAtomicCommand(p.env, p.envPrevious), 'keep the previous env file');
  }
  await run(conn, writeFileAtomicCommand(p.pending, '0644'), 'mark the activation', STEP_MS, mode);
  if (!envOk) await run(conn, writeFileAtomicCommand(p.env), 'write the env file', STEP_MS, input.envText);
  if (!linkOk) await run(conn, switchCurrent(p, hex), 'switch current');
  const record: InstalledRecord = { ...target, previous, ...(inst?.layout ? { layout: inst.layout } : {}) };
  await run(conn, writeFileAtomicCommand(p.installed, '0644'), 'record', STEP_MS, renderInstalledJson(record));
  const action = await restartOrReload(conn, svc, base, input.manager, mode);
  await run(conn, removeCommand(p.pending), 'clear the activation mark');
  return done(action);
}

export interface RollbackNativeResult {
  action: 'none' | 'rolled-back';
  identity: string;
  version: string;
  configHash: string;
}

/** What the host ran before the upgrade (from detect): makes a retried or premature rollback converge. */
export interface RollbackTarget {
  identity: string;
  configHash: string;
}

/**
 * Converges the host back onto the release and config it ran before the upgrade: installed.json's `previous`,
 * or, with `to`, whichever of the record or its `previous` is `to` (a retry after the record was rewritten, or an
 * activation that died before writing the record). Then restarts if anything changed or the service is down.
 */
export async function rollbackNative(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  manager: ServiceManager,
  to?: RollbackTarget,
): Promise<RollbackNativeResult> {
  const st = await observe(conn, svc, base);
  const p = pathsOf(svc, base, st);
  const inst = st.installed;
  const unavailable = (why: string): ApplicationFailure =>
    failure(FailureType.RollbackUnavailable, `${conn.target}: cannot roll back ${svc}: ${why}`);
  if (!inst) throw unavailable(`no ${p.installed}`);
  const is = (e: InstalledEntry | null, t: RollbackTarget): boolean =>
    e !== null && e.identity === `sha256:${identityHex(t.identity)}` && e.config_hash === t.configHash;
  let dest: InstalledEntry;
  if (to === undefined) {
    if (!inst.previous) throw unavailable(`${p.installed} records no previous release`);
    dest = inst.previous;
  } else if (is(inst, to)) dest = entryOf(inst);
  else if (is(inst.previous, to)) dest = inst.previous!;
  else
    throw unavailable(`neither ${p.installed} nor its previous record is ${to.identity} with config ${to.configHash}`);

  const destHex = identityHex(dest.identity);
  if (!st.releases.includes(destHex)) throw unavailable(`${p.release(destHex)} is gone`);
  const restoreEnv = st.envSha256 !== dest.config_hash;
  if (restoreEnv && st.envPreviousSha256 !== dest.config_hash) {
    throw unavailable(`${p.envPrevious} does not hold the previous config (hash ${dest.config_hash})`);
  }
  const rewrite = dest === inst.previous;
  const result = (action: RollbackNativeResult['action']): RollbackNativeResult => ({
    action,
    identity: dest.identity,
    version: dest.version,
    configHash: dest.config_hash,
  });
  if (!restoreEnv && !rewrite && st.currentIdentity === destHex && st.pending === null) {
    if (await isRunning(conn, svc, manager)) return result('none');
  }

  await run(conn, writeFileAtomicCommand(p.pending, '0644'), 'mark the rollback', STEP_MS, 'restart');
  if (restoreEnv) await run(conn, copyFileAtomicCommand(p.envPrevious, p.env), 'restore the previous env file');
  if (st.currentIdentity !== destHex) await run(conn, switchCurrent(p, destHex), 'switch back');
  if (rewrite) {
    // The failed release is not a rollback target, so the restored record has no previous.
    const record: InstalledRecord = { ...dest, previous: null, ...(inst.layout ? { layout: inst.layout } : {}) };
    await run(conn, writeFileAtomicCommand(p.installed, '0644'), 'record', STEP_MS, renderInstalledJson(record));
  }
  await restartService(conn, svc, manager, `restart ${svc}`);
  await run(conn, removeCommand(p.pending), 'clear the rollback mark');
  return result('rolled-back');
}
