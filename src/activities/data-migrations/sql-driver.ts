// The `sql` data-migration driver (SPEC §7): runs the named statements of a definition file against the owning
// database. Exactly-once lives here: one transaction locks the scope's run row, compares its checkpoint with
// the one the workflow last saw, runs one batch and advances checkpoint and counters, then commits. A retried
// or duplicated activity finds the checkpoint already moved and gets `stale` with the stored truth; one that
// raced in before the commit waits on the row lock and then sees the same. A batch that dies with its
// connection rolls back with it, so the stored checkpoint never runs ahead of the data or behind it.
import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import {
  WHOLE_JOB,
  ZERO_COUNTS,
  type Checkpoint,
  type Counts,
  type JobState,
  type RunBatchInput,
  type RunBatchResult,
  type Scope,
  type VerifyCheck,
} from '../../contracts/data-migrate';
import type { DataMigrationDefinition, DataStatement } from '../../domain/data-migrations/definition';
import { FailureType } from '../../errors';
import { failure } from '../failures';
import { isTransientPgError, redact, sqlState, withClient, type DatabaseTarget } from '../postgres/connect';
import { checkpointOf, readJobState, RUN_COLUMNS, scopeStateOf, type RunRow } from './state';

/** ApplicationFailure type of a batch refused because the job or scope is paused (never retried). */
export const DATA_MIGRATION_PAUSED = FailureType.DataMigrationPaused;

/** `checkpoint`: the stored one the batch started from (null = start); `nextCheckpoint`: where it would go. */
export interface DryRunResult {
  scope: Scope;
  checkpoint: Checkpoint | null;
  nextCheckpoint: Checkpoint | null;
  done: boolean;
  batch: Counts;
  durationMs: number;
}

const JSONB_OID = 3802;

function statementError(target: DatabaseTarget, def: DataMigrationDefinition, stmt: DataStatement, err: unknown) {
  if (isTransientPgError(err)) return err as Error; // the activity retry policy retries these
  const e = err as { message?: string; position?: string };
  // pg reports `position` as a 1-based character offset into the statement text it was sent.
  const offset = e.position ? Number(e.position) - 1 : 0;
  const line = stmt.line + (stmt.sql.slice(0, offset).match(/\n/g)?.length ?? 0);
  return failure(
    FailureType.MigrationFailed,
    redact(`${def.source}:${line}: ${stmt.name} statement failed: ${e.message ?? String(err)}`, target.secrets),
  );
}

function shapeError(def: DataMigrationDefinition, stmt: DataStatement, problem: string): Error {
  return failure(FailureType.MigrationFailed, `${def.source}:${stmt.line}: ${stmt.name} statement ${problem}`);
}

type Row = Record<string, unknown>;

async function run(
  client: pg.Client,
  target: DatabaseTarget,
  def: DataMigrationDefinition,
  stmt: DataStatement,
  params: unknown[],
) {
  try {
    return (await client.query<Row>(stmt.sql, params.slice(0, stmt.params))).rows;
  } catch (err) {
    throw statementError(target, def, stmt, err);
  }
}

/** Runs fn in a transaction that is always rolled back (READ ONLY when asked). */
async function rolledBack<T>(client: pg.Client, readOnly: boolean, fn: () => Promise<T>): Promise<T> {
  await client.query(readOnly ? 'BEGIN TRANSACTION READ ONLY' : 'BEGIN');
  try {
    return await fn();
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}

function count(v: unknown): number | undefined {
  const s = typeof v === 'number' || typeof v === 'bigint' ? String(v) : v;
  return typeof s === 'string' && /^\d+$/.test(s) ? Number(s) : undefined;
}

/** Runs the batch statement and checks its one-row result. */
async function execBatch(client: pg.Client, target: DatabaseTarget, def: DataMigrationDefinition, params: unknown[]) {
  const rows = await run(client, target, def, def.batch, params);
  const row = rows[0];
  const expected = 'must return one row (next_checkpoint jsonb object, scanned, changed, skipped, errors ≥ 0, done)';
  if (rows.length !== 1 || !row) throw shapeError(def, def.batch, `${expected}; it returned ${rows.length} rows`);
  // jsonb arrives as text; a `json` column arrives parsed, and a `text` one may not be JSON at all.
  const next = typeof row.next_checkpoint === 'string' ? row.next_checkpoint : JSON.stringify(row.next_checkpoint);
  let parsed: unknown;
  try {
    parsed = JSON.parse(next ?? 'null');
  } catch {
    parsed = undefined;
  }
  const batch = { scanned: row.scanned, changed: row.changed, skipped: row.skipped, errors: row.errors };
  const counts = Object.fromEntries(Object.entries(batch).map(([k, v]) => [k, count(v)]));
  const bad = Object.entries(counts)
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) bad.push('next_checkpoint');
  if (typeof row.done !== 'boolean') bad.push('done');
  if (bad.length > 0) throw shapeError(def, def.batch, `${expected}; bad or missing: ${bad.join(', ')}`);
  return { next, done: row.done as boolean, batch: counts as Counts };
}

