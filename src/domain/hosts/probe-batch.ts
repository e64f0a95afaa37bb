// Probing MANY native services of one host in one remote command with few processes (issue 12, no-op upgrade
// speed). The per-service probe (commands.ts probeNativeCommand) forks about a dozen programs per service
// (readlink, sha256sum and cut per env file, cat, ls, tr, command substitutions); for 100 services that is the
// whole cost of a no-op upgrade's detection. This script reads the same facts with:
//   - ONE `sha256sum` over every env file of every service that is a regular file (`[ -f ]`, as the probe tests),
//   - ONE `readlink -z` over every `current` that is a symlink (`[ -L ]`; readlink fails on nothing else),
//   - shell builtins for the rest: the pid and .fw-pending files read as `$(cat f)` would (trailing newlines
//     dropped), the releases folder listed by a glob as `ls -1` would (no dot entries), installed.json copied
//     line by line,
// and then, per service, the same status command as before. The output is reassembled in TypeScript into exactly
// the text the per-service probe prints, so parseNativeProbe stays the only parser and the detection is the same.
//
// Anything this fast path cannot reproduce exactly makes the whole host fall back to the per-service probe
// (parse returns null): a path the batch tools would escape (backslash or newline), a hash or link pass that did
// not succeed for every file it was given (a file removed meanwhile, an older readlink without -z), a release
// entry with a newline in its name, or output that does not have the expected shape.
import { nativePaths, type Argv } from './commands';
import { shellCommand, shellQuote } from './shell-quote';

const SUMS = '@@fw-sums';
const LINKS = '@@fw-links';
const PROBE = '@@fw-probe';
const END = '@@fw-detect-end';
const ODD = '@@fw-odd';

// `$(cat -- f)` without a process: lines joined by newlines, trailing newlines dropped (leading ones kept).
const READ_FILE =
  'rd() { _v= _p=; while IFS= read -r _l || [ -n "$_l" ]; do if [ -n "$_l" ]; then _v=$_v$_p$_l; _p=\'\n\'; ' +
  "else _p=$_p'\n'; fi; done; }";

// Per service (index, service folder): the probe's `dir` line and its lines from `pid` on, in the probe's order
// (`current` and the env hashes come from the two passes and are put back in place by the parser).
const PER_SERVICE = [
  'P() {',
  `  echo "${PROBE} $1"; d=$2`,
  '  if [ -d "$d" ]; then echo dir=1; else echo dir=0; fi',
  '  _v=; rd 2>/dev/null <"$d/pid"; pid=$_v; case $pid in ""|*[!0-9]*) pid=;; esac',
  '  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "pid=$pid"; else echo pid=; fi',
  '  _v=; rd 2>/dev/null <"$d/.fw-pending"; printf "pending=%s\\n" "$_v"',
  '  printf releases=',
  '  for r in "$d/releases"/*; do',
  '    [ -e "$r" ] || [ -L "$r" ] || continue; n=${r##*/}',
  `    case $n in *'\n'*) echo; echo ${ODD};; esac`,
  '    printf "%s " "$n"',
  '  done',
  "  printf '\\n--- installed.json\\n'",
  // A last line without a newline is copied without one, as cat does.
  '  _l=; while IFS= read -r _l; do printf "%s\\n" "$_l"; done 2>/dev/null <"$d/installed.json"; printf %s "$_l"',
  '}',
].join('\n');

/** The files and links of one service the batch reads (the per-service probe's $1 and $2). */
function pathsFor(svc: string, base: string | undefined) {
  const own = nativePaths(svc, base);
  return {
    dir: own.dir,
    current: own.current,
    env: own.env,
    envPrevious: own.envPrevious,
    etcEnv: nativePaths(svc, base, 'adopted').env,
  };
}

/** Whether every path can go through sha256sum/readlink output unescaped (else: the per-service probe). */
export function batchableProbePaths(svcs: readonly string[], base: string | undefined): boolean {
  return svcs.every((svc) => Object.values(pathsFor(svc, base)).every((p) => !/[\\\n\r]/.test(p)));
}

/**
 * The batch probe of `svcs`: `sh -s` with the script on stdin (no argv size limit for any number of services);
 * `status[i]` is service i's status command (exit 0 ⇔ running), run after its probe with output discarded and
 * stdin from /dev/null (stdin is the script).
 */
