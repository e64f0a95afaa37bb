// Data-migration state in the owning database (reference §5.1): `_data_migrations` (one row per job) and
// `_data_migration_runs` (one row per scope), the same tables services, gates and doctor read. Status
// transitions follow reference §5.4. Every transition runs in one transaction holding the job row, so a
// pause and a batch (which locks its run row, then reads the job) serialise: a pause lands between batches.
//
// The lease columns exist for compatibility with service-side runners; the Temporal workflow does not use
// them (one workflow id per job plus the checkpoint compare-and-set give the exclusivity a lease gave).
import type pg from 'pg';
import type { Checkpoint, DataMigrationStatus, JobState, Scope, ScopeState } from '../../contracts/data-migrate';
import { FailureType } from '../../errors';
import { failure } from '../failures';
import { sqlState } from '../postgres/connect';

const CREATE_JOBS = `
CREATE TABLE IF NOT EXISTS _data_migrations (
  id              TEXT PRIMARY KEY,
  release_version TEXT NOT NULL,
  status          TEXT NOT NULL,
  started_at      TIMESTAMPTZ,
  completed_at    TIMESTAMPTZ,
  last_error      TEXT,
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT NOW()
)`;

const CREATE_RUNS = `
CREATE TABLE IF NOT EXISTS _data_migration_runs (
  id               TEXT NOT NULL REFERENCES _data_migrations(id),
  scope_kind       TEXT NOT NULL DEFAULT '',
  scope_value      TEXT NOT NULL DEFAULT '',
  status           TEXT NOT NULL,
  checkpoint       JSONB NOT NULL DEFAULT '{}',
  lease_owner      TEXT,
  lease_expires_at TIMESTAMPTZ,
  attempt_count    INT NOT NULL DEFAULT 0,
  scanned_count    BIGINT NOT NULL DEFAULT 0,
  changed_count    BIGINT NOT NULL DEFAULT 0,
  skipped_count    BIGINT NOT NULL DEFAULT 0,
  error_count      BIGINT NOT NULL DEFAULT 0,
  batch_count      BIGINT NOT NULL DEFAULT 0,
  last_error       TEXT,
  started_at       TIMESTAMPTZ,
  completed_at     TIMESTAMPTZ,
  updated_at       TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  PRIMARY KEY (id, scope_kind, scope_value)
)`;

/**
 * Columns added after the first release of the tables, each additive with a constant default (no rewrite,
 * existing rows read the default). `batch_count`: batches committed for the scope, advanced in the batch's own
 * transaction (rows written before the column existed are not counted).
 */
const ADDED_RUN_COLUMNS: readonly { name: string; ddl: string }[] = [
  {
    name: 'batch_count',
    ddl: 'ALTER TABLE _data_migration_runs ADD COLUMN IF NOT EXISTS batch_count BIGINT NOT NULL DEFAULT 0',
  },
];

export async function ensureStateTables(client: pg.ClientBase): Promise<void> {
  for (const ddl of [CREATE_JOBS, CREATE_RUNS]) {
    try {
      await client.query(ddl);
    } catch (err) {
      // Two sessions racing CREATE TABLE IF NOT EXISTS can both pass the existence check; the loser fails on
      // the catalog's unique index. The table exists by then, so once more is a no-op.
      if (sqlState(err) !== '23505' && sqlState(err) !== '42P07') throw err;
      await client.query(ddl);
    }
  }
  await ensureRunColumns(client);
}

/**
 * Adds the columns a table created by an older release lacks. Looked up first: ALTER TABLE takes an ACCESS
 * EXCLUSIVE lock even when IF NOT EXISTS finds the column, which would queue behind (and block) running batches.
 */
export async function ensureRunColumns(client: pg.ClientBase): Promise<void> {
  const r = await client.query<{ attname: string }>(
    `SELECT attname FROM pg_attribute
      WHERE attrelid = to_regclass('_data_migration_runs') AND attnum > 0 AND NOT attisdropped`,
  );
  const present = new Set(r.rows.map((x) => x.attname));
  if (present.size === 0) return; // no table (yet): CREATE_RUNS has every column
  for (const col of ADDED_RUN_COLUMNS) {
    if (present.has(col.name)) continue;
    try {
      await client.query(col.ddl);
    } catch (err) {
      // Two sessions adding the same column: the loser may fail on the catalog's unique index; it exists now.
      if (sqlState(err) !== '23505' && sqlState(err) !== '42701') throw err;
    }
  }
}

