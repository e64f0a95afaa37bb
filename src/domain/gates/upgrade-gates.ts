// Every gate of SPEC §6 that needs the live cluster, decided purely from facts the workflow gathered: what
// runs on each host, each database's ledger, data-migration states. Added to the plan's own checks (catalog,
// target declared, orchestrator floor, transitions, artifacts). Anything that cannot be proven refuses.
import type { ReleaseCatalog, ServiceDefinitions } from '../../contracts/catalog';
import type { LedgerRead, MigrationItem } from '../../contracts/migrations';
import type { GateCheck, ServiceTarget } from '../../contracts/plan';
import type { HostDetection } from '../../contracts/upgrade';
import { artifactPinProblems } from '../artifacts';
import { checkCompatibilityFloor, checkRequiredStops, serviceDatabase } from '../catalog';
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
import { checkSchemaGate } from '../migrations/schema-gate';

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

  const detected = f.services.flatMap((s) =>
    (f.detections[s] ?? [])
      .filter((d) => d.present && d.version)
      .map((d) => ({ service: s, host: d.host, version: d.version! })),
  );
  const floor = checkCompatibilityFloor(f.catalog, f.target, detected);
  checks.push(
    floor.ok
      ? pass('compatibility-floor', 'compatibility floor', 'every detected version is at or above it')
      : refuse('compatibility-floor', 'compatibility floor', floor.reason, floor.fix),
  );
  const stops = checkRequiredStops(f.catalog, f.target, detected);
  checks.push(
    stops.ok
      ? pass('required-stop', 'required stops', 'no required stop between detected versions and the target')
      : refuse('required-stop', 'required stops', stops.reason, stops.fix),
  );

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
