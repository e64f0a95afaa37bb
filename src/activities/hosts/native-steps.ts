// The low-level native host steps (moved whole from native.ts): one remote command with its failure, and the
// install state a probe reads (installed.json parsed, the layout's paths, whether the service runs).
import type { ServiceManager } from '../../contracts/cluster';
import {
  nativePaths,
  parseInstalledJson,
  parseNativeProbe,
  probeNativeCommand,
  reloadCommand,
  restartCommand,
  statusCommand,
  type Argv,
  type InstalledRecord,
} from '../../domain/hosts/commands';
import type { HostStep, NativeState } from '../../domain/hosts/native-plan';
import { formatDiagnostics, systemdDiagnosticsCommand } from '../../domain/hosts/provisioner';
import { errorMessage, FailureType } from '../../errors';
import { failure } from '../failures';
import { exec, type ExecResult, type SshConnection } from '../ssh/client';

export const STEP_MS = 30_000;
export const RESTART_MS = 120_000;
export const EXTRACT_MS = 300_000;

export async function run(
  conn: SshConnection,
  argv: Argv,
  what: string,
  timeoutMs = STEP_MS,
  stdin?: string,
  killOnClose = false,
) {
  const r: ExecResult = await exec(conn, argv, {
    timeoutMs,
    ...(stdin !== undefined ? { stdin } : {}),
    ...(killOnClose ? { killOnClose } : {}),
  });
  if (r.code !== 0) {
    const err = (r.stderr.trim() || r.stdout.trim()).slice(0, 2000) || '(no output)';
    throw failure(FailureType.HostCommandFailed, `${conn.target}: ${what} failed (exit ${r.code ?? r.signal}): ${err}`);
  }
  return r;
}

/** The steps of a plan (domain/hosts/native-plan.ts), in order; the first that fails stops the rest. */
export async function runSteps(conn: SshConnection, steps: readonly HostStep[]): Promise<void> {
  for (const step of steps) await run(conn, step.argv, step.what, STEP_MS, step.stdin);
}

/** installed.json of a probe, parsed; a malformed file is an unknown install state (refuse, change nothing). */
export function observed(target: string, svc: string, base: string | undefined, stdout: string): NativeState {
  const probe = parseNativeProbe(stdout);
  let installed: InstalledRecord | null = null;
  if (probe.installedText !== null) {
    try {
      installed = parseInstalledJson(probe.installedText);
    } catch (err) {
      throw failure(
        FailureType.InvalidInput,
        `${target}: ${nativePaths(svc, base).installed} is malformed (${errorMessage(err)}); the install ` +
          'state is unknown, so nothing was changed. Repair or reinstall the service on this host.',
      );
    }
  }
  // An adopted service's config is the provisioner's env file, which its unit reads (domain/hosts/provisioner.ts).
  const envSha256 = installed?.layout === 'adopted' ? probe.etcEnvSha256 : probe.envSha256;
  return { ...probe, envSha256, installed };
}

export async function observe(conn: SshConnection, svc: string, base: string | undefined): Promise<NativeState> {
  const r = await run(conn, probeNativeCommand(svc, base), `read the install state of ${svc}`);
  return observed(conn.target, svc, base, r.stdout);
}

export async function isRunning(conn: SshConnection, svc: string, manager: ServiceManager): Promise<boolean> {
  const r = await exec(conn, statusCommand(manager, svc), { timeoutMs: STEP_MS });
  // 126/127: the status command itself is missing, a misconfigured host, not a stopped service.
  if (r.code === 126 || r.code === 127) {
    throw failure(FailureType.HostCommandFailed, `${conn.target}: status of ${svc}: ${r.stderr.trim()}`);
  }
  return r.code === 0;
}

/** Unit state and the last journal lines (secrets masked), for a failure message; '' for non-systemd managers. */
export async function nativeDiagnostics(conn: SshConnection, svc: string, manager: ServiceManager): Promise<string> {
  if (manager.type !== 'systemd') return '';
  try {
    const r = await exec(conn, systemdDiagnosticsCommand(svc), { timeoutMs: STEP_MS });
    return formatDiagnostics(svc, r.stdout);
  } catch (err) {
    return `frameworks-${svc}: diagnostics unavailable (${errorMessage(err)})`;
  }
}

/** Restart via the service manager; a systemd failure carries the unit's state and last journal lines. */
export async function restartService(conn: SshConnection, svc: string, manager: ServiceManager, what: string) {
  try {
    await run(conn, restartCommand(manager, svc), what, RESTART_MS);
  } catch (err) {
    if (manager.type !== 'systemd') throw err;
    const diag = await nativeDiagnostics(conn, svc, manager);
    throw failure(FailureType.HostCommandFailed, `${errorMessage(err)}\n${diag}`);
  }
}

export async function restartOrReload(
  conn: SshConnection,
  svc: string,
  base: string | undefined,
  manager: ServiceManager,
  mode: 'restart' | 'reload',
): Promise<'restarted' | 'reloaded'> {
  if (mode === 'reload' && (await isRunning(conn, svc, manager))) {
    const r = await exec(conn, reloadCommand(manager, svc, base), { timeoutMs: STEP_MS });
    if (r.code === 0) return 'reloaded';
  }
  await restartService(conn, svc, manager, `restart ${svc}`);
  return 'restarted';
}
