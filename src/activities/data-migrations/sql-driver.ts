// The `sql` data-migration driver (SPEC §7): runs the named statements of a definition file against the owning
// database. Exactly-once lives here: one transaction locks the scope's run row, compares its checkpoint with
// the one the workflow last saw, runs one batch and advances checkpoint and counters, then commits. A retried
// or duplicated activity finds the checkpoint already moved and gets `stale` with the stored truth; one that
// raced in before the commit waits on the row lock and then sees the same. A batch that dies with its
// connection rolls back with it, so the stored checkpoint never runs ahead of the data or behind it.
import { ApplicationFailure } from '@temporalio/activity';
import pg from 'pg';
import {
  WHOLE_JOB,
  ZERO_COUNTS,
  type BatchProgress,
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
import { activitySignal } from '../heartbeat';
import { sqlState, withPooledClient, type DatabaseTarget } from '../postgres/connect';
import {
  checkpointOf,
  ensureRunColumns,
  pausedFailure,
  readJobState,
  RUN_COLUMNS,
  scopeStateOf,
  type RunRow,
} from './state';
import { shapeError, TEXT_JSONB, run, rolledBack, count } from './sql-exec';
/** `checkpoint`: the stored one the batch started from (null = start); `nextCheckpoint`: where it would go. */
export interface DryRunResult {
  scope: Scope;
  checkpoint: Checkpoint | null;
  nextCheckpoint: Checkpoint | null;
  done: boolean;
  batch: Counts;
  durationMs: number;
}

/** Runs the batch statement and checks its one-row result. */
async function execBatch(
  client: pg.ClientBase,
  target: DatabaseTarget,
  def: DataMigrationDefinition,
  params: unknown[],
) {
  const rows = await run(client, target, def, def.batch, params, TEXT_JSONB);
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

/** A run row read with jsonb left as text (see TEXT_JSONB); `matches` is the compare-and-set test. */
type StoredRun = Omit<RunRow, 'checkpoint'> & { checkpoint: string };
type LockedRun = StoredRun & { matches: boolean; matchesResume: boolean };

async function textQuery<R extends pg.QueryResultRow>(client: pg.ClientBase, text: string, values: unknown[]) {
  return client.query<R>({ text, values, types: TEXT_JSONB });
}

function resultOf(
  outcome: RunBatchResult['outcome'],
  row: StoredRun,
  started: number,
  batch = ZERO_COUNTS,
  batches?: number,
): RunBatchResult {
  const state = scopeStateOf({ ...row, checkpoint: JSON.parse(row.checkpoint) as Checkpoint });
  const done = state.status === 'completed';
  return {
    outcome,
    checkpoint: state.checkpoint,
    done,
    counts: state.counts,
    batch,
    ...(batches === undefined ? {} : { batches }),
    ...(state.batches === undefined ? {} : { scopeBatches: state.batches }),
    durationMs: Date.now() - started,
  };
}

/**
 * Locks the scope's run row until COMMIT/ROLLBACK. `matches`: the stored checkpoint is `expected`;
 * `matchesResume`: it is `resume` (a checkpoint this activity committed in an earlier attempt).
 */
async function lockRun(
  client: pg.ClientBase,
  input: RunBatchInput,
  expected: string,
  resume: string | null,
): Promise<LockedRun | undefined> {
  try {
    const r = await textQuery<LockedRun>(
      client,
      `SELECT ${RUN_COLUMNS}, checkpoint = $4::jsonb AS matches,
              COALESCE(checkpoint = $5::jsonb, false) AS "matchesResume"
         FROM _data_migration_runs WHERE id = $1 AND scope_kind = $2 AND scope_value = $3 FOR UPDATE`,
      [input.id, input.scope.kind, input.scope.value, expected, resume],
    );
    return r.rows[0];
  } catch (err) {
    if (sqlState(err) === '42P01') return undefined;
    throw err;
  }
}

function addCounts(a: Counts, b: Counts): Counts {
  return {
    scanned: a.scanned + b.scanned,
    changed: a.changed + b.changed,
    skipped: a.skipped + b.skipped,
    errors: a.errors + b.errors,
  };
}

export interface BatchLoopOptions {
  /** From the heartbeat details of an earlier attempt of the same activity: what it committed. */
  resume?: BatchProgress;
  /** After every commit (the activity heartbeats it). */
  onProgress?: (p: BatchProgress) => void;
  /** Checked before every batch (the activity's cancellation): true ends the loop as if the budget ran out. */
  shouldStop?: () => boolean;
}

/**
 * Applies batches of one scope exactly once each, guarded by compare-and-set on the checkpoint, on one pooled
 * connection. Every batch is its own transaction: lock the run row, read the job status (after the lock, so a
 * pause that committed meanwhile is seen), compare, run the batch statement, advance checkpoint and counters,
 * COMMIT. Without `input.timeBudgetMs` exactly one batch runs (outcome applied/stale/done; a paused job throws
 * DataMigrationPaused). With it, batches continue until the budget is spent, the scope is done, or the job is
 * paused — each stop is an outcome, not an error.
 *
 * Retries: the compare-and-set expects `input.expectedCheckpoint`, or for the first batch of an attempt the
 * checkpoint `opts.resume` says an earlier attempt of this same activity committed (its heartbeat). A stored
 * checkpoint that is neither means someone else moved it (or the heartbeat was lost): nothing runs and the
 * stored truth is returned as `stale`, so the workflow continues from it. No path runs a batch from a
 * checkpoint other than the stored one, so no batch can apply twice.
 */
export async function runBatches(
  target: DatabaseTarget,
  def: DataMigrationDefinition,
  input: RunBatchInput,
  opts: BatchLoopOptions = {},
): Promise<RunBatchResult> {
  if (def.id !== input.id) {
    throw failure(FailureType.InvalidInput, `${def.source} defines data migration "${def.id}", not "${input.id}"`);
  }
  const started = Date.now();
  const loop = input.timeBudgetMs !== undefined;
  const budget = input.timeBudgetMs ?? 0;
  const { id, scope } = input;
  const key = [id, scope.kind, scope.value];
  let expected = JSON.stringify(input.expectedCheckpoint ?? {});
  let resume: string | null = opts.resume ? JSON.stringify(opts.resume.checkpoint ?? {}) : null;
  let batches = loop ? (opts.resume?.batches ?? 0) : 0;
  let total = loop && opts.resume ? opts.resume.batch : ZERO_COUNTS;
  return withPooledClient(
    target,
    async (client) => {
      // A run prepared by an older release has no batch_count column yet (additive; a no-op once there).
      await ensureRunColumns(client);
      for (;;) {
        await client.query('BEGIN');
        let last: StoredRun;
        let out: Awaited<ReturnType<typeof execBatch>>;
        try {
          const row = await lockRun(client, input, expected, resume);
          if (!row) {
            throw failure(
              FailureType.InvalidInput,
              `${id}: no run row for scope "${scope.kind}/${scope.value}"; prepare the job first`,
            );
          }
          const job = await client.query<{ status: string }>('SELECT status FROM _data_migrations WHERE id = $1', [id]);
          if (row.status === 'completed') {
            await client.query('ROLLBACK');
            return resultOf('done', row, started, total, loop ? batches : undefined);
          }
          if (row.status === 'paused' || job.rows[0]?.status === 'paused') {
            if (!loop) throw pausedFailure(input.service, id);
            await client.query('ROLLBACK');
            return resultOf('paused', row, started, total, batches);
          }
          if (!row.matches && !row.matchesResume) {
            await client.query('ROLLBACK');
            return resultOf('stale', row, started, total, loop ? batches : undefined);
          }
          out = await execBatch(client, target, def, [row.checkpoint, input.batchSize, scope.kind, scope.value]);
          // The WHERE refuses a checkpoint that did not move on a batch that is not the last: the compare-and-set
          // could not tell a repeated batch from a new one, and the loop would never end.
          // attempt_count counts (re)starts of the scope: pending, failed or resumed → running. batch_count
          // advances here, with the batch's rows, so it stays exact whatever happens to this activity after COMMIT.
          const updated = await textQuery<StoredRun>(
            client,
            `UPDATE _data_migration_runs SET
               checkpoint = $4::jsonb,
               scanned_count = scanned_count + $5, changed_count = changed_count + $6,
               skipped_count = skipped_count + $7, error_count = error_count + $8,
               batch_count = batch_count + 1,
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
          last = updated.rows[0];
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
        batches += 1;
        total = addCounts(total, out.batch);
        if (!loop) return resultOf('applied', last, started, out.batch);
        // From here on only our own last commit is expected; the resume token served the first batch.
        expected = last.checkpoint;
        resume = null;
        const result = resultOf(out.done ? 'done' : 'budget', last, started, total, batches);
        opts.onProgress?.({ checkpoint: result.checkpoint, batches, batch: total });
        if (out.done || Date.now() - started >= budget || opts.shouldStop?.()) return result;
      }
    },
    { reset: true },
  );
}

/** Applies one batch of one scope exactly once, guarded by compare-and-set on the checkpoint. */
export async function runBatch(
  target: DatabaseTarget,
  def: DataMigrationDefinition,
  input: RunBatchInput,
): Promise<RunBatchResult> {
  const { timeBudgetMs: _ignored, ...one } = input;
  return runBatches(target, def, one);
}

/** One batch from the stored checkpoint in a transaction that is always rolled back; writes nothing. */
export async function dryRunBatch(
  target: DatabaseTarget,
  def: DataMigrationDefinition,
  scope: Scope,
  batchSize: number,
): Promise<DryRunResult> {
  const started = Date.now();
  return withPooledClient(
    target,
    async (client) => {
      let stored = '{}';
      try {
        const r = await textQuery<{ checkpoint: string }>(
          client,
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
    },
    // Cancelling the dry run (the activity's cancellation) cancels its query on the server.
    { reset: true, signal: activitySignal() },
  );
}

/**
 * One statement in a READ ONLY transaction that is rolled back. Cancelling the activity (verify, scope discovery,
 * estimate) cancels the statement on the server: a read has nothing to finish.
 */
async function readOnly(target: DatabaseTarget, def: DataMigrationDefinition, stmt: DataStatement, params: unknown[]) {
  return withPooledClient(target, (client) => rolledBack(client, true, () => run(client, target, def, stmt, params)), {
    reset: true,
    signal: activitySignal(),
  });
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
  return withPooledClient(target, (client) => readJobState(client, id));
}
