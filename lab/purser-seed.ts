// A purser database at v0.2.0 expand holding N invoices written "by v0.1.0 binaries" (lines only in the JSONB
// column), for the invoice-line-items data migration. The rows come from one set-based INSERT over
// generate_series with arithmetic instead of random(), so every run seeds the same data (1M invoices in
// seconds), and the expected aggregates are read back with plain SQL over the JSONB source. In lab/ because the
// data-migrate benchmark seeds the same database as the tests (bench/ imports nothing from test/).
import { LAB_MIGRATIONS_DIR } from './config';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { splitSqlStatements } from '../src/domain/migrations/sql-lexer';
import { AGGREGATES, INSERT_INVOICES } from './purser-invoices';

export interface PurserSeedOptions {
  /** Give every 7th draft/open invoice a stale total_cents (off by 100–149), for the migration to recalculate. */
  staleOpenTotals?: boolean;
}

export interface PurserSeed {
  invoices: number;
  /** Sum of jsonb_array_length(line_items): the rows invoice_line_items must end up with. */
  lineItems: number;
  /** Sum over all JSON lines of round(quantity * unit_price_cents). */
  amountCents: number;
  byStatus: Record<'draft' | 'open' | 'finalized' | 'void', number>;
  /** Draft/open invoices whose total_cents differs from the sum of their lines. */
  staleTotals: number;
}

const PURSER_DIR = join(LAB_MIGRATIONS_DIR, 'purser');

async function applyPhase(client: pg.Client, version: string, phase: string): Promise<void> {
  const dir = join(PURSER_DIR, version, phase);
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    const text = readFileSync(join(dir, file), 'utf8');
    if (file.endsWith('.notx.sql')) {
      // CREATE INDEX CONCURRENTLY refuses a transaction, and a multi-statement query string is one.
      for (const stmt of splitSqlStatements(text)) await client.query(stmt.text);
    } else {
      await client.query('BEGIN');
      await client.query(text);
      await client.query('COMMIT');
    }
  }
}

/** Recreates `dbName` on the server at `databaseUrl` (no database in the URL) and seeds `rows` invoices. */
export async function seedPurser(
  databaseUrl: string,
  dbName: string,
  rows: number,
  opts: PurserSeedOptions = {},
): Promise<PurserSeed> {
  if (!/^[a-z_][a-z0-9_]*$/.test(dbName)) throw new Error(`seedPurser: "${dbName}" is not a plain identifier`);
  const admin = new pg.Client({ connectionString: `${databaseUrl}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${dbName}`);
  } finally {
    await admin.end();
  }
  const client = new pg.Client({ connectionString: `${databaseUrl}/${dbName}` });
  await client.connect();
  try {
    // The order of a real upgrade: v0.1.0 binaries wrote the invoices, then v0.2.0 expand ran over them.
    await applyPhase(client, 'v0.1.0', 'expand');
    await client.query(INSERT_INVOICES, [rows, opts.staleOpenTotals ?? true]);
    // Ids are g itself (deterministic whatever the sequence did); later inserts continue after them.
    await client.query(
      `SELECT setval(pg_get_serial_sequence('invoices', 'id'), GREATEST($1::bigint, 1), $1::bigint > 0)`,
      [rows],
    );
    await applyPhase(client, 'v0.2.0', 'expand');
    await client.query('ANALYZE invoices');
    const r = await client.query<{
      invoices: string;
      line_items: string;
      amount_cents: string;
      by_status: Record<string, number> | null;
      stale: string;
    }>(AGGREGATES);
    const a = r.rows[0]!;
    const by = a.by_status ?? {};
    return {
      invoices: Number(a.invoices),
      lineItems: Number(a.line_items),
      amountCents: Number(a.amount_cents),
      byStatus: { draft: by.draft ?? 0, open: by.open ?? 0, finalized: by.finalized ?? 0, void: by.void ?? 0 },
      staleTotals: Number(a.stale),
    };
  } finally {
    await client.end();
  }
}
