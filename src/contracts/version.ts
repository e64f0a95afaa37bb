// Version grammar and ordering shared by every gate, the fetcher and the catalog (reference §2.4).
// It lives in contracts, below domain, because the release and catalog schemas refine their fields with it and
// contracts must not import domain (a lint rule in eslint.config.mjs).
//
// Numbers are compared as digit strings, never parsed into JS numbers, so a hostile or mistyped
// `v99999999999999999999.0.0` orders correctly instead of silently losing precision.
import { InputError } from '../errors';

const CANONICAL = /^v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;
const CHANNEL_NAMES = new Set(['stable', 'rc', 'latest', 'edge', 'nightly', 'beta', 'alpha', 'dev']);

/** Why `v` is not a canonical version (with a fixing hint), or undefined when it is canonical. */
export function versionProblem(v: string): string | undefined {
  if (v === '') return 'empty version; use a concrete vX.Y.Z';
  if (v.trim() !== v) return `"${v}" has surrounding whitespace; write it as "${v.trim()}"`;
  if (CHANNEL_NAMES.has(v.toLowerCase())) return `"${v}" is a channel name, not a version; use a concrete vX.Y.Z`;
  const m = CANONICAL.exec(v);
  if (!m) {
    if (CANONICAL.test(`v${v}`)) return `"${v}" lacks the leading "v"; write v${v}`;
    return `"${v}" is not a version; use a concrete vX.Y.Z (optionally -prerelease and +build)`;
  }
  const [, major, minor, patch, pre, build] = m;
  for (const n of [major!, minor!, patch!]) {
    if (n.length > 1 && n.startsWith('0')) return `"${v}" has a leading zero in "${n}"`;
  }
  if (pre !== undefined) {
    for (const id of pre.split('.')) {
      if (id === '') return `"${v}" has an empty prerelease identifier`;
      // rc01 and 01 would sort like rc1 and 1 while spelling differently; refuse the ambiguity.
      const digits = /\d+$/.exec(id)?.[0] ?? '';
      if (digits.length > 1 && digits.startsWith('0')) return `"${v}" has a leading zero in prerelease "${id}"`;
    }
  }
  if (build !== undefined && build.split('.').some((id) => id === '')) {
    return `"${v}" has an empty build identifier`;
  }
  return undefined;
}

export function isCanonicalVersion(v: string): boolean {
  return versionProblem(v) === undefined;
}

/** Returns `v` unchanged when canonical; otherwise throws an InputError naming `what` (e.g. `--to-version`). */
export function validateVersion(v: string, what: string): string {
  const problem = versionProblem(v);
  if (problem) throw new InputError(what, problem);
  return v;
}

export interface VersionParts {
  /** Digit strings, "0" when absent; kept as strings so huge numbers never overflow. */
  major: string;
  minor: string;
  patch: string;
  /** Exactly as written, without the leading "-"; "" when none. */
  prerelease: string;
  /** Without the leading "+"; "" when none. */
  build: string;
}

/** Lenient decomposition for ordering: tolerates a missing `v`, missing minor/patch and whitespace. */
export function splitVersion(v: string): VersionParts {
  let rest = v.trim().replace(/^v/, '');
  let build = '';
  const plus = rest.indexOf('+');
  if (plus >= 0) {
    build = rest.slice(plus + 1);
    rest = rest.slice(0, plus);
  }
  let prerelease = '';
  const dash = rest.indexOf('-');
  if (dash >= 0) {
    prerelease = rest.slice(dash + 1);
    rest = rest.slice(0, dash);
  }
  const [major, minor, patch] = rest.split('.');
  return { major: major || '0', minor: minor || '0', patch: patch || '0', prerelease, build };
}

/** `0.2.97-rc1` → `v0.2.97`: the release line a version belongs to (RC and final share it). */
export function baseVersion(v: string): string {
  const { major, minor, patch } = splitVersion(v);
  return `v${major}.${minor}.${patch}`;
}

export function isPrerelease(v: string): boolean {
  return splitVersion(v).prerelease !== '';
}

/** `1.2.3` → `v1.2.3`; everything else (including channel names) is only trimmed. */
export function normalizeVersionInput(input: string): string {
  const v = input.trim();
  return /^\d/.test(v) ? `v${v}` : v;
}

/** `v0.3.0-4-gabc1234[-dirty]` → `v0.3.0`: a dev build after a tag compares as that tag. */
export function stripGitDescribeSuffix(v: string): string {
  return v.replace(/-\d+-g[0-9a-fA-F]{7,}(?:-dirty)?$/, '');
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Compares digit strings numerically; a component that is not all digits counts as 0. */
function compareDigits(a: string, b: string): -1 | 0 | 1 {
  const norm = (s: string) => (/^\d+$/.test(s) ? s.replace(/^0+(?=\d)/, '') : '0');
  const x = norm(a);
  const y = norm(b);
  if (x.length !== y.length) return sign(x.length - y.length);
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareAscii(a: string, b: string): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareIdentifier(a: string, b: string): -1 | 0 | 1 {
  const aNum = /^\d+$/.test(a);
  const bNum = /^\d+$/.test(b);
  if (aNum && bNum) return compareDigits(a, b);
  if (aNum) return -1;
  if (bNum) return 1;
  // rc2 < rc10: same textual prefix, so the trailing counters decide numerically.
  const ma = /^(.*?)(\d+)$/.exec(a);
  const mb = /^(.*?)(\d+)$/.exec(b);
  if (ma && mb && ma[1] === mb[1]) {
    const byNumber = compareDigits(ma[2]!, mb[2]!);
    if (byNumber !== 0) return byNumber;
  }
  return compareAscii(a, b);
}

/** Semver precedence (build metadata ignored): -1 when a < b, 0 when equal, 1 when a > b. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const x = splitVersion(a);
  const y = splitVersion(b);
  for (const key of ['major', 'minor', 'patch'] as const) {
    const c = compareDigits(x[key], y[key]);
    if (c !== 0) return c;
  }
  if (x.prerelease === y.prerelease) return 0;
  // A release outranks every prerelease of the same core.
  if (x.prerelease === '') return 1;
  if (y.prerelease === '') return -1;
  const xs = x.prerelease.split('.');
  const ys = y.prerelease.split('.');
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const c = compareIdentifier(xs[i]!, ys[i]!);
    if (c !== 0) return c;
  }
  return sign(xs.length - ys.length);
}