export interface RunRow {
  scope_kind: string;
  scope_value: string;
  status: DataMigrationStatus;
  checkpoint: Checkpoint;
  attempt_count: number;
  scanned_count: string;
  changed_count: string;
  skipped_count: string;
  error_count: string;
  /** Null when the table predates the column (a read never alters the table). */
  batch_count: string | null;
  last_error: string | null;
}

/** The run row's columns, for a table that has every column (the batch paths ensure it first). */
export const RUN_COLUMNS =
  'scope_kind, scope_value, status, checkpoint, attempt_count, scanned_count, changed_count, skipped_count, ' +
  'error_count, batch_count, last_error';

/** The same for read-only paths (status, gates, doctor), which also read tables an older release created. */
const READ_RUN_COLUMNS =
  'scope_kind, scope_value, status, checkpoint, attempt_count, scanned_count, changed_count, skipped_count, ' +
  "error_count, to_jsonb(r) ->> 'batch_count' AS batch_count, last_error";

/** The stored '{}' means "not started", which the workflow and RunBatchInput spell as null. */
export function checkpointOf(stored: Checkpoint): Checkpoint | null {
  return Object.keys(stored).length === 0 ? null : stored;
}

export function scopeStateOf(row: RunRow): ScopeState {
  return {
    scope: { kind: row.scope_kind, value: row.scope_value },
    status: row.status,
    checkpoint: checkpointOf(row.checkpoint),
    // BIGINT arrives as a string; counts stay far below 2^53.
    counts: {
      scanned: Number(row.scanned_count),
      changed: Number(row.changed_count),
      skipped: Number(row.skipped_count),
      errors: Number(row.error_count),
    },
    attempts: Number(row.attempt_count),
    ...(row.batch_count === null || row.batch_count === undefined ? {} : { batches: Number(row.batch_count) }),
    lastError: row.last_error,
  };
}

/** Job and runs as stored; missing tables or row read as `exists: false`, never as an error. */
export async function readJobState(client: pg.ClientBase, id: string): Promise<JobState> {
  const absent = (tablesExist: boolean): JobState => ({
    id,
    exists: false,
    tablesExist,
    status: null,
    releaseVersion: null,
    lastError: null,
    scopes: [],
  });
  try {
    const job = await client.query<{ status: DataMigrationStatus; release_version: string; last_error: string | null }>(
      'SELECT status, release_version, last_error FROM _data_migrations WHERE id = $1',
      [id],
    );
    const row = job.rows[0];
    if (!row) return absent(true);
    const runs = await client.query<RunRow>(
      `SELECT ${READ_RUN_COLUMNS} FROM _data_migration_runs r WHERE id = $1 ORDER BY scope_kind, scope_value`,
      [id],
    );
    return {
      id,
      exists: true,
      tablesExist: true,
      status: row.status,
      releaseVersion: row.release_version,
      lastError: row.last_error,
      scopes: runs.rows.map(scopeStateOf),
    };
  } catch (err) {
    if (sqlState(err) === '42P01') return absent(false);
    throw err;
  }
}

async function inTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const out = await fn();
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/**
 * Before a run (reference §5.4): the job row becomes `running` unless it is `paused` or `completed` (those
 * keep their status: the caller refuses or stops), and every scope gets a run row if it has none. A
 * completed job gets no new scopes, so "completed" keeps meaning "every known scope completed".
 */
export async function prepareJob(
  client: pg.ClientBase,
  job: { id: string; releaseVersion: string; scopes: Scope[] },
): Promise<JobState> {
  await ensureStateTables(client);
  await inTransaction(client, async () => {
    const r = await client.query<{ status: DataMigrationStatus }>(
      `INSERT INTO _data_migrations AS j (id, release_version, status, started_at)
       VALUES ($1, $2, 'running', NOW())
       ON CONFLICT (id) DO UPDATE SET
         status = CASE WHEN j.status IN ('paused', 'completed') THEN j.status ELSE 'running' END,
         started_at = CASE WHEN j.status IN ('paused', 'completed') THEN j.started_at
                           ELSE COALESCE(j.started_at, NOW()) END,
         release_version = EXCLUDED.release_version,
         updated_at = NOW()
       RETURNING status`,
      [job.id, job.releaseVersion],
    );
    const status = r.rows[0]!.status;
    if (status === 'completed' || job.scopes.length === 0) return;
    // Scopes added while paused start paused, as pause would have made them.
    await client.query(
      `INSERT INTO _data_migration_runs (id, scope_kind, scope_value, status)
       SELECT $1, k, v, $4 FROM unnest($2::text[], $3::text[]) AS s(k, v)
       ON CONFLICT (id, scope_kind, scope_value) DO NOTHING`,
      [
        job.id,
        job.scopes.map((s) => s.kind),
        job.scopes.map((s) => s.value),
        status === 'paused' ? 'paused' : 'pending',
      ],
    );
  });
  return readJobState(client, job.id);
}

