// The low-level native host steps (moved whole from native.ts): one remote command with its failure, and the
// install state a probe reads (installed.json parsed, the layout's paths).
import type { ServiceManager } from '../../contracts/cluster';
import {
  nativePaths,
  parseInstalledJson,
  parseNativeProbe,
  probeNativeCommand,
  type Argv,
  type InstalledRecord,
} from '../../domain/hosts/commands';
import { parseHostScript, renderHostScript, type ScriptItem } from '../../domain/hosts/host-script';
import type { NativeState } from '../../domain/hosts/native-plan';
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

/**
 * Runs the items as ONE remote script (domain/hosts/host-script.ts) and returns its outcome. The command that
 * failed is reported as a command of its own was: `<what> failed (exit N): <its output>`; a failed restart under
 * systemd also carries the unit's state and last journal lines.
 */
export async function runScript(
  conn: SshConnection,
  svc: string,
  manager: ServiceManager,
  items: readonly ScriptItem[],
): Promise<string> {
  const { argv, script, commands } = renderHostScript(items);
  const timeoutMs = commands.reduce((ms, c) => ms + (c.restart ? RESTART_MS : STEP_MS), 0);
  const ran = await exec(conn, argv, { timeoutMs, stdin: script });
  const r = parseHostScript(ran);
  if (r.kind === 'done') return r.outcome;
  const cmd = commands[r.index];
  const output = r.output.slice(0, 2000);
  const msg =
    r.kind === 'failed'
      ? `${conn.target}: ${cmd?.what ?? 'host script'} failed (exit ${r.code}): ${output}`
      : `${conn.target}: the host script did not finish${cmd ? ` (in: ${cmd.what})` : ''} ` +
        `(exit ${ran.code ?? ran.signal}): ${output}`;
  const diag = cmd?.restart && manager.type === 'systemd' ? `\n${await nativeDiagnostics(conn, svc, manager)}` : '';
  throw failure(FailureType.HostCommandFailed, msg + diag);
}
