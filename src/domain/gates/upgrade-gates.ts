// Every gate of SPEC §6 that needs the live cluster, decided purely from facts the workflow gathered: what
// runs on each host, each database's ledger, data-migration states. Added to the plan's own checks (catalog,
// target declared, orchestrator floor, transitions, artifacts). Anything that cannot be proven refuses.
import type { ReleaseCatalog, ServiceDefinitions } from '../../contracts/catalog';
import type { LedgerRead, MigrationItem } from '../../contracts/migrations';
import type { GateCheck, ServiceTarget } from '../../contracts/plan';
import type { HostDetection, ReleasePins } from '../../contracts/upgrade';
import { artifactPinProblems } from '../artifacts';
import { checkCompatibilityFloor, checkRequiredStops, serviceDatabase, type DetectedVersion } from '../catalog';
import {
  catalogRequirements,
  formatDataGateBypassed,
  formatPreDeployRefusal,
  formatPreDeploySuccess,
  noRequirementsMessage,
  preDeployBlockers,
  preDeployWindow,
  type LiveState,
} from '../data-migrations/gates';
import { belowFloorProblems, type BaselineMarkerRead } from '../migrations/floor-guard';
import { checkSchemaGate } from '../migrations/schema-gate';
import {
  ALLOW_DOWNGRADE_FLAG,
  ALLOW_UNKNOWN_FLAG,
  describeLine,
  formatDowngrade,
  judgeReplicas,
  type ReplicaLine,
} from './replica-lines';

export interface UpgradeGateFacts {
  target: string;
  services: string[];
  targets: ServiceTarget[];
  catalog: ReleaseCatalog;
  definitions: ServiceDefinitions;
  detections: Record<string, HostDetection[]>;
  migrationItems: MigrationItem[];
  ledgers: LedgerRead[];
  liveStates: Record<string, LiveState>;
  skipMigrationCheck: boolean;
  skipDataMigrationCheck: boolean;
  /**
   * Facts of the identity-judged gates (issue 11): which releases pin each detected identity, each owning
   * database's baseline marker (below-floor guard), and the operator's bypasses. Absent in runs recorded before
   * these gates existed, which keep the label-only floor and stop checks they were decided with.
   */
  proven?: {
    pins: ReleasePins;
    markers: Record<string, BaselineMarkerRead>;
    allowUnknownVersion: boolean;
    allowDowngrade: boolean;
  };
}

export interface UpgradeGateResult {
  checks: GateCheck[];
  warnings: string[];
}

const pass = (id: string, label: string, detail: string): GateCheck => ({ id, label, status: 'pass', detail });
const refuse = (id: string, label: string, detail: string, fix?: string): GateCheck => ({
  id,
  label,
  status: 'refuse',
  detail,
  ...(fix ? { fix } : {}),
});

/** Databases whose ledgers the schema gate needs: the owners of the DB-backed services being upgraded. */
export function ownedDatabases(catalog: ReleaseCatalog, definitions: ServiceDefinitions, services: string[]): string[] {
  const dbs = services
    .filter((s) => definitions[s]?.database)
    .map((s) => serviceDatabase(catalog, s))
    .filter((o) => o.declared)
    .map((o) => o.database);
  return [...new Set(dbs)].sort();
}

