// Pure accessors and gate predicates over a parsed release catalog (reference §3.1, §6.2.1; SPEC §3.3).
//
// Lookups go by BASE version: an rc target selects its final's entry, migrations and requirements
// (reference §10 item 3). Gate predicates return a result instead of throwing so a workflow can report every
// check in a plan; each refusal says what was found and what fixes it.
import type { CatalogRelease, ReleaseCatalog } from '../contracts/catalog';
import {
  baseVersion,
  compareVersions,
  isCanonicalVersion,
  normalizeVersionInput,
  stripGitDescribeSuffix,
} from '../contracts/version';

export type GateResult = { ok: true } | { ok: false; reason: string; fix: string };
export type FloorResult = { ok: true; warning?: string } | { ok: false; reason: string; fix: string };

/**
 * The entry of the target's release line, or undefined when the catalog does not declare it. "Target declared" is
 * judged as the reference judges it (behaviour §3.1): a catalog with any release refuses an undeclared target,
 * because the entry is what carries the line's tooling floor, rollback policy and required data migrations, and
 * an unknown release would run without them; a catalog with no releases at all is an explicit, printed pass.
 */
export function lookupRelease(catalog: ReleaseCatalog, v: string): CatalogRelease | undefined {
  const line = baseVersion(v);
  return catalog.releases.find((r) => baseVersion(r.version) === line);
}

/** Entries of lines strictly below the target's line, ascending; an rc target excludes its own line. */
export function releasesBelow(catalog: ReleaseCatalog, target: string): CatalogRelease[] {
  const line = baseVersion(target);
  return catalog.releases.filter((r) => compareVersions(baseVersion(r.version), line) < 0);
}

export function minCliVersionFor(catalog: ReleaseCatalog, v: string): string | undefined {
  return lookupRelease(catalog, v)?.min_cli_version;
}

export function rollbackDisabledFor(catalog: ReleaseCatalog, v: string): string[] {
  return [...(lookupRelease(catalog, v)?.rollback_disabled ?? [])];
}

export function serviceDatabase(catalog: ReleaseCatalog, service: string): { database: string; declared: boolean } {
  const database = Object.hasOwn(catalog.service_databases, service) ? catalog.service_databases[service] : undefined;
  return database === undefined ? { database: '', declared: false } : { database, declared: true };
}

/**
 * Transitions declared at or below the target's line (the reference's ReleaseTransitionsUpTo): what a release to
 * the target may have to run, an rc target included with its final. Ascending file order is kept.
 */
export function transitionsUpTo(catalog: ReleaseCatalog, target: string): ReleaseCatalog['release_transitions'] {
  const line = baseVersion(target);
  return catalog.release_transitions.filter((t) => compareVersions(t.introduced_in, line) <= 0);
}

/** Ids the catalog says the target's own line requires; a fetched manifest must list exactly these. */
export function requiredTransitionIdsFor(catalog: ReleaseCatalog, v: string): string[] {
  const line = baseVersion(v);
  return catalog.release_transitions
    .filter((t) => baseVersion(t.introduced_in) === line)
    .map((t) => t.id)
    .sort();
}

export const UNSAFE_CLI_FLOOR_FLAG = '--unsafe-ignore-cli-version-floor';

/**
 * The orchestrator must be at least the release's `min_cli_version`. A dev build (`dev`, `unknown`, "")
 * cannot prove that, so it is refused unless explicitly bypassed; a concrete older build is always refused.
 */