/** A run row read with jsonb left as text (see runBatch); `matches` is the compare-and-set test. */
type StoredRun = Omit<RunRow, 'checkpoint'> & { checkpoint: string };
type LockedRun = StoredRun & { matches: boolean };

function resultOf(outcome: RunBatchResult['outcome'], row: StoredRun, started: number, batch = ZERO_COUNTS) {
  const state = scopeStateOf({ ...row, checkpoint: JSON.parse(row.checkpoint) as Checkpoint });
  const done = state.status === 'completed';
  return { outcome, checkpoint: state.checkpoint, done, counts: state.counts, batch, durationMs: Date.now() - started };
}

/** Locks the scope's run row until COMMIT/ROLLBACK. */
async function lockRun(client: pg.Client, input: RunBatchInput): Promise<LockedRun | undefined> {
  try {
    const r = await client.query<LockedRun>(
      `SELECT ${RUN_COLUMNS}, checkpoint = $4::jsonb AS matches
         FROM _data_migration_runs WHERE id = $1 AND scope_kind = $2 AND scope_value = $3 FOR UPDATE`,
      [input.id, input.scope.kind, input.scope.value, JSON.stringify(input.expectedCheckpoint ?? {})],
    );
    return r.rows[0];
  } catch (err) {
    if (sqlState(err) === '42P01') return undefined;
    throw err;
  }
}

/** Applies one batch of one scope exactly once, guarded by compare-and-set on the checkpoint. */
export async function runBatch(
  target: DatabaseTarget,
  def: DataMigrationDefinition,
  input: RunBatchInput,
): Promise<RunBatchResult> {
  if (def.id !== input.id) {
    throw failure(FailureType.InvalidInput, `${def.source} defines data migration "${def.id}", not "${input.id}"`);
  }
  const started = Date.now();
  const { id, scope } = input;
  const key = [id, scope.kind, scope.value];
  return withClient(target, async (client) => {
    // Checkpoints stay text end to end, so a stored value is written back exactly as the batch produced it.
    client.setTypeParser(JSONB_OID, 'text', (v: string) => v);
    await client.query('BEGIN');
    try {
      const row = await lockRun(client, input);
      if (!row) {
        throw failure(
          FailureType.InvalidInput,
          `${id}: no run row for scope "${scope.kind}/${scope.value}"; prepare the job first`,
        );
      }
      // Read after taking the row lock: a pause that committed meanwhile is visible (READ COMMITTED).
      const job = await client.query<{ status: string }>('SELECT status FROM _data_migrations WHERE id = $1', [id]);
      if (row.status === 'completed') {
        await client.query('ROLLBACK');
        return resultOf('done', row, started);
      }
      if (row.status === 'paused' || job.rows[0]?.status === 'paused') {
        throw ApplicationFailure.create({
          type: DATA_MIGRATION_PAUSED,
          nonRetryable: true,
          message: `${id} is paused; resume it (frameworks cluster data-migrate resume ${id}) before running batches`,
        });
      }
      if (!row.matches) {
        await client.query('ROLLBACK');
        return resultOf('stale', row, started);
      }
      const out = await execBatch(client, target, def, [row.checkpoint, input.batchSize, scope.kind, scope.value]);
      // The WHERE refuses a checkpoint that did not move on a batch that is not the last: the compare-and-set
      // could not tell a repeated batch from a new one, and the loop would never end.
      // attempt_count counts (re)starts of the scope: pending, failed or resumed → running.
      const updated = await client.query<StoredRun>(
        `UPDATE _data_migration_runs SET
           checkpoint = $4::jsonb,
           scanned_count = scanned_count + $5, changed_count = changed_count + $6,
           skipped_count = skipped_count + $7, error_count = error_count + $8,
           attempt_count = attempt_count + CASE WHEN status = 'running' THEN 0 ELSE 1 END,
           status = CASE WHEN $9::boolean THEN 'completed' ELSE 'running' END,
           started_at = COALESCE(started_at, NOW()),
           completed_at = CASE WHEN $9::boolean THEN NOW() ELSE completed_at END,
           updated_at = NOW()
         WHERE id = $1 AND scope_kind = $2 AND scope_value = $3 AND ($9::boolean OR checkpoint <> $4::jsonb)
         RETURNING ${RUN_COLUMNS}`,
        [...key, out.next, out.batch.scanned, out.batch.changed, out.batch.skipped, out.batch.errors, out.done],
      );
      if (!updated.rows[0]) {
        throw shapeError(def, def.batch, `returned the checkpoint it was given (${out.next}) without done = true`);
      }
      await client.query('COMMIT');
      return resultOf('applied', updated.rows[0], started, out.batch);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (err instanceof ApplicationFailure && err.type === FailureType.MigrationFailed) {
        // Recorded for status and doctor; the workflow decides what happens to the job.
        await client
          .query(
            `UPDATE _data_migration_runs SET status = 'failed', last_error = $4, updated_at = NOW()
              WHERE id = $1 AND scope_kind = $2 AND scope_value = $3 AND status <> 'completed'`,
            [...key, err.message],
          )
          .catch(() => {});
      }
      throw err;
    }
  });
}