export function upgradeGates(f: UpgradeGateFacts): UpgradeGateResult {
  const checks: GateCheck[] = [];
  const warnings: string[] = [];

  // Ownership first (reference §10.15): a DB-backed service without a declared owning database cannot be gated.
  const unowned = f.services.filter((s) => f.definitions[s]?.database && !serviceDatabase(f.catalog, s).declared);
  checks.push(
    unowned.length === 0
      ? pass('db-ownership', 'database ownership declared', 'every DB-backed service has a catalog owner')
      : refuse(
          'db-ownership',
          'database ownership declared',
          `no service_databases entry in the catalog for DB-backed service(s): ${unowned.join(', ')}`,
          'declare the owning database in catalog/releases.yaml service_databases',
        ),
  );

  const missing = f.services.flatMap((s) =>
    (f.detections[s] ?? [])
      .filter((d) => !d.present || d.error)
      .map((d) => `${s} on ${d.host}: ${d.error ?? 'not installed'}`),
  );
  checks.push(
    missing.length === 0
      ? pass('detect', 'services detected on every host', `${f.services.length} service(s) detected`)
      : refuse(
          'detect',
          'services detected on every host',
          missing.join('; '),
          'install the service first (cluster provision) or fix the host',
        ),
  );

  if (f.proven) provenLineChecks(f, f.proven, checks, warnings);
  else {
    const detected = f.services.flatMap((s) =>
      (f.detections[s] ?? [])
        .filter((d) => d.present && d.version)
        .map((d) => ({ service: s, host: d.host, version: d.version! })),
    );
    floorAndStopChecks(f, detected, checks);
  }

  // Per detected host: an artifact for its arch that is pinned by content (the plan could not know undeclared arches).
  const archProblems = f.targets
    .filter((t) => t.mode === 'native')
    .flatMap((t) =>
      (f.detections[t.service] ?? [])
        .filter((d) => d.present)
        .flatMap((d) => {
          if (!d.arch) return [`${t.service}: cannot detect architecture of ${d.host}`];
          const artifact = t.artifacts.find((a) => a.arch === d.arch);
          if (!artifact) return [`${t.service}: no artifact for ${d.arch} (host ${d.host})`];
          return artifactPinProblems(artifact).map((p) => `${t.service}: ${p} (host ${d.host})`);
        }),
    );
  checks.push(
    archProblems.length === 0
      ? pass('host-arch', 'artifact for every host architecture', 'every native host has a matching tarball')
      : refuse(
          'host-arch',
          'artifact for every host architecture',
          archProblems.join('; '),
          'publish tarballs for these architectures in the release',
        ),
  );

  // Schema gate per owning database.
  const dbs = ownedDatabases(f.catalog, f.definitions, f.services);
  const schemaProblems: string[] = [];
  const remediation = new Set<string>();
  for (const db of dbs) {
    const r = checkSchemaGate({
      items: f.migrationItems,
      catalog: f.catalog,
      target: f.target,
      ledgers: f.ledgers,
      database: db,
    });
    if (!r.ok) {
      schemaProblems.push(...r.problems.map((p) => `${db}: ${p.message}`));
      r.remediation.forEach((x) => remediation.add(x));
    }
  }
  if (schemaProblems.length === 0) {
    checks.push(
      pass(
        'schema',
        'schema gate',
        dbs.length === 0 ? 'no engine schema checks (no DB-backed service)' : `ledgers of ${dbs.join(', ')} complete`,
      ),
    );
  } else if (f.skipMigrationCheck) {
    warnings.push('WARNING: schema gate BYPASSED by --skip-migration-check');
    checks.push({ id: 'schema', label: 'schema gate', status: 'bypassed', detail: schemaProblems.join('\n') });
  } else {
    checks.push(refuse('schema', 'schema gate', schemaProblems.join('\n'), [...remediation].join('; ')));
  }

  // The below-floor guard (reference §4.7, §6.2.4 step 5): the schema gate above never asks for migrations below
  // the baseline floor, which is only safe once this guard has proven them applied (or a baseline marker).
  const floorOf = f.catalog.schema_migration_floor;
  if (f.proven && floorOf) {
    const label = `schema below floor ${floorOf} complete`;
    const problems = belowFloorProblems({
      items: f.migrationItems,
      catalog: f.catalog,
      databases: dbs,
      ledgers: f.ledgers,
      markers: f.proven.markers,
    });
    if (problems.length === 0) {
      checks.push(
        pass('below-floor', label, dbs.length === 0 ? 'no DB-backed service' : `no gaps in ${dbs.join(', ')}`),
      );
    } else if (f.skipMigrationCheck) {
      warnings.push(`below-floor guard BYPASSED by --skip-migration-check`);
      checks.push({ id: 'below-floor', label, status: 'bypassed', detail: problems.join('\n') });
    } else {
      checks.push(
        refuse(
          'below-floor',
          label,
          problems.join('\n'),
          'upgrade through the last release below the floor first (it still applies the folded migrations)',
        ),
      );
    }
  }

  // Data-migration gate: the pre-deploy window (prior release lines only).
  const reqs = catalogRequirements(f.catalog, f.target);
  const inWindow = preDeployWindow(reqs, f.target);
  const blockers = preDeployBlockers(reqs, f.target, f.liveStates);
  if (inWindow.length === 0) {
    checks.push(pass('data-migrations', 'prior data migrations completed', noRequirementsMessage(f.catalog, f.target)));
  } else if (blockers.length === 0) {
    checks.push(pass('data-migrations', 'prior data migrations completed', formatPreDeploySuccess(inWindow.length)));
  } else if (f.skipDataMigrationCheck) {
    warnings.push(formatDataGateBypassed(`upgrade to ${f.target}`));
    checks.push({
      id: 'data-migrations',
      label: 'prior data migrations completed',
      status: 'bypassed',
      detail: formatPreDeployRefusal('the cluster', f.target, blockers),
    });
  } else {
    checks.push(
      refuse(
        'data-migrations',
        'prior data migrations completed',
        formatPreDeployRefusal(f.services.length === 1 ? f.services[0]! : 'the cluster', f.target, blockers),
        [
          ...new Set(
            blockers.map((b) => `frameworks cluster data-migrate run ${b.requirement.service}.${b.requirement.id}`),
          ),
        ].join('; '),
      ),
    );
  }
  return { checks, warnings };
}

