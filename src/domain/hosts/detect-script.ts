// Reading native services of one host in ONE remote command (issue 12: a detection was up to four SSH round trips
// per replica — `uname -m`, the install-state probe, the status command, systemd's MainPID — and `cluster
// rollback`'s host check ran them replica after replica). The script runs exactly the commands the steps ran one by
// one (commands.ts, provisioner.ts builders, quoted by shell-quote.ts), in sections, and this module parses each
// section back into what that command's own exec returned (exit code, stdout, stderr), so the activities decide
// and report errors as before, from the same bytes.
//
// Per service i: `status.i` (output discarded, as isRunning did), then — systemd only — `pid.i` (MainPID, only when
// the status said running) and `show.i` (the §6.5 unit chain, only when installed.json is missing or empty: it is
// read for a service that is not installed), then `probe.i` (the install-state probe). `arch` (`uname -m`) first
// when asked. Every section's stdout lies between `@@fw-sec <name>` and `@@fw-rc <name> <exit code>` lines, its
// stderr after its `@@fw-sec` line on stderr. Every marker carries a nonce the worker draws per read, so nothing a
// host file holds (installed.json is printed whole) can end a section early; and the parser accepts only the exact
// expected sequence ending in the `@@fw-end` line: a killed or cut script makes it return null, an error for the
// caller, never a misread section. Every command gets stdin from /dev/null (stdin is the script).
import type { ServiceManager } from '../../contracts/cluster';
import { nativePaths, probeNativeCommand, statusCommand, systemdMainPidCommand, type Argv } from './commands';
import { systemdShowChainCommand } from './provisioner';
import { shellCommand, shellQuote } from './shell-quote';

const NONCE = /^[0-9a-z]{8,64}$/;

function markers(nonce: string) {
  if (!NONCE.test(nonce)) throw new Error(`invalid detection nonce ${JSON.stringify(nonce)}`);
  return { sec: `@@fw-sec-${nonce}`, rc: `@@fw-rc-${nonce}`, end: `@@fw-end-${nonce}` };
}

/** What one command of the script returned, as its own exec would have. */
export interface SectionResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One service's sections; `mainPid` and `showChain` are null when the script had no reason to run them. */
export interface NativeRead {
  probe: SectionResult;
  status: SectionResult;
  mainPid: SectionResult | null;
  showChain: SectionResult | null;
}

export interface DetectRead {
  /** `uname -m`, when asked for. */
  arch: SectionResult | null;
  services: NativeRead[];
}

const run = (argv: Argv, out = ''): string => `${shellCommand(argv)} </dev/null${out}`;

/** The one read of `svcs` on one host: `sh -s` with the script on stdin; `nonce`: fresh per read ([0-9a-z]). */
export function nativeDetectScript(
  svcs: readonly string[],
  base: string | undefined,
  manager: ServiceManager,
  readArch: boolean,
  nonce: string,
): { argv: Argv; script: string } {
  const { sec, rc, end } = markers(nonce);
  const lines = [
    `fw_sec() { printf '\\n${sec} %s\\n' "$1"; printf '\\n${sec} %s\\n' "$1" >&2; }`,
    `fw_rc() { printf '\\n${rc} %s %s\\n' "$1" "$2"; }`,
  ];
  if (readArch) lines.push('fw_sec arch', run(['uname', '-m']), 'fw_rc arch $?');
  svcs.forEach((svc, i) => {
    lines.push(`fw_sec status.${i}`, `${run(statusCommand(manager, svc), ' >/dev/null')}; fw_s=$?`);
    lines.push(`fw_rc status.${i} "$fw_s"`);
    if (manager.type === 'systemd') {
      const pid = `fw_sec pid.${i}; ${run(systemdMainPidCommand(svc))}; fw_rc pid.${i} $?`;
      lines.push(`if [ "$fw_s" -eq 0 ]; then ${pid}; fi`);
      const installed = shellQuote(nativePaths(svc, base).installed);
      const show = `fw_sec show.${i}; ${run(systemdShowChainCommand(svc))}; fw_rc show.${i} $?`;
      lines.push(`if [ ! -s ${installed} ]; then ${show}; fi`);
    }
    lines.push(`fw_sec probe.${i}`, run(probeNativeCommand(svc, base)), `fw_rc probe.${i} $?`);
  });
  lines.push(`printf '\\n${end}\\n'`);
  return { argv: ['sh', '-s'], script: `${lines.join('\n')}\n` };
}

/** Each section's stderr by name (what followed its marker on stderr up to the next one). */
function stderrs(stderr: string, sec: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = `\n${stderr}`.split(new RegExp(`\\n${sec} (\\S+)\\n`));
  for (let i = 1; i + 1 < parts.length; i += 2) out.set(parts[i]!, parts[i + 1]!);
  return out;
}

/**
 * The sections of a run of nativeDetectScript(`count` services, readArch, nonce), or null when stdout is not
 * exactly the sequence the script prints (the script did not finish or was cut).
 */
export function parseNativeDetect(
  r: { stdout: string; stderr: string },
  count: number,
  readArch: boolean,
  nonce: string,
): DetectRead | null {
  const { sec, rc, end } = markers(nonce);
  const errs = stderrs(r.stderr, sec);
  const { stdout } = r;
  let at = 0;
  /** The section `name` if it starts exactly at `at`; null if it does not (absent when `optional`). */
  const section = (name: string): SectionResult | null => {
    const open = `\n${sec} ${name}\n`;
    if (!stdout.startsWith(open, at)) return null;
    const from = at + open.length;
    const close = new RegExp(`\\n${rc} ${name.replace('.', '\\.')} (\\d+)\\n`, 'g');
    close.lastIndex = from;
    const m = close.exec(stdout);
    if (!m) return null;
    at = m.index + m[0].length;
    return { code: Number(m[1]), stdout: stdout.slice(from, m.index), stderr: errs.get(name) ?? '' };
  };
  const arch = readArch ? section('arch') : null;
  if (readArch && !arch) return null;
  const services: NativeRead[] = [];
  for (let i = 0; i < count; i++) {
    const status = section(`status.${i}`);
    if (!status) return null;
    const mainPid = section(`pid.${i}`);
    const showChain = section(`show.${i}`);
    const probe = section(`probe.${i}`);
    if (!probe) return null;
    services.push({ probe, status, mainPid, showChain });
  }
  return stdout.slice(at) === `\n${end}\n` ? { arch, services } : null;
}