export function checkCliVersionFloor(
  cliVersion: string,
  floor: string | undefined,
  opts: { unsafeIgnore?: boolean } = {},
): FloorResult {
  if (!floor) return { ok: true };
  if (!isCanonicalVersion(floor)) {
    return {
      ok: false,
      reason: `min_cli_version ${JSON.stringify(floor)} is not a canonical version, so the floor cannot be checked`,
      fix: 'fix min_cli_version in the release metadata (vX.Y.Z)',
    };
  }
  const cli = normalizeVersionInput(stripGitDescribeSuffix(cliVersion.trim()));
  if (!isCanonicalVersion(cli)) {
    if (opts.unsafeIgnore) {
      return {
        ok: true,
        warning: `WARNING: orchestrator version ${JSON.stringify(cliVersion)} is non-concrete; the release's minimum ${floor} check was BYPASSED by ${UNSAFE_CLI_FLOOR_FLAG}`,
      };
    }
    return {
      ok: false,
      reason: `orchestrator version ${JSON.stringify(cliVersion)} is non-concrete, so it cannot be shown to meet the release's required minimum ${floor}`,
      fix: `run a released orchestrator (${floor} or later), or pass ${UNSAFE_CLI_FLOOR_FLAG} to bypass at your own risk`,
    };
  }
  if (compareVersions(cli, floor) < 0) {
    return {
      ok: false,
      reason: `orchestrator ${cli} is older than the release's required minimum ${floor}`,
      fix: `upgrade the orchestrator to ${floor} or later`,
    };
  }
  return { ok: true };
}

/** A version seen running on the cluster (the label the detector reported). */
export interface DetectedVersion {
  service: string;
  host?: string;
  version: string;
}

function where(d: DetectedVersion): string {
  return d.host ? `${d.service} on ${d.host}` : d.service;
}

/** Base versions of what runs, or the first entry whose version cannot be read (fail closed). */
function detectedLines(
  detected: readonly DetectedVersion[],
): { lines: { d: DetectedVersion; line: string }[] } | { unknown: DetectedVersion } {
  const lines: { d: DetectedVersion; line: string }[] = [];
  for (const d of detected) {
    const v = normalizeVersionInput(stripGitDescribeSuffix(d.version.trim()));
    if (!isCanonicalVersion(v)) return { unknown: d };
    lines.push({ d, line: baseVersion(v) });
  }
  return { lines };
}

function unknownVersion(d: DetectedVersion, what: string): GateResult {
  return {
    ok: false,
    reason: `${where(d)} reports version ${JSON.stringify(d.version)}, which is not a concrete version, so the ${what} cannot be proven`,
    fix: `check the service with \`frameworks cluster status\` and redeploy it at a released version`,
  };
}

/** Refuses a direct upgrade when anything runs below the target's `compatible_from` (SPEC §3.3). */
export function checkCompatibilityFloor(
  catalog: ReleaseCatalog,
  target: string,
  detected: readonly DetectedVersion[],
): GateResult {
  const floor = lookupRelease(catalog, target)?.compatible_from;
  if (!floor) return { ok: true };
  const seen = detectedLines(detected);
  if ('unknown' in seen) return unknownVersion(seen.unknown, `compatibility floor ${floor}`);
  const below = seen.lines.filter((l) => compareVersions(l.line, baseVersion(floor)) < 0);
  if (below.length === 0) return { ok: true };
  const list = below.map((l) => `${where(l.d)} runs ${l.d.version}`).join(', ');
  return {
    ok: false,
    reason: `${list}: below ${target}'s compatibility floor ${floor}; deploy ${floor} first`,
    fix: `frameworks cluster upgrade --all --version ${floor}`,
  };
}

/** Refuses an upgrade that would jump over a `required_stop` release between what runs and the target. */
export function checkRequiredStops(
  catalog: ReleaseCatalog,
  target: string,
  detected: readonly DetectedVersion[],
): GateResult {
  const seen = detectedLines(detected);
  if ('unknown' in seen) {
    return catalog.releases.some((r) => r.required_stop)
      ? unknownVersion(seen.unknown, 'required-stop check')
      : { ok: true };
  }
  if (seen.lines.length === 0) return { ok: true };
  const lowest = seen.lines.reduce((a, b) => (compareVersions(b.line, a.line) < 0 ? b : a));
  const targetLine = baseVersion(target);
  const stop = catalog.releases.find(
    (r) =>
      r.required_stop &&
      compareVersions(baseVersion(r.version), lowest.line) > 0 &&
      compareVersions(baseVersion(r.version), targetLine) < 0,
  );
  if (!stop) return { ok: true };
  return {
    ok: false,
    reason: `${where(lowest.d)} runs ${lowest.d.version} and ${target} would jump over the required stop ${stop.version}; upgrade to ${stop.version} first`,
    fix: `frameworks cluster upgrade --all --version ${stop.version}`,
  };
}
