// What `migrate --phase P --to-version T` will do, decided purely from facts the workflow gathered: the
// migration files, the catalog, each database's ledger and baseline marker, and data-migration states. Every
// refusal is a GateCheck naming what was checked, what was found and the fixing command; nothing is applied
// unless every check passes.
import type { CatalogLoadResult } from '../../contracts/catalog-load';
import type { DataMigrationRequirement } from '../../contracts/catalog';
import type { LedgerRead, MigrationItem, Phase } from '../../contracts/migrations';
import type { GateCheck } from '../../contracts/plan';
import { serviceDatabase } from '../catalog';
import {
  catalogRequirements,
  formatDataGateBypassed,
  formatPhaseRefusal,
  formatPhaseSuccess,
  noRequirementsMessage,
  prePhaseBlockers,
  prePhaseWindow,
  requirementKey,
  type LiveState,
} from '../data-migrations/gates';
import { belowFloorGaps, expectedBelowFloor, formatBelowFloorRefusal, formatFloorReadFailure } from './floor-guard';
import { checksumMismatches, pendingAgainstLedger, selectMigrations, sortMigrations } from './layout';

export interface DatabaseFacts {
  database: string;
  ledger: LedgerRead;
  marker: { state: 'ok'; marker: string } | { state: 'error'; error: string };
}

export interface MigratePlanInput {
  phase: Phase;
  target: string;
  databases: string[];
  catalog: CatalogLoadResult;
  items: MigrationItem[];
  /** Layout/discovery problems, already formatted `file:line: message`. */
  fileProblems: string[];
  /** Set when the cluster has no migrations source configured: the fix to print. */
  unconfigured?: string;
  facts: DatabaseFacts[];
  liveStates: Record<string, LiveState>;
  approved: boolean;
  skipDataMigrationCheck: boolean;
}

export interface MigratePlan {
  checks: GateCheck[];
  refused: boolean;
  pending: MigrationItem[];
  alreadyApplied: number;
  warnings: string[];
}

/** Which data-migration requirements the phase gate needs live state for, with their owning database. */
export function phaseGateRequirements(
  catalog: CatalogLoadResult,
  phase: Phase,
  target: string,
): { requirement: DataMigrationRequirement; key: string; database?: string }[] {
  if (!catalog.ok || phase === 'expand') return [];
  return prePhaseWindow(catalogRequirements(catalog.catalog, target), phase, target).map((requirement) => {
    const owner = serviceDatabase(catalog.catalog, requirement.service);
    return { requirement, key: requirementKey(requirement), ...(owner.declared ? { database: owner.database } : {}) };
  });
}