function floorAndStopChecks(f: UpgradeGateFacts, detected: DetectedVersion[], checks: GateCheck[], proof = ''): void {
  const floor = checkCompatibilityFloor(f.catalog, f.target, detected);
  checks.push(
    floor.ok
      ? pass('compatibility-floor', 'compatibility floor', `every detected version is at or above it${proof}`)
      : refuse('compatibility-floor', 'compatibility floor', floor.reason, floor.fix),
  );
  const stops = checkRequiredStops(f.catalog, f.target, detected);
  checks.push(
    stops.ok
      ? pass('required-stop', 'required stops', `no required stop between detected versions and the target${proof}`)
      : refuse('required-stop', 'required stops', stops.reason, stops.fix),
  );
}

/** Floor, stops and downgrades judged on the release line each replica is proven to be on (replica-lines.ts). */
function provenLineChecks(
  f: UpgradeGateFacts,
  proven: NonNullable<UpgradeGateFacts['proven']>,
  checks: GateCheck[],
  warnings: string[],
): void {
  const judged = judgeReplicas({ target: f.target, targets: f.targets, detections: f.detections, pins: proven.pins });
  const evidence = judged.lines.map(describeLine).join('\n');
  const label = 'release line of every replica proven';
  if (judged.unknown.length === 0) {
    checks.push(pass('replica-lines', label, evidence || 'no replica detected'));
  } else if (proven.allowUnknownVersion) {
    warnings.push(
      `the release line of ${judged.unknown.map((u) => `${u.service} on ${u.host}`).join(', ')} is unknown; ` +
        `floor, stop and downgrade checks for it BYPASSED by ${ALLOW_UNKNOWN_FLAG}`,
    );
    checks.push({ id: 'replica-lines', label, status: 'bypassed', detail: evidence });
  } else {
    checks.push(
      refuse(
        'replica-lines',
        label,
        `cannot tell which release ${judged.unknown.map((u) => `${u.service} on ${u.host}`).join(', ')} ` +
          `run(s), so the compatibility floor, required stops and downgrades cannot be checked:\n${evidence}`,
        `redeploy the replica at a released version, or pass ${ALLOW_UNKNOWN_FLAG} to accept the risk`,
      ),
    );
  }
  const known = judged.lines.filter((l): l is Exclude<ReplicaLine, { kind: 'unknown' }> => l.kind !== 'unknown');
  floorAndStopChecks(
    f,
    known.map((l) => ({
      service: l.service,
      host: l.host,
      version: l.line,
      evidence:
        l.kind === 'identity'
          ? `by content identity, pinned by ${l.pinnedBy.join(', ')}`
          : `by version label; ${l.why}`,
    })),
    checks,
    known.length > 0 ? ` (judged per replica, see "${label}")` : '',
  );
  const dLabel = 'no replica goes back to an older release';
  if (judged.downgrades.length === 0) {
    checks.push(pass('downgrade', dLabel, `no replica runs a release newer than ${f.target}`));
    return;
  }
  const list = judged.downgrades.map((d) => formatDowngrade(d, f.target)).join('\n');
  if (proven.allowDowngrade) {
    warnings.push(
      `downgrade of ${judged.downgrades.length} replica(s) to ${f.target} BYPASSED by ${ALLOW_DOWNGRADE_FLAG}`,
    );
    checks.push({ id: 'downgrade', label: dLabel, status: 'bypassed', detail: list });
  } else {
    checks.push(
      refuse(
        'downgrade',
        dLabel,
        list,
        `choose a release at or above what runs, or pass ${ALLOW_DOWNGRADE_FLAG} to go back on purpose`,
      ),
    );
  }
}
