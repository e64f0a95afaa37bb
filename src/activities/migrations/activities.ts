// Schema-migration activities: discovery, database facts, previews and apply. Each is idempotent: reads have
// no effects, and apply checks the ledger under the database lock before doing anything.
import { Context, heartbeat } from '@temporalio/activity';
import type { MigrationItem } from '../../contracts/migrations';
import type { LiveState } from '../../domain/data-migrations/gates';
import { formatLintProblem } from '../../domain/migrations/lint';
import { FailureType } from '../../errors';
import type { LoadedCluster } from '../cluster-config';
import { failure } from '../failures';
import { applyMigrationTo, applyStretchTo, type ApplyResult } from '../postgres/apply';
import { databaseTarget } from '../postgres/connect';
import { noMigrationsSource, requireMigrationsDir } from '../cluster-config';
import { readDatabaseState, readDataMigrationStatus, type DatabaseState } from '../postgres/state';
import { discoverMigrations, MigrationFileChangedError, readMigrationSql } from '../../config/migrations';

const PREVIEW_LINES = 4;

export function discoverFor(cluster: LoadedCluster): {
  items: MigrationItem[];
  problems: string[];
  unconfigured?: string;
} {
  // No implicit default: a cluster whose migrations source is not configured is refused with the fix, never
  // planned against some other tree's SQL (the orchestrator's own fixtures once were).
  if (!cluster.migrationsDir) return { items: [], problems: [], unconfigured: noMigrationsSource(cluster) };
  // Any database folder is accepted here (selection later keeps the cluster's own databases): a cluster that
  // runs only some of the platform's databases must not be refused over the others' files.
  const tree = discoverMigrations(cluster.migrationsDir);
  return { items: tree.items, problems: tree.problems.map(formatLintProblem) };
}

export async function databaseStatesFor(cluster: LoadedCluster, databases: string[]): Promise<DatabaseState[]> {
  return Promise.all(databases.map(async (db) => readDatabaseState(await databaseTarget(cluster, db))));
}

export async function dataMigrationStatesFor(
  cluster: LoadedCluster,
  requirements: { key: string; id: string; database: string | null }[],
): Promise<Record<string, LiveState>> {
  const out: Record<string, LiveState> = {};
  for (const r of requirements) {
    if (!r.database) {
      out[r.key] = { kind: 'fetch_error', error: 'no owning database declared in the catalog (service_databases)' };
    } else if (!(cluster.manifest.databases?.names ?? []).includes(r.database)) {
      out[r.key] = {
        kind: 'fetch_error',
        error: `owning database ${r.database} is not in cluster.yaml databases.names`,
      };
    } else {
      out[r.key] = await readDataMigrationStatus(await databaseTarget(cluster, r.database), r.id);
    }
  }
  return out;
}

/** First non-empty lines of each file, for dry-run and approval output. */
export function previewsFor(
  cluster: LoadedCluster,
  relPaths: string[],
  items: MigrationItem[],
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of relPaths) {
    const item = items.find((i) => i.relPath === p);
    if (!item) continue;
    const sql = readMigrationSql(requireMigrationsDir(cluster), item);
    out[p] = sql
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('--'))
      .slice(0, PREVIEW_LINES)
      .map((l) => (l.length > 160 ? `${l.slice(0, 157)}...` : l));
  }
  return out;
}

function readSqlFor(cluster: LoadedCluster, item: MigrationItem): string {
  try {
    return readMigrationSql(requireMigrationsDir(cluster), item);
  } catch (err) {
    if (err instanceof MigrationFileChangedError) throw failure(FailureType.ChecksumMismatch, err.message);
    throw err;
  }
}

function heartbeatIfActivity(): void {
  try {
    // A local activity has no heartbeat (Core keeps its workflow task alive instead, and warns on one).
    if (!Context.current().info.isLocal) heartbeat();
  } catch {
    // Outside an activity context (direct calls in tests) there is nobody to heartbeat to.
  }
}

export async function applyFor(cluster: LoadedCluster, item: MigrationItem, holder: string): Promise<ApplyResult> {
  const sql = readSqlFor(cluster, item);
  return applyMigrationTo(await databaseTarget(cluster, item.database), item, sql, holder, heartbeatIfActivity);
}

/**
 * A stretch of transactional migrations of one database on one connection (see `applyStretchTo`): the results
 * of the first n items, in order; the first item's failure is thrown, a later one's ends the stretch early.
 */
export async function applyStretchFor(
  cluster: LoadedCluster,
  items: MigrationItem[],
  holder: string,
  budgetMs: number,
): Promise<ApplyResult[]> {
  const database = items[0]?.database ?? '';
  return applyStretchTo(await databaseTarget(cluster, database), items, (item) => readSqlFor(cluster, item), holder, {
    budgetMs,
    heartbeat: heartbeatIfActivity,
  });
}
