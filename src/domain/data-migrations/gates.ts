// Data-migration gate predicates (reference §5.5–§5.6, §10 item 14): which catalog requirements must be
// `completed` before deploying a release, or before running `migrate --phase postdeploy|contract`, and how
// each reported live state classifies. Only `completed` passes; every state that cannot be reported (fetch
// error, binary not adopted, id not registered, state table missing, nothing reported) blocks: fail closed.
//
// The windows differ per surface on purpose: the upgrade gate and doctor look at PRIOR release lines only
// (the target's own backfills run after its deploy), the phase gate includes the target line.
//
// Pure and free of Node builtins: workflow code uses it.
import type { DataMigrationRequirement, ReleaseCatalog } from '../../contracts/catalog';
import { PHASES } from '../../contracts/migrations';
import { InputError } from '../../errors';
import { baseVersion, compareVersions } from '../../contracts/version';

/** What a state source reported for one requirement. */
export type LiveState =
  | { kind: 'status'; status: string }
  | { kind: 'not_adopted' }
  | { kind: 'not_registered' }
  | { kind: 'fetch_error'; error: string }
  | { kind: 'missing_table' };

/** Live states keyed by `requirementKey`, or a lookup; an absent entry reads as "no live state reported". */
export type LiveStateSource =
  Readonly<Record<string, LiveState>> | ((req: DataMigrationRequirement) => LiveState | undefined);

export interface DataMigrationBlocker {
  requirement: DataMigrationRequirement;
  reason: string;
}

/** `<service>.<id>`: unique per catalog, and the suffix of the `dataMigration` workflow id. */
export function requirementKey(req: Pick<DataMigrationRequirement, 'service' | 'id'>): string {
  return `${req.service}.${req.id}`;
}

function requireTarget(target: string): string {
  if (target.trim() === '') {
    throw new InputError('data-migration gate', 'a target version is required to select data-migration requirements');
  }
  return baseVersion(target);
}

/** Every requirement of the releases whose line is at or below the target's (an rc counts as its final). */
export function catalogRequirements(catalog: ReleaseCatalog, target: string): DataMigrationRequirement[] {
  const line = requireTarget(target);
  return catalog.releases
    .filter((r) => compareVersions(baseVersion(r.version), line) <= 0)
    .flatMap((r) => r.required_data_migrations);
}

/**
 * The pre-deploy window: requirements of PRIOR lines that must be complete before the target's binaries
 * deploy. The target's own line is excluded; without `required_before_version` a requirement is due once the
 * target is past its line, with it once the target reaches that version.
 */
export function preDeployWindow(reqs: readonly DataMigrationRequirement[], target: string): DataMigrationRequirement[] {
  const line = requireTarget(target);
  return reqs.filter((r) => {
    if (!r.introduced_in) return false;
    const introduced = baseVersion(r.introduced_in);
    if (introduced === line) return false;
    if (!r.required_before_version) return compareVersions(line, introduced) > 0;
    return compareVersions(line, baseVersion(r.required_before_version)) >= 0;
  });
}

/** The phase window: requirements due before `phase`, introduced at or below the target's line (own line too). */
export function prePhaseWindow(
  reqs: readonly DataMigrationRequirement[],
  phase: string,
  target: string,
): DataMigrationRequirement[] {
  if (phase === '' || !(PHASES as readonly string[]).includes(phase)) {
    throw new InputError('data-migration gate', `a phase (${PHASES.join(', ')}) is required, got "${phase}"`);
  }
  const line = requireTarget(target);
  return reqs.filter(
    (r) => r.required_before_phase === phase && compareVersions(baseVersion(r.introduced_in), line) <= 0,
  );
}

/** Reportable = the source could ask the service: no fetch error, binary adopted, id registered (§9 item 127). */
export function isLiveStateReportable(state: LiveState): boolean {
  return state.kind === 'status' || state.kind === 'missing_table';
}

