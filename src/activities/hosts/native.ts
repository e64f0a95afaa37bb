// Native (tarball + service manager) per-host steps over SSH (SPEC §6): detect (one service: native-detect.ts;
// many `command`-managed services at once: detectNativeBatch below), stage, activate, rollback.
// Every remote command comes from src/domain/hosts/commands.ts (data), and what activation and rollback run, in
// which order, from the plans of src/domain/hosts/native-plan.ts (data too, with the reasons for each step): this
// module reads the host, then executes a plan with its restart or reload as ONE remote script
// (domain/hosts/native-script.ts, host-script.ts): two SSH round trips per activation or rollback, not one per step.
// `current` is switched to a RELATIVE `releases/<hex>` (the on-host layout contract, lab/README.md): an absolute
// target breaks as soon as the folder is seen through another mount (the lab's root namespace, a rescue shell).
//
// A SIGHUP reload that cannot be delivered (no pid file, no ExecReload, the service is not running) falls back to a
// restart: a config change must take effect.
import type { ServiceManager } from '../../contracts/cluster';
import {
  extractReleaseCommand,
  identityHex,
  mkdirCommand,
  nativePaths,
  pathExistsCommand,
  probeNativeCommand,
  removeCommand,
  sha256FileCommand,
  statusCommand,
  type InstalledEntry,
} from '../../domain/hosts/commands';
import { planNativeActivation, planNativeRollback, type RollbackTarget } from '../../domain/hosts/native-plan';
import { activationScript, rollbackScript, type ActivationOutcome } from '../../domain/hosts/native-script';
import { FailureType } from '../../errors';
import { failure } from '../failures';
import { exec, uploadFile, type SshConnection } from '../ssh/client';
import { shellCommand } from '../../domain/hosts/shell-quote';
import { batchableProbePaths, parseNativeBatchProbe, probeNativeBatchCommand } from '../../domain/hosts/probe-batch';
import { reportProgress } from '../heartbeat';
import { hashFile, inspectTarball } from './tarball';
import { STEP_MS, EXTRACT_MS, run, runScript, observed, observe, nativeDiagnostics } from './native-steps';
import { detection, type NativeDetection } from './native-detect';

export { nativeDiagnostics };
export { detectNative, type NativeDetection } from './native-detect';
export type { RollbackTarget };

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

/**
 * stageNative with the local tarball fetched only when the host lacks the release: a release folder is only ever
 * created by unpacking a verified tarball (stageNative), so one that exists is that release. An already staged
 * replica (staged ahead by the cluster run, or a retry) then costs one remote test, not a download, two hashes and a
 * tar inspection on the worker.
 */
export async function stageNativeIfAbsent(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  identity: string,
  fetchLocal: () => Promise<{ path: string; identity: string }>,
): Promise<StageResult> {
  // A malformed pin is left to fetchLocal, which refuses it (InvalidInput) before anything is read.
  if (/^sha256:[0-9a-f]{64}$/.test(identity)) {
    const releaseDir = nativePaths(svc, base).release(identityHex(identity));
    const present = await exec(conn, pathExistsCommand('dir', releaseDir), { timeoutMs: STEP_MS });
    if (present.code === 0) return { action: 'skipped', releaseDir };
  }
  const local = await fetchLocal();
  return stageNative(conn, svc, base, local.path, local.identity);
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

  const present = await exec(conn, pathExistsCommand('dir', releaseDir), { timeoutMs: STEP_MS });
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
  action: ActivationOutcome;
  identity: string;
  configHash: string;
  previous: InstalledEntry | null;
}

export async function activateNative(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  input: ActivateNativeInput,
): Promise<ActivateNativeResult> {
  identityHex(input.identity); // an invalid identity is refused before anything is read
  const st = await observe(conn, svc, base);
  const plan = planNativeActivation(svc, base, st, input);
  if (plan.kind === 'not-staged') {
    throw failure(FailureType.NotStaged, `${conn.target}: release ${plan.hex} of ${svc} is not staged; stage it first`);
  }
  const done = (action: ActivateNativeResult['action']): ActivateNativeResult => ({
    action,
    identity: plan.target.identity,
    configHash: plan.target.config_hash,
    previous: plan.previous,
  });
  // One remote script after the read: the plan's steps, the restart or reload, clearing the mark.
  const items = activationScript(plan, svc, base, input.manager);
  return done((await runScript(conn, svc, input.manager, items)) as ActivationOutcome);
}

export interface RollbackNativeResult {
  action: 'none' | 'rolled-back';
  identity: string;
  version: string;
  configHash: string;
}

/**
 * Converges the host back onto the release and config it ran before the upgrade (planNativeRollback), then
 * restarts if anything changed or the service is down.
 */
export async function rollbackNative(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  manager: ServiceManager,
  to?: RollbackTarget,
): Promise<RollbackNativeResult> {
  const st = await observe(conn, svc, base);
  const plan = planNativeRollback(svc, base, st, to);
  if (plan.kind === 'unavailable') {
    throw failure(FailureType.RollbackUnavailable, `${conn.target}: cannot roll back ${svc}: ${plan.why}`);
  }
  const result = (action: RollbackNativeResult['action']): RollbackNativeResult => ({
    action,
    identity: plan.dest.identity,
    version: plan.dest.version,
    configHash: plan.dest.config_hash,
  });
  // One remote script after the read (nothing at all when converged and running).
  return result((await runScript(conn, svc, manager, rollbackScript(plan, svc, manager))) as 'none' | 'rolled-back');
}
