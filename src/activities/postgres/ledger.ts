// The `_migrations` ledger (reference §4.5): created when absent, older shapes upgraded in place, read as rows.
import type pg from 'pg';
import type { LedgerRow } from '../../contracts/migrations';
import { sqlState } from './connect';

const CREATE_LEDGER = `
CREATE TABLE IF NOT EXISTS _migrations (
  version       TEXT        NOT NULL,
  phase         TEXT        NOT NULL DEFAULT 'expand',
  seq           INT         NOT NULL,
  filename      TEXT        NOT NULL,
  checksum      TEXT        NOT NULL,
  transactional BOOLEAN     NOT NULL DEFAULT true,
  applied_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  PRIMARY KEY (version, phase, seq)
)`;

/**
 * Creates the ledger, or upgrades an older one: ledgers written before phases existed lack `phase` and
 * `transactional` and have a (version, seq) primary key, which would make an expand and a contract migration
 * with the same number collide. Idempotent; runs inside the caller's transaction when there is one.
 */
export async function ensureLedger(client: pg.ClientBase): Promise<void> {
  // The common case — a current ledger — costs one catalog read and takes no table lock; only a missing or
  // older ledger gets DDL (which takes ACCESS EXCLUSIVE on _migrations).
  const shape = await client.query<{ pk: string | null }>(`
    SELECT (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord)
              FROM pg_constraint c
              JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) ON true
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
             WHERE c.conrelid = to_regclass('_migrations') AND c.contype = 'p') AS pk`);
  if (shape.rows[0]?.pk === 'version,phase,seq') return;
  await client.query(CREATE_LEDGER);
  await client.query(`ALTER TABLE _migrations ADD COLUMN IF NOT EXISTS phase TEXT NOT NULL DEFAULT 'expand'`);
  await client.query(`ALTER TABLE _migrations ADD COLUMN IF NOT EXISTS transactional BOOLEAN NOT NULL DEFAULT true`);
  const pk = await client.query<{ conname: string; cols: string[] }>(`
    SELECT c.conname, array_agg(a.attname::text ORDER BY k.ord) AS cols
      FROM pg_constraint c
      JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) ON true
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
     WHERE c.conrelid = '_migrations'::regclass AND c.contype = 'p'
     GROUP BY c.conname`);
  const current = pk.rows[0];
  if (current && current.cols.join(',') === 'version,phase,seq') return;
  if (current) await client.query(`ALTER TABLE _migrations DROP CONSTRAINT "${current.conname.replace(/"/g, '""')}"`);
  await client.query(`ALTER TABLE _migrations ADD PRIMARY KEY (version, phase, seq)`);
}

/** Rows of the ledger; `null` when the table does not exist (an empty ledger, reference §4.5). */
export async function readLedgerRows(client: pg.ClientBase): Promise<LedgerRow[] | null> {
  try {
    // Older ledgers may lack phase/transactional: read them with the defaults the upgrade would give.
    const cols = await client.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '_migrations'`,
    );
    if (cols.rows.length === 0) return null;
    const has = new Set(cols.rows.map((r) => r.column_name));
    const phase = has.has('phase') ? 'phase' : `'expand'::text AS phase`;
    const transactional = has.has('transactional') ? 'transactional' : 'true AS transactional';
    const r = await client.query<LedgerRow>(
      `SELECT version, ${phase}, seq, filename, checksum, ${transactional} FROM _migrations ORDER BY version, phase, seq`,
    );
    return r.rows.map((row) => ({ ...row, seq: Number(row.seq) }));
  } catch (err) {
    if (sqlState(err) === '42P01') return null;
    throw err;
  }
}

export async function findLedgerRow(
  client: pg.ClientBase,
  key: { version: string; phase: string; seq: number },
): Promise<{ checksum: string; filename: string } | undefined> {
  const r = await client.query<{ checksum: string; filename: string }>(
    'SELECT checksum, filename FROM _migrations WHERE version = $1 AND phase = $2 AND seq = $3',
    [key.version, key.phase, key.seq],
  );
  return r.rows[0];
}

export async function insertLedgerRow(
  client: pg.ClientBase,
  row: { version: string; phase: string; seq: number; filename: string; checksum: string; transactional: boolean },
): Promise<void> {
  await client.query(
    'INSERT INTO _migrations (version, phase, seq, filename, checksum, transactional) VALUES ($1, $2, $3, $4, $5, $6)',
    [row.version, row.phase, row.seq, row.filename, row.checksum, row.transactional],
  );
}