export function planSchemaMigration(input: MigratePlanInput): MigratePlan {
  const checks: GateCheck[] = [];
  const warnings: string[] = [];
  const refusedPlan = (): MigratePlan => ({ checks, refused: true, pending: [], alreadyApplied: 0, warnings });
  const { catalog, phase, target } = input;

  if (!catalog.ok) {
    checks.push({
      id: 'catalog-loads',
      label: 'release catalog loads',
      status: 'refuse',
      detail: `release catalog failed to load: ${catalog.error}`,
      fix: `fix or restore the catalog in ${catalog.source}`,
    });
    return refusedPlan();
  }
  checks.push({
    id: 'catalog-loads',
    label: 'release catalog loads',
    status: 'pass',
    detail: `loaded from ${catalog.source}`,
  });

  if (input.unconfigured) {
    checks.push({
      id: 'migrations-source',
      label: 'migrations source configured',
      status: 'refuse',
      detail: input.unconfigured,
      fix: 'set migrations_dir in orchestrator.yaml beside the cluster manifest, then restart the worker',
    });
    return refusedPlan();
  }
  if (input.fileProblems.length > 0) {
    checks.push({
      id: 'migration-files',
      label: 'migration files are well-formed',
      status: 'refuse',
      detail: input.fileProblems.join('\n'),
      fix: 'frameworks cluster migrate validate',
    });
    return refusedPlan();
  }

  const selected = selectMigrations(input.items, {
    phase,
    target,
    databases: input.databases,
    ...(catalog.catalog.schema_migration_floor ? { floor: catalog.catalog.schema_migration_floor } : {}),
  });
  const facts = new Map(input.facts.map((f) => [f.database, f]));

  // Fail closed: a ledger we cannot read is not an empty ledger.
  const unreadable = input.facts.filter((f) => f.ledger.state === 'error');
  if (unreadable.length > 0) {
    checks.push({
      id: 'ledger-read',
      label: 'migration ledgers readable',
      status: 'refuse',
      detail: unreadable.map((f) => `${f.database}: ${f.ledger.state === 'error' ? f.ledger.error : ''}`).join('\n'),
      fix: 'check the worker can reach the database (FRAMEWORKS_DATABASE_URL / databases.url_env) and that it exists',
    });
    return refusedPlan();
  }
  const rowsOf = (db: string) => {
    const l = facts.get(db)?.ledger;
    return l && l.state === 'ok' ? l.rows : [];
  };

  const mismatches = input.databases.flatMap((db) =>
    checksumMismatches(
      selected.filter((i) => i.database === db),
      rowsOf(db),
    ),
  );
  if (mismatches.length > 0) {
    checks.push({
      id: 'checksums',
      label: 'applied migrations unchanged',
      status: 'refuse',
      detail: mismatches.map((m) => m.message).join('\n'),
      fix: 'restore the edited files from the release (git checkout) and put changes in new migrations',
    });
    return refusedPlan();
  }
  checks.push({
    id: 'checksums',
    label: 'applied migrations unchanged',
    status: 'pass',
    detail: 'no edited migration',
  });

  const floor = catalog.catalog.schema_migration_floor;
  if (floor) {
    const expected = expectedBelowFloor(input.items, catalog.catalog, {
      engine: 'postgres',
      databases: input.databases,
    });
    const problems: string[] = [];
    for (const db of input.databases) {
      const f = facts.get(db);
      if (!f || f.marker.state === 'error') {
        problems.push(
          formatFloorReadFailure('postgres', db, f?.marker.state === 'error' ? f.marker.error : 'not read'),
        );
        continue;
      }
      const r = belowFloorGaps({
        floor,
        marker: f.marker.marker,
        expectedBelowFloor: expected.filter((e) => e.database === db),
        rows: rowsOf(db),
      });
      if ('error' in r) problems.push(`${db}: ${r.error}`);
      else if (r.gaps.length > 0) problems.push(formatBelowFloorRefusal({ engine: 'postgres', floor, gaps: r.gaps }));
    }
    if (problems.length > 0) {
      checks.push({
        id: 'below-floor',
        label: `schema below floor ${floor} complete`,
        status: 'refuse',
        detail: problems.join('\n'),
      });
      return refusedPlan();
    }
    checks.push({
      id: 'below-floor',
      label: `schema below floor ${floor} complete`,
      status: 'pass',
      detail: 'no gaps',
    });
  }

  if (phase !== 'expand') {
    const reqs = catalogRequirements(catalog.catalog, target);
    const inWindow = prePhaseWindow(reqs, phase, target);
    const blockers = prePhaseBlockers(reqs, phase, target, input.liveStates);
    if (inWindow.length === 0) {
      checks.push({
        id: 'data-migrations',
        label: `data migrations before ${phase}`,
        status: 'pass',
        detail: noRequirementsMessage(catalog.catalog, target),
      });
    } else if (blockers.length === 0) {
      checks.push({
        id: 'data-migrations',
        label: `data migrations before ${phase}`,
        status: 'pass',
        detail: formatPhaseSuccess(inWindow.length, phase),
      });
    } else if (input.skipDataMigrationCheck) {
      warnings.push(formatDataGateBypassed(`migrate --phase ${phase}`));
      checks.push({
        id: 'data-migrations',
        label: `data migrations before ${phase}`,
        status: 'bypassed',
        detail: formatPhaseRefusal(phase, blockers),
      });
    } else {
      checks.push({
        id: 'data-migrations',
        label: `data migrations before ${phase}`,
        status: 'refuse',
        detail: formatPhaseRefusal(phase, blockers),
        fix: [
          ...new Set(blockers.map((b) => `frameworks cluster data-migrate run ${requirementKey(b.requirement)}`)),
        ].join('; '),
      });
      return refusedPlan();
    }
  }

  if (phase === 'contract' && !input.approved) {
    checks.push({
      id: 'contract-approval',
      label: 'contract approved explicitly',
      status: 'refuse',
      detail: 'contract drops old columns and tables; it is not a normal rollback point and runs only with --yes',
      fix: `frameworks cluster migrate --phase contract --to-version ${target} --yes`,
    });
    return refusedPlan();
  }

  const pending = sortMigrations(
    input.databases.flatMap((db) =>
      pendingAgainstLedger(
        selected.filter((i) => i.database === db),
        rowsOf(db),
      ),
    ),
  );
  return { checks, refused: false, pending, alreadyApplied: selected.length - pending.length, warnings };
}
