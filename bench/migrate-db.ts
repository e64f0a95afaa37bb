// PostgreSQL chores of the migrate benchmark, none of them timed: fresh databases, a checkpoint before each
// measured run (so a background checkpoint does not land on one side only), proof that a side applied exactly
// the files (ledger = files, tables created), and micro-measurements of per-migration costs of our apply path.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { MigrationItem } from '../src/contracts/migrations';
import { withClient, withPooledClient, type DatabaseTarget } from '../src/activities/postgres/connect';
import { ensureLedger } from '../src/activities/postgres/ledger';
import { median, round } from './types';

export const dbUrl = (serverUrl: string, database: string): string => `${serverUrl}/${database}`;

async function withAdmin<T>(serverUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: dbUrl(serverUrl, 'postgres') });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Drops and recreates `database`, then checkpoints so every measured run starts from the same server state. */
export async function freshDatabase(serverUrl: string, database: string): Promise<void> {
  await withAdmin(serverUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${quoted(database)} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${quoted(database)}`);
    await c.query('CHECKPOINT');
  });
}

export async function dropDatabases(serverUrl: string, databases: string[]): Promise<void> {
  await withAdmin(serverUrl, async (c) => {
    for (const db of databases) await c.query(`DROP DATABASE IF EXISTS ${quoted(db)} WITH (FORCE)`);
  });
}

/** Throws unless the ledger holds exactly the items (key, file name, checksum) and the tables exist. */
export async function verifyApplied(
  serverUrl: string,
  database: string,
  items: MigrationItem[],
  tables: number,
): Promise<void> {
  const c = new pg.Client({ connectionString: dbUrl(serverUrl, database) });
  await c.connect();
  try {
    const rows = (
      await c.query<{ version: string; phase: string; seq: number; filename: string; checksum: string }>(
        'SELECT version, phase, seq, filename, checksum FROM _migrations ORDER BY version, phase, seq',
      )
    ).rows;
    const want = items.map((i) => `${i.version}/${i.phase}/${i.seq}/${i.filename}/${i.checksum}`);
    const got = rows.map((r) => `${r.version}/${r.phase}/${r.seq}/${r.filename}/${r.checksum}`);
    const missing = want.filter((w, n) => got[n] !== w);
    if (got.length !== want.length || missing.length > 0) {
      throw new Error(
        `${database}: ledger has ${got.length} rows, expected ${want.length}; first difference: ${missing[0] ?? got[want.length] ?? '?'}`,
      );
    }
    const n = (
      await c.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'bench\\_t%'`,
      )
    ).rows[0]?.n;
    if (Number(n) !== tables) throw new Error(`${database}: ${n} benchmark tables, expected ${tables}`);
  } finally {
    await c.end();
  }
}

export interface ApplyCosts {
  /** Open + close one connection (`withClient`): what every psql process pays, and a `.notx` migration. */
  connectMs: number;
  /** Pool checkout + DISCARD ALL + release (`withPooledClient` with reset): what a transactional migration pays. */
  pooledMs: number;
  /** `ensureLedger` on a current ledger (one catalog read), as every applyMigration runs it. */
  ensureLedgerMs: number;
  samples: number;
}

/** Medians of the fixed per-migration costs of our apply path that the psql session pays once or never. */
export async function measureApplyCosts(target: DatabaseTarget, samples = 200): Promise<ApplyCosts> {
  const connect: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await withClient(target, async () => {});
    connect.push(performance.now() - t0);
  }
  const pooled: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await withPooledClient(target, async () => {}, { reset: true });
    pooled.push(performance.now() - t0);
  }
  const ledger = await withClient(target, async (client) => {
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await client.query('BEGIN');
      await ensureLedger(client);
      await client.query('COMMIT');
      out.push(performance.now() - t0);
    }
    return out;
  });
  return {
    connectMs: round(median(connect), 3),
    pooledMs: round(median(pooled), 3),
    ensureLedgerMs: round(median(ledger), 3),
    samples,
  };
}
