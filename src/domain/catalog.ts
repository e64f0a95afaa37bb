// Pure accessors and gate predicates over a parsed release catalog (reference §3.1, §6.2.1; SPEC §3.3).
//
// Lookups go by BASE version: an rc target selects its final's entry, migrations and requirements
// (reference §10 item 3). Gate predicates return a result instead of throwing so a workflow can report every
// check in a plan; each refusal says what was found and what fixes it.
import type { CatalogRelease, ReleaseCatalog, ServiceDefinition } from '../contracts/catalog';
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

/**
 * Transition handlers compiled into this orchestrator (reference §6.2.1–6.2.2: a required transition is a
 * reconciliation step the deploying tool itself must run). None is implemented yet, so any required one refuses.
 */
export const IMPLEMENTED_TRANSITIONS: readonly string[] = [];

/** Every transition the target needs, from both sources, and whether catalog and manifest agree. */
export function checkTransitions(
  catalog: ReleaseCatalog,
  target: string,
  manifestRequired: readonly string[],
  implemented: readonly string[] = IMPLEMENTED_TRANSITIONS,
): { ok: true; detail: string } | { ok: false; problems: string[]; fix: string } {
  const fromCatalog = transitionsUpTo(catalog, target);
  const problems: string[] = [];
  const missingCatalog = fromCatalog.filter((t) => !implemented.includes(t.id));
  if (missingCatalog.length > 0) {
    problems.push(
      `the release catalog requires transition(s) up to ${target} that this orchestrator does not implement: ` +
        missingCatalog.map((t) => `${t.id} (introduced in ${t.introduced_in})`).join(', '),
    );
  }
  const missingManifest = [...new Set(manifestRequired)].filter((id) => !implemented.includes(id)).sort();
  if (missingManifest.length > 0) {
    problems.push(
      `release manifest ${target} requires transition(s) this orchestrator does not implement: ${missingManifest.join(', ')}`,
    );
  }
  // The manifest's list is generated from the catalog entry of its own line: a difference means one of them is
  // not what the other was built from, so neither can be trusted to name every step.
  const expected = requiredTransitionIdsFor(catalog, target);
  const fetched = new Set(manifestRequired);
  const notInManifest = expected.filter((id) => !fetched.has(id));
  const notInCatalog = [...fetched].filter((id) => !expected.includes(id)).sort();
  if (notInManifest.length > 0 || notInCatalog.length > 0) {
    problems.push(
      `release catalog and manifest ${target} disagree on required transitions: ` +
        [
          notInManifest.length > 0 ? `in the catalog but not the manifest: ${notInManifest.join(', ')}` : '',
          notInCatalog.length > 0 ? `in the manifest but not the catalog: ${notInCatalog.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
    );
  }
  if (problems.length > 0) {
    return {
      ok: false,
      problems,
      fix: 'upgrade the orchestrator (and its catalog) to a version that implements and declares these transitions',
    };
  }
  return {
    ok: true,
    detail:
      fromCatalog.length === 0 && fetched.size === 0
        ? `no transitions required up to ${target}`
        : `implemented: ${[...new Set([...fromCatalog.map((t) => t.id), ...fetched])].sort().join(', ')}`,
  };
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
  /** How the version was established (content identity or label), named in refusals. */
  evidence?: string;
}

function where(d: DetectedVersion): string {
  return d.host ? `${d.service} on ${d.host}` : d.service;
}

function runs(d: DetectedVersion): string {
  return `${where(d)} runs ${d.version}${d.evidence ? ` (${d.evidence})` : ''}`;
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

/** Rollback-disabled services for a target, looked up by base version (an rc gets its final's entry). */
export function rollbackDisabledReasons(
  catalog: ReleaseCatalog,
  target: string,
  manifestDisabled: readonly string[],
  services: readonly string[],
): { service: string; reason: string }[] {
  const entry = lookupRelease(catalog, target);
  const fromCatalog = new Set(entry?.rollback_disabled ?? []);
  const fromManifest = new Set(manifestDisabled);
  return services
    .filter((s) => fromCatalog.has(s) || fromManifest.has(s))
    .map((service) => {
      const why: string[] = [];
      if (fromCatalog.has(service)) {
        why.push(
          `rollback_disabled in the catalog entry ${entry!.version}${entry!.version !== target ? ` (applies to ${target})` : ''}`,
        );
      }
      if (fromManifest.has(service)) why.push(`rollback_disabled in release manifest ${target}`);
      return { service, reason: why.join('; ') };
    });
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
  const list = below.map((l) => runs(l.d)).join(', ');
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
    reason: `${runs(lowest.d)} and ${target} would jump over the required stop ${stop.version}; upgrade to ${stop.version} first`,
    fix: `frameworks cluster upgrade --all --version ${stop.version}`,
  };
}

/**
 * What a deploy's health probe asks (reference §9 item 75): the readiness path when the service declares one
 * (`health.ready_path`: ready to take traffic), else its health path, else a TCP connect to the port.
 */
export function healthProbeTarget(def: Pick<ServiceDefinition, 'port' | 'health'>): { port: number; path?: string } {
  const path = def.health?.ready_path ?? def.health?.path;
  return path ? { port: def.port, path } : { port: def.port };
}
