// The per-database migration lock (reference §4.6). PostgreSQL: an advisory lock keyed like the original
// tooling, pg_advisory_lock(hashtext('frameworks_migrations'), hashtext(<db>)). YugabyteDB releases without
// advisory locks get a lock row instead, owned by the run (the workflow id is the cluster-wide lock already;
// the row also guards against tools outside this orchestrator that follow the same convention).
import type pg from 'pg';
import { FailureType } from '../../errors';
import { failure } from '../failures';
import type { Engine } from './connect';

export const LOCK_NAMESPACE = 'frameworks_migrations';
/** A holder that crashed without releasing its row loses it after this long. */
const LOCK_ROW_TTL = '15 minutes';

/** Inside an open transaction: held until COMMIT/ROLLBACK. */
export async function lockForTransaction(client: pg.ClientBase, engine: Engine, database: string): Promise<void> {
  if (engine === 'postgres') {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [LOCK_NAMESPACE, database]);
  }
}

/** Session-level lock for autocommit work (.notx); returns the release function. */
export async function lockForSession(
  client: pg.ClientBase,
  engine: Engine,
  database: string,
  holder: string,
): Promise<() => Promise<void>> {
  if (engine === 'postgres') {
    await client.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', [LOCK_NAMESPACE, database]);
    return async () => {
      await client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', [LOCK_NAMESPACE, database]);
    };
  }
  await client.query(
    `CREATE TABLE IF NOT EXISTS _migrations_lock (
       database    TEXT PRIMARY KEY,
       holder      TEXT NOT NULL,
       acquired_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  );
  const r = await client.query<{ holder: string }>(
    `INSERT INTO _migrations_lock (database, holder) VALUES ($1, $2)
     ON CONFLICT (database) DO UPDATE SET holder = EXCLUDED.holder, acquired_at = now()
      WHERE _migrations_lock.holder = EXCLUDED.holder
         OR _migrations_lock.acquired_at < now() - interval '${LOCK_ROW_TTL}'
     RETURNING holder`,
    [database, holder],
  );
  if (r.rows.length === 0) {
    const cur = await client.query<{ holder: string; acquired_at: Date }>(
      'SELECT holder, acquired_at FROM _migrations_lock WHERE database = $1',
      [database],
    );
    const who = cur.rows[0];
    throw failure(
      FailureType.LockHeld,
      `migration lock for database ${database} is held by ${who?.holder ?? 'another run'} since ${who?.acquired_at.toISOString() ?? '?'}`,
    );
  }
  return async () => {
    await client.query('DELETE FROM _migrations_lock WHERE database = $1 AND holder = $2', [database, holder]);
  };
}