/** One batch from the stored checkpoint in a transaction that is always rolled back; writes nothing. */
export async function dryRunBatch(
  target: DatabaseTarget,
  def: DataMigrationDefinition,
  scope: Scope,
  batchSize: number,
): Promise<DryRunResult> {
  const started = Date.now();
  return withClient(target, async (client) => {
    client.setTypeParser(JSONB_OID, 'text', (v: string) => v);
    let stored = '{}';
    try {
      const r = await client.query<{ checkpoint: string }>(
        'SELECT checkpoint FROM _data_migration_runs WHERE id = $1 AND scope_kind = $2 AND scope_value = $3',
        [def.id, scope.kind, scope.value],
      );
      stored = r.rows[0]?.checkpoint ?? '{}';
    } catch (err) {
      if (sqlState(err) !== '42P01') throw err; // no state tables yet: the job starts from the beginning
    }
    const out = await rolledBack(client, false, () =>
      execBatch(client, target, def, [stored, batchSize, scope.kind, scope.value]),
    );
    return {
      scope,
      checkpoint: checkpointOf(JSON.parse(stored) as Checkpoint),
      nextCheckpoint: checkpointOf(JSON.parse(out.next) as Checkpoint),
      done: out.done,
      batch: out.batch,
      durationMs: Date.now() - started,
    };
  });
}

/** One statement in a READ ONLY transaction that is rolled back. */
async function readOnly(target: DatabaseTarget, def: DataMigrationDefinition, stmt: DataStatement, params: unknown[]) {
  return withClient(target, (client) => rolledBack(client, true, () => run(client, target, def, stmt, params)));
}

/** The scopes to run: the `scopes` statement's rows, or the whole job when there is none. */
export async function discoverScopes(target: DatabaseTarget, def: DataMigrationDefinition): Promise<Scope[]> {
  const stmt = def.scopes;
  if (!stmt) return [WHOLE_JOB];
  const scopes: Scope[] = [];
  const seen = new Set<string>();
  for (const row of await readOnly(target, def, stmt, [])) {
    if (typeof row.kind !== 'string' || row.kind === '' || typeof row.value !== 'string') {
      throw shapeError(def, stmt, `must return rows (kind text non-empty, value text); got ${JSON.stringify(row)}`);
    }
    const k = JSON.stringify([row.kind, row.value]);
    if (seen.has(k)) throw shapeError(def, stmt, `returned scope ${row.kind}/${row.value} twice`);
    seen.add(k);
    scopes.push({ kind: row.kind, value: row.value });
  }
  // Reference §5.4: a partitioned job with no partitions refuses rather than completing with no runs.
  if (scopes.length === 0) throw shapeError(def, stmt, 'returned no scopes: there is nothing to run');
  return scopes;
}

/** Rows the scope will scan, from the optional `estimate` statement (null without one). */
export async function estimateTotal(target: DatabaseTarget, def: DataMigrationDefinition, scope: Scope) {
  const stmt = def.estimate;
  if (!stmt) return null;
  const rows = await readOnly(target, def, stmt, ['{}', null, scope.kind, scope.value]);
  const total = rows.length === 1 ? count(rows[0]!.total) : undefined;
  if (total === undefined) throw shapeError(def, stmt, 'must return one row with total bigint ≥ 0');
  return total;
}

/** The `verify` checks, read-only, in a transaction that is rolled back. */
export async function verify(target: DatabaseTarget, def: DataMigrationDefinition): Promise<VerifyCheck[]> {
  const scalar = (v: unknown): string | null =>
    typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
  return (await readOnly(target, def, def.verify, [])).map((row) => {
    if (typeof row.name !== 'string' || !('expected' in row) || !('actual' in row)) {
      throw shapeError(def, def.verify, `must return rows (name, expected, actual text); got ${JSON.stringify(row)}`);
    }
    const expected = scalar(row.expected);
    const actual = scalar(row.actual);
    // NULL equals nothing in SQL; a check that cannot say what it found does not pass.
    const ok = expected !== null && expected === actual;
    return { name: row.name, expected: expected ?? 'NULL', actual: actual ?? 'NULL', ok };
  });
}

export async function readStatus(target: DatabaseTarget, id: string): Promise<JobState> {
  return withClient(target, (client) => readJobState(client, id));
}