function refuse(message: string): Error {
  return failure(FailureType.GateRefused, message);
}

/** A batch refused because the job or scope is paused (never retried), naming the command that resumes it. */
export function pausedFailure(service: string, id: string): Error {
  return failure(
    FailureType.DataMigrationPaused,
    `${service}.${id} is paused; resume it (frameworks cluster data-migrate resume ${service}.${id}) before running batches`,
  );
}

/**
 * Moves a job to `status`, mirrored onto its runs:
 * - `paused`: refused when completed; otherwise the job (created if it never ran: an explicit paused row,
 *   needing `releaseVersion`) and its non-completed runs become paused.
 * - `pending` (resume): only from paused; paused runs become pending.
 * - `running`: refused when paused (resume first) or completed.
 * - `failed`: records `lastError` on the job; running runs become failed with it. Allowed from completed too,
 *   so a verify that fails after the last batch blocks the gates.
 * - `completed`: only when at least one run exists and every run is completed.
 */
export async function setJobStatus(
  client: pg.ClientBase,
  id: string,
  status: DataMigrationStatus,
  lastError?: string | null,
  releaseVersion?: string,
): Promise<JobState> {
  await ensureStateTables(client);
  await inTransaction(client, async () => {
    const r = await client.query<{ status: DataMigrationStatus }>(
      'SELECT status FROM _data_migrations WHERE id = $1 FOR UPDATE',
      [id],
    );
    const current = r.rows[0]?.status;
    if (current === undefined && status !== 'paused') {
      throw refuse(
        status === 'pending'
          ? `${id} is not paused (it has never run)`
          : `${id} has no state row: run it first (frameworks cluster data-migrate run ${id})`,
      );
    }
    if (current === 'completed' && status !== 'completed' && status !== 'failed') {
      throw refuse(`${id} already completed`);
    }
    switch (status) {
      case 'paused':
        await client.query(
          `INSERT INTO _data_migrations AS j (id, release_version, status) VALUES ($1, $2, 'paused')
           ON CONFLICT (id) DO UPDATE SET status = 'paused', updated_at = NOW()`,
          [id, releaseVersion ?? ''],
        );
        await client.query(
          `UPDATE _data_migration_runs SET status = 'paused', lease_owner = NULL, lease_expires_at = NULL,
                  updated_at = NOW() WHERE id = $1 AND status <> 'completed'`,
          [id],
        );
        return;
      case 'pending':
        if (current !== 'paused') throw refuse(`${id} is not paused (status ${current})`);
        await client.query(`UPDATE _data_migrations SET status = 'pending', updated_at = NOW() WHERE id = $1`, [id]);
        await client.query(
          `UPDATE _data_migration_runs SET status = 'pending', updated_at = NOW() WHERE id = $1 AND status = 'paused'`,
          [id],
        );
        return;
      case 'running':
        if (current === 'paused')
          throw refuse(`${id} is paused: resume it first (frameworks cluster data-migrate resume ${id})`);
        await client.query(
          `UPDATE _data_migrations SET status = 'running', started_at = COALESCE(started_at, NOW()), updated_at = NOW()
           WHERE id = $1`,
          [id],
        );
        return;
      case 'failed':
        await client.query(
          `UPDATE _data_migrations SET status = 'failed', last_error = COALESCE($2, last_error), updated_at = NOW()
           WHERE id = $1`,
          [id, lastError ?? null],
        );
        await client.query(
          `UPDATE _data_migration_runs SET status = 'failed', last_error = COALESCE($2, last_error), updated_at = NOW()
           WHERE id = $1 AND status = 'running'`,
          [id, lastError ?? null],
        );
        return;
      case 'completed': {
        const runs = await client.query<{ total: string; open: string }>(
          `SELECT count(*) AS total, count(*) FILTER (WHERE status <> 'completed') AS open
             FROM _data_migration_runs WHERE id = $1`,
          [id],
        );
        const { total, open } = runs.rows[0]!;
        if (Number(total) === 0 || Number(open) > 0) {
          throw refuse(`${id} cannot be marked completed: ${open} of ${total} scope(s) not completed`);
        }
        await client.query(
          `UPDATE _data_migrations SET status = 'completed', completed_at = COALESCE(completed_at, NOW()),
                  updated_at = NOW() WHERE id = $1`,
          [id],
        );
        return;
      }
    }
  });
  return readJobState(client, id);
}
