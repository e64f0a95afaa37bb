// Hosts as the FrameWorks provisioner lays them out (reference/frameworks-real-world.md §6), and the systemd facts
// the native upgrade reads: commands built as data and their output parsed, no I/O (unit-tested by value in
// test/unit/host-provisioner.test.ts; run against a real systemd in test/integration/systemd-host.test.ts).
//
// Provisioner layout of a native service <svc> (§6.2): unit /etc/systemd/system/frameworks-<svc>.service with
// ExecStart=/opt/frameworks/<svc>/<svc> and EnvironmentFile=/etc/frameworks/<svc>.env; the binary answers
// `version --json`. Detection follows §6.5 step 3: `systemctl show` for `frameworks-<svc>` then `<svc>`, the
// first with LoadState=loaded wins; running = active+running; the binary is ExecStart's `path=`.
//
// ADOPTION (first upgrade of such a service) keeps everything the provisioner's tools look at working:
//   1. the binary's bytes are copied to <dir>/releases/<sha256 of the binary>/<svc> (the rollback target),
//   2. <dir>/current → releases/<that hex>,
//   3. <dir>/<svc> (ExecStart) is replaced, by one rename, with the link current/<svc>,
//   4. installed.json {identity: sha256:<binary hex>, …, layout: "adopted"} is written LAST (the commit point).
// Nothing running changes (same bytes, same unit, same env file), so adoption needs no restart, and every step
// converges (re-running it after a crash finishes it; on an adopted service it changes nothing). The unit file
// and /etc/frameworks/<svc>.env are never rewritten by adoption; upgrades then write the env file in place.
import { z } from 'zod';
import { assertServiceName, nativePaths, type Argv } from './commands';

export function provisionerPaths(svc: string, base?: string) {
  const dir = nativePaths(svc, base).dir;
  return {
    dir,
    /** ExecStart of the provisioner's unit; after adoption a link to `current/<svc>`. */
    binary: `${dir}/${svc}`,
    /** What adoption points the binary path at (relative to dir). */
    binaryLink: `current/${svc}`,
    env: nativePaths(svc, base, 'adopted').env,
    unit: `frameworks-${svc}`,
    unitFile: `/etc/systemd/system/frameworks-${svc}.service`,
  };
}

// ---- systemctl show ----

export const SHOW_PROPERTIES = [
  'LoadState',
  'ActiveState',
  'SubState',
  'MainPID',
  'ExecStart',
  'FragmentPath',
  'EnvironmentFiles',
  'NRestarts',
  'Result',
] as const;

const UNIT_MARK = '@@fw-unit';
const SHOW_CHAIN = `for u in "$@"; do echo "${UNIT_MARK} $u"; systemctl show --property=${SHOW_PROPERTIES.join(',')} -- "$u" || true; done`;

/** `systemctl show` of `frameworks-<svc>` and then `<svc>` (the §6.5 chain), one round trip. */
export function systemdShowChainCommand(svc: string): Argv {
  assertServiceName(svc);
  return ['sh', '-c', SHOW_CHAIN, 'sh', `frameworks-${svc}`, svc];
}

export interface SystemdUnitState {
  unit: string;
  loaded: boolean;
  activeState: string;
  subState: string;
  /** active + running (reference §6.5). */
  running: boolean;
  mainPid: number | null;
  /** ExecStart's `path=` (the first command), or null. */
  execPath: string | null;
  /** ExecStart's `argv[]=` split on spaces, or []. */
  execArgv: string[];
  fragmentPath: string | null;
  environmentFiles: string[];
  nRestarts: number;
  result: string;
}

