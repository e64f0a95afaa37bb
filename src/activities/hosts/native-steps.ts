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
  switchSymlinkCommand,
  type Argv,
  type InstalledRecord,
  type NativeProbe,
} from '../../domain/hosts/commands';
import { formatDiagnostics, systemdDiagnosticsCommand } from '../../domain/hosts/provisioner';
import { errorMessage, FailureType } from '../../errors';
import { failure } from '../failures';
import { exec, type ExecResult, type SshConnection } from '../ssh/client';

/** Points `current` at `releases/<hex>`, relative to the service folder (see the header). */
export const switchCurrent = (p: ReturnType<typeof nativePaths>, hex: string): Argv =>
  switchSymlinkCommand(`releases/${hex}`, p.current);

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

export interface Observed extends NativeProbe {
  installed: InstalledRecord | null;
}

/** installed.json of a probe, parsed; a malformed file is an unknown install state (refuse, change nothing). */
export function observed(target: string, svc: string, base: string | undefined, stdout: string): Observed {
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

/** The paths of the layout installed.json records (the orchestrator's own when there is none). */
export const pathsOf = (svc: string, base: string | undefined, st: Observed) =>
  nativePaths(svc, base, st.installed?.layout ?? 'own');

export async function observe(conn: SshConnection, svc: string, base: string | undefined): Promise<Observed> {
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