/** The blocker reason for a live state, or undefined when it is `completed` (the only pass). */
export function blockerReason(state: LiveState | undefined): string | undefined {
  if (!state) return 'no live state reported';
  switch (state.kind) {
    case 'fetch_error':
      return `fetch failed: ${state.error}`;
    case 'not_adopted':
      return 'service binary has not adopted data-migrations';
    case 'not_registered':
      return 'declared in catalog but not registered in service binary';
    case 'missing_table':
      return 'no data-migration state table (_data_migrations) in the owning database, so completion cannot be proven';
    case 'status':
      if (state.status === 'completed') return undefined;
      return state.status === '' ? 'no live state reported' : state.status;
  }
}

function lookup(source: LiveStateSource, req: DataMigrationRequirement): LiveState | undefined {
  if (typeof source === 'function') return source(req);
  const key = requirementKey(req);
  return Object.hasOwn(source, key) ? source[key] : undefined;
}

function classify(reqs: readonly DataMigrationRequirement[], source: LiveStateSource): DataMigrationBlocker[] {
  const blockers: DataMigrationBlocker[] = [];
  for (const requirement of reqs) {
    const reason = blockerReason(lookup(source, requirement));
    if (reason !== undefined) blockers.push({ requirement, reason });
  }
  return blockers;
}

export function preDeployBlockers(
  reqs: readonly DataMigrationRequirement[],
  target: string,
  liveState: LiveStateSource,
): DataMigrationBlocker[] {
  return classify(preDeployWindow(reqs, target), liveState);
}

export function prePhaseBlockers(
  reqs: readonly DataMigrationRequirement[],
  phase: string,
  target: string,
  liveState: LiveStateSource,
): DataMigrationBlocker[] {
  return classify(prePhaseWindow(reqs, phase, target), liveState);
}

// ---- Gate messages (reference §5.6) ----

/**
 * Said explicitly instead of a silent pass when nothing gates this step. Called when the step's window is empty;
 * requirements declared up to the target may still exist (a release's own data migration runs after its deploy,
 * before postdeploy/contract), so they are named with when they are due rather than denied.
 */
export function noRequirementsMessage(catalog: ReleaseCatalog, target: string): string {
  if (catalog.releases.length === 0)
    return `release catalog is empty; no required data migrations declared up to ${target}`;
  const declared = catalogRequirements(catalog, target);
  if (declared.length === 0) return `no required data migrations declared up to ${target}`;
  const named = declared.map(
    (r) => `${requirementKey(r)} (introduced ${r.introduced_in}, required before ${r.required_before_phase})`,
  );
  return `none due before this step; declared up to ${target}: ${named.join(', ')}`;
}

function blockerLines(blockers: readonly DataMigrationBlocker[]): string[] {
  const lines = blockers.map(
    (b) => `  - ${b.requirement.service}/${b.requirement.id} (introduced ${b.requirement.introduced_in}): ${b.reason}`,
  );
  // Our CLI names a data migration `<service>.<id>` (ids are unique per service, not globally).
  const keys = [...new Set(blockers.map((b) => requirementKey(b.requirement)))];
  return [...lines, ...keys.map((key) => `run: frameworks cluster data-migrate run ${key}`)];
}

export function formatPreDeployRefusal(
  service: string,
  target: string,
  blockers: readonly DataMigrationBlocker[],
): string {
  return [
    `[gate] prior data migrations required before deploying ${service} ${target}:`,
    ...blockerLines(blockers),
  ].join('\n');
}

export function formatPreDeploySuccess(count: number): string {
  return `[gate] ${count} prior required data migration(s) completed.`;
}

export function formatPhaseRefusal(phase: string, blockers: readonly DataMigrationBlocker[]): string {
  return [`[gate] ${phase} blocked: required data migrations not completed:`, ...blockerLines(blockers)].join('\n');
}

export function formatPhaseSuccess(count: number, phase: string): string {
  return `[gate] ${count} required data migration(s) checked for ${phase}.`;
}

export function formatDataGateBypassed(what: string): string {
  return `WARNING: data-migration check for ${what} BYPASSED by --skip-data-migration-check`;
}