/** `Key=value` lines of one `systemctl show`; a repeated key keeps every value. */
function showFields(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const k = line.slice(0, eq);
    out.set(k, [...(out.get(k) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

export function parseSystemctlShow(unit: string, text: string): SystemdUnitState {
  const f = showFields(text);
  const one = (k: string): string => f.get(k)?.[0] ?? '';
  // ExecStart={ path=/opt/x/x ; argv[]=/opt/x/x serve ; ignore_errors=no ; start_time=[n/a] ; … }
  const exec = one('ExecStart');
  const path = /(?:^|[{;])\s*path=([^ ;]+)/.exec(exec)?.[1] ?? null;
  const argv = /argv\[\]=([^;]*)/.exec(exec)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
  const pid = Number(one('MainPID'));
  const restarts = Number(one('NRestarts'));
  const activeState = one('ActiveState');
  const subState = one('SubState');
  return {
    unit,
    loaded: one('LoadState') === 'loaded',
    activeState,
    subState,
    running: activeState === 'active' && subState === 'running',
    mainPid: Number.isSafeInteger(pid) && pid > 0 ? pid : null,
    execPath: path,
    execArgv: argv,
    fragmentPath: one('FragmentPath') || null,
    // "/etc/frameworks/x.env (ignore_errors=no)", one line per file; a leading "-" marks an optional file.
    environmentFiles: (f.get('EnvironmentFiles') ?? [])
      .map((v) => v.replace(/\s+\(ignore_errors=\w+\)$/, '').replace(/^-/, ''))
      .filter(Boolean),
    nRestarts: Number.isSafeInteger(restarts) ? restarts : 0,
    result: one('Result'),
  };
}

/** Each unit of the chain's output, in order. */
export function parseShowChain(stdout: string): SystemdUnitState[] {
  return stdout
    .split(`${UNIT_MARK} `)
    .slice(1)
    .map((chunk) => {
      const nl = chunk.indexOf('\n');
      const unit = (nl < 0 ? chunk : chunk.slice(0, nl)).trim();
      return parseSystemctlShow(unit, nl < 0 ? '' : chunk.slice(nl + 1));
    });
}

/** The unit the chain settles on: the first loaded one, else null. */
export function pickUnit(states: readonly SystemdUnitState[]): SystemdUnitState | null {
  return states.find((s) => s.loaded) ?? null;
}

// ---- the binary and env file of a provisioner install ----

const FACTS = [
  'b=$1 e=$2',
  'if [ -f "$b" ]; then printf "bin=%s\\n" "$(sha256sum < "$b" | cut -c1-64)"; else echo bin=; fi',
  'if [ -L "$b" ]; then printf "link=%s\\n" "$(readlink -- "$b")"; else echo link=; fi',
  'if [ -f "$e" ]; then printf "env=%s\\n" "$(sha256sum < "$e" | cut -c1-64)"; else echo env=; fi',
  // The binary reports its own version (reference §6.2); bounded in time and size, stderr dropped.
  'v=; if [ -x "$b" ]; then v=$(timeout 10 "$b" version --json 2>/dev/null </dev/null | head -c 4096 | tr "\\n" " ");',
  '  [ -n "$v" ] || v=$(timeout 10 "$b" version 2>/dev/null </dev/null | head -c 4096 | tr "\\n" " "); fi',
  'printf "version=%s\\n" "$v"',
].join('\n');

/** SHA-256 of the binary and the env file, whether the binary is a link, and its version report. */
export function binaryFactsCommand(binary: string, envFile: string): Argv {
  return ['sh', '-c', FACTS, 'sh', binary, envFile];
}

export interface BinaryFacts {
  binarySha256: string | null;
  /** The link target when the binary path is a symlink (an adopted service: `current/<svc>`). */
  link: string | null;
  envSha256: string | null;
  version: string | null;
}

const VersionJson = z.object({ version: z.string().min(1) }).loose();

/** `version --json` ⇒ `.version`; else the ` - platform version: <tag>` line of plain `version`. */
export function parseVersionReport(text: string): string | null {
  const t = text.trim();
  const brace = t.indexOf('{');
  if (brace >= 0) {
    try {
      const parsed = VersionJson.safeParse(JSON.parse(t.slice(brace, t.lastIndexOf('}') + 1)));
      if (parsed.success) return parsed.data.version;
    } catch {
      // not JSON: try the plain form below
    }
  }
  return /platform version:\s*(\S+)/.exec(t)?.[1] ?? null;
}

export function parseBinaryFacts(stdout: string): BinaryFacts {
  const f = showFields(stdout);
  const hex = (v: string | undefined): string | null => (v && /^[0-9a-f]{64}$/.test(v) ? v : null);
  return {
    binarySha256: hex(f.get('bin')?.[0]),
    link: f.get('link')?.[0] || null,
    envSha256: hex(f.get('env')?.[0]),
    version: parseVersionReport(f.get('version')?.[0] ?? ''),
  };
}

/** Why a detected unit is not the provisioner's layout this tool can adopt, or null when it is. */
export function adoptionProblem(svc: string, unit: SystemdUnitState, base?: string): string | null {
  const p = provisionerPaths(svc, base);
  if (unit.unit !== p.unit) return `its unit is ${unit.unit}, not ${p.unit}`;
  if (unit.execPath !== p.binary) return `${p.unit} runs ${unit.execPath ?? '(no ExecStart)'}, not ${p.binary}`;
  if (!unit.environmentFiles.includes(p.env)) {
    return `${p.unit} reads ${unit.environmentFiles.join(', ') || 'no EnvironmentFile'}, not ${p.env}`;
  }
  return null;
}

// ---- adoption steps (see the header) ----

// Copies the binary into a fresh temp dir, checks its hash (the binary must be the one detected), and renames
// the dir into place; an existing release dir is left alone (a resumed adoption).
const COPY_RELEASE = [
  'set -e',
  'b=$1 rel=$2 tmp=$3 name=$4 want=$5',
  '[ -d "$rel" ] && exit 0',
  'rm -rf -- "$tmp"',
  'mkdir -p -m 0755 -- "$(dirname -- "$rel")"',
  'mkdir -m 0755 -- "$tmp"',
  'cp -p -- "$b" "$tmp/$name"',
  'got=$(sha256sum < "$tmp/$name" | cut -c1-64)',
  '[ "$got" = "$want" ] || { rm -rf -- "$tmp"; echo "binary $b changed while adopting (sha256 $got)" >&2; exit 4; }',
  'mv -T -- "$tmp" "$rel"',
].join('\n');

export function adoptCopyReleaseCommand(svc: string, hex: string, base?: string): Argv {
  const n = nativePaths(svc, base);
  const p = provisionerPaths(svc, base);
  return ['sh', '-c', COPY_RELEASE, 'sh', p.binary, n.release(hex), `${n.releases}/.${hex}.adopt`, svc, hex];
}

// ---- diagnostics for failure messages (reference §6.6: status and journal lines) ----

const DIAG_PROPERTIES = ['ActiveState', 'SubState', 'Result', 'ExecMainStatus', 'NRestarts'];
const DIAG = [
  `systemctl show --property=${DIAG_PROPERTIES.join(',')} -- "$1" 2>&1 | tr "\\n" " "`,
  'echo',
  'journalctl -u "$1" -n "$2" --no-pager -o short-iso 2>&1 | tail -n "$2"',
].join('\n');

export function systemdDiagnosticsCommand(svc: string, lines = 10): Argv {
  assertServiceName(svc);
  if (!Number.isInteger(lines) || lines < 1 || lines > 200) throw new Error(`journal lines ${lines} outside 1–200`);
  return ['sh', '-c', DIAG, 'sh', `frameworks-${svc}`, String(lines)];
}

// Journal lines end up in failure messages (workflow history): values that look like credentials are masked.
const SECRET_PATTERNS: [RegExp, string][] = [
  [/(\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@'],
  [/\b([A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY)[A-Za-z0-9_]*\s*[=:]\s*)\S+/gi, '$1***'],
];

export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((t, [re, to]) => t.replace(re, to), text);
}

/** "state …; last journal lines: …" for a failure message, bounded and with secrets masked. */
export function formatDiagnostics(svc: string, stdout: string, maxChars = 1500): string {
  const nl = stdout.indexOf('\n');
  // systemctl show prints properties in its own order; a fixed order reads the same in every message.
  const props = new Map(
    (nl < 0 ? stdout : stdout.slice(0, nl))
      .trim()
      .split(/\s+/)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv] as const),
  );
  const state = DIAG_PROPERTIES.map((k) => props.get(k))
    .filter(Boolean)
    .join(' ');
  const head = redactSecrets(`frameworks-${svc}: ${state || '(no state)'}; last journal lines:\n`);
  // The state line always stays; a long journal keeps its newest lines (the cause is usually last).
  const journal = redactSecrets((nl < 0 ? '' : stdout.slice(nl + 1)).trim() || '(none)');
  const room = Math.max(0, maxChars - head.length);
  return journal.length > room ? `${head}…${journal.slice(journal.length - room)}` : `${head}${journal}`;
}