export function probeNativeBatchCommand(
  svcs: readonly string[],
  base: string | undefined,
  status: readonly Argv[],
): { argv: Argv; script: string } {
  const ps = svcs.map((svc) => pathsFor(svc, base));
  const q = shellQuote;
  const lines: string[] = [READ_FILE, PER_SERVICE, 'set --', 'L='];
  for (const p of ps) {
    for (const f of [p.env, p.envPrevious, p.etcEnv]) lines.push(`[ -f ${q(f)} ] && set -- "$@" ${q(f)}`);
  }
  lines.push(
    `echo ${SUMS}`,
    'if [ $# -gt 0 ]; then sha256sum -- "$@" </dev/null; r=$?; else r=0; fi',
    `printf '\\n${SUMS} %s\\n' "$r"`,
    'set --',
  );
  ps.forEach((p, i) => lines.push(`[ -L ${q(p.current)} ] && set -- "$@" ${q(p.current)} && L="$L ${i}"`));
  lines.push(
    `echo "${LINKS}$L"`,
    'if [ $# -gt 0 ]; then readlink -z -- "$@" </dev/null; r=$?; else r=0; fi',
    `printf '\\n${LINKS} %s\\n' "$r"`,
  );
  ps.forEach((p, i) => {
    lines.push(
      `P ${i} ${q(p.dir)}; ${shellCommand(status[i]!)} </dev/null >/dev/null 2>&1; ` +
        `printf '\\n${END} %s 0 %s\\n' ${i} "$?"`,
    );
  });
  return { argv: ['sh', '-s'], script: `${lines.join('\n')}\n` };
}

export interface BatchProbeEntry {
  /** Exactly what probeNativeCommand would have printed for this service. */
  probe: string;
  probeRc: number;
  statusRc: number;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The per-service probe outputs from the batch's stdout, in `svcs` order; null when the fast path cannot vouch
 * for exactly the per-service result (see the header), so the caller probes service by service instead.
 */
export function parseNativeBatchProbe(
  stdout: string,
  svcs: readonly string[],
  base: string | undefined,
): BatchProbeEntry[] | null {
  const ps = svcs.map((svc) => pathsFor(svc, base));
  // 1. Hashes: `<hex>  <path>` per file hashed, then the exit status.
  const sums = new RegExp(`^${esc(SUMS)}\n([\\s\\S]*?)\n${esc(SUMS)} (\\d+)\n`).exec(stdout);
  if (!sums || sums[2] !== '0') return null;
  const hashes = new Map<string, string>();
  for (const line of sums[1]!.split('\n')) {
    if (line === '') continue;
    const m = /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
    if (!m) return null;
    hashes.set(m[2]!, m[1]!);
  }
  let rest = stdout.slice(sums[0].length);
  // 2. Link targets, NUL-terminated, one per symlink given, after the indexes of the services that have one.
  const links = new RegExp(`^${esc(LINKS)}((?: \\d+)*)\n([^]*?)\n${esc(LINKS)} (\\d+)\n`).exec(rest);
  if (!links || links[3] !== '0') return null;
  const targets = links[2]!.split('\0');
  const linked = links[1]!
    .split(' ')
    .filter((x) => x !== '')
    .map(Number);
  if (targets.pop() !== '' || targets.length !== linked.length) return null;
  // `$(readlink …)` in the per-service probe drops trailing newlines.
  const target = new Map(linked.map((i, k) => [i, targets[k]!.replace(/\n+$/, '')]));
  rest = rest.slice(links[0].length);
  // 3. Per service: the probe's remaining lines, then the status exit code.
  const out: BatchProbeEntry[] = [];
  const block = new RegExp(`^${esc(PROBE)} (\\d+)\n([^]*?)\n${esc(END)} (\\d+) (\\d+) (\\d+)\n`);
  for (const [i, p] of ps.entries()) {
    const m = block.exec(rest);
    if (!m || Number(m[1]) !== i || Number(m[3]) !== i) return null;
    rest = rest.slice(m[0].length);
    const body = m[2]!;
    if (body.includes(`\n${ODD}\n`)) return null;
    const nl = body.indexOf('\n');
    const dir = body.slice(0, nl);
    if (dir !== 'dir=0' && dir !== 'dir=1') return null;
    const hex = (f: string) => hashes.get(f) ?? '';
    out.push({
      // The per-service probe's lines in its order: dir, current, the three env hashes, then pid onwards.
      probe: [
        dir,
        `current=${target.get(i) ?? ''}`,
        `env=${hex(p.env)}`,
        `env.previous=${hex(p.envPrevious)}`,
        `etc_env=${hex(p.etcEnv)}`,
        body.slice(nl + 1),
      ].join('\n'),
      probeRc: Number(m[4]),
      statusRc: Number(m[5]),
    });
  }
  return rest === '' ? out : null;
}
