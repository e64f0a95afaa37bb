// The lab's shipped migrations really apply, in order, on the real test PostgreSQL: v0.1.0 expand, then
// (with rows written by "v0.1.0 binaries" in between) v0.2.0 expand, postdeploy and contract. Transactional
// files run in one transaction; .notx.sql files run statement by statement in autocommit, as `migrate` does.
import { LAB_MIGRATIONS_DIR } from '../../lab/config';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverMigrations, readMigrationSql } from '../../src/config/migrations';
import type { MigrationItem, Phase } from '../../src/contracts/migrations';
import { selectMigrations } from '../../src/domain/migrations/layout';
import { splitSqlStatements } from '../../src/domain/migrations/sql-lexer';
import { databaseUrl } from '../helpers/servers';

const ROOT = LAB_MIGRATIONS_DIR;
const DATABASES = ['quartermaster', 'commodore', 'foghorn', 'purser'] as const;
const clients = new Map<string, pg.Client>();
const tree = discoverMigrations(ROOT);

function db(name: string): pg.Client {
  const c = clients.get(name);
  if (!c) throw new Error(`no client for ${name}`);
  return c;
}

async function apply(client: pg.Client, item: MigrationItem): Promise<void> {
  const sql = readMigrationSql(ROOT, item);
  if (item.transactional) {
    await client.query('BEGIN');
    try {
      await client.query(sql);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw new Error(`${item.relPath}: ${(err as Error).message}`, { cause: err });
    }
  } else {
    // One statement per query: several statements in one query string form an implicit transaction, which
    // CREATE INDEX CONCURRENTLY refuses.
    for (const stmt of splitSqlStatements(sql)) await client.query(stmt.text);
  }
}

async function applyPhase(database: string, phase: Phase, target: string): Promise<MigrationItem[]> {
  // Only the target's own files: earlier versions were applied by the previous steps.
  const items = selectMigrations(tree.items, { phase, target, databases: [database] }).filter(
    (i) => i.version === target,
  );
  for (const item of items) await apply(db(database), item);
  return items;
}

async function columns(database: string, table: string): Promise<Record<string, string>> {
  const r = await db(database).query<{ column_name: string; is_nullable: string }>(
    'SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
    ['public', table],
  );
  return Object.fromEntries(r.rows.map((row) => [row.column_name, row.is_nullable]));
}

async function constraint(database: string, name: string): Promise<{ validated: boolean } | undefined> {
  const r = await db(database).query<{ convalidated: boolean }>(
    'SELECT convalidated FROM pg_constraint WHERE conname = $1',
    [name],
  );
  return r.rows[0] ? { validated: r.rows[0].convalidated } : undefined;
}

/** Every index of the database with its definition and validity (a failed CONCURRENTLY build leaves it invalid). */
async function indexes(database: string): Promise<{ name: string; def: string; valid: boolean }[]> {
  const r = await db(database).query<{ name: string; def: string; valid: boolean }>(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def, i.indisvalid AS valid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' ORDER BY 1`,
  );
  return r.rows;
}

async function indexExists(database: string, name: string): Promise<boolean> {
  const r = await db(database).query('SELECT 1 FROM pg_indexes WHERE indexname = $1', [name]);
  return r.rowCount === 1;
}

beforeAll(async () => {
  expect(tree.problems).toEqual([]);
  const admin = new pg.Client({ connectionString: `${databaseUrl()}/postgres` });
  await admin.connect();
  try {
    for (const name of DATABASES) {
      await admin.query(`DROP DATABASE IF EXISTS labmig_${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE labmig_${name}`);
    }
  } finally {
    await admin.end();
  }
  for (const name of DATABASES) {
    const client = new pg.Client({ connectionString: `${databaseUrl()}/labmig_${name}` });
    await client.connect();
    clients.set(name, client);
  }
});

afterAll(async () => {
  for (const c of clients.values()) await c.end();
});

describe('lab migrations on PostgreSQL', () => {
  it('ships files for every lab database, in application order', () => {
    expect(new Set(tree.items.map((i) => i.database))).toEqual(new Set(DATABASES));
    expect(tree.items.map((i) => i.database)).toEqual([...tree.items.map((i) => i.database)].sort());
  });

  it('v0.1.0 expand creates every baseline schema', async () => {
    for (const name of DATABASES) expect(await applyPhase(name, 'expand', 'v0.1.0')).toHaveLength(1);
    expect(Object.keys(await columns('quartermaster', 'nodes'))).toContain('hostname');
    expect(Object.keys(await columns('commodore', 'stream_keys'))).toContain('key_hash');
    expect(Object.keys(await columns('foghorn', 'routes'))).toContain('edge_node_id');
    expect(await columns('purser', 'invoices')).toMatchObject({ line_items: 'NO', total_cents: 'NO' });
    expect(Object.keys(await columns('purser', 'billing_plans'))).toContain('monthly_price_cents');
  });

  it('v0.1.0 binaries write rows the later phases must cope with', async () => {
    const qm = db('quartermaster');
    const t = await qm.query<{ id: string }>("INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme') RETURNING id");
    const c = await qm.query<{ id: string }>(
      "INSERT INTO clusters (tenant_id, name, region) VALUES ($1, 'prod', 'eu-west') RETURNING id",
      [t.rows[0]!.id],
    );
    await qm.query("INSERT INTO nodes (cluster_id, hostname, address, role) VALUES ($1, 'n1', '10.0.0.1', 'edge')", [
      c.rows[0]!.id,
    ]);
    await db('purser').query(
      `INSERT INTO invoices (tenant_id, number, status, line_items, total_cents, issued_at, finalized_at)
       VALUES (gen_random_uuid(), 'INV-1', 'finalized',
               '[{"description":"Streaming minutes","quantity":120.5,"unit_price_cents":2}]', 241, now(), now())`,
    );
    // The rows exist in the v0.1.0 shape: a node without arch, an invoice whose lines live only in the JSONB.
    expect((await qm.query('SELECT hostname, role FROM nodes')).rows).toEqual([{ hostname: 'n1', role: 'edge' }]);
    const inv = await db('purser').query<{ lines: number }>(
      'SELECT jsonb_array_length(line_items) AS lines FROM invoices',
    );
    expect(inv.rows).toEqual([{ lines: 1 }]);
  });

  it('v0.2.0 expand is additive and keeps v0.1.0 inserts working', async () => {
    for (const name of DATABASES) expect((await applyPhase(name, 'expand', 'v0.2.0')).length).toBeGreaterThan(0);
    expect(await columns('purser', 'invoice_line_items')).toMatchObject({
      invoice_id: 'NO',
      position: 'NO',
      quantity: 'NO',
      unit_price_cents: 'NO',
      amount_cents: 'NO',
    });
    expect(await columns('purser', 'invoices')).toMatchObject({ line_items: 'NO', line_items_normalized_at: 'YES' });
    expect(await constraint('purser', 'invoice_line_items_invoice_id_fkey')).toEqual({ validated: false });
    expect(await indexExists('purser', 'invoice_line_items_invoice_amount_idx')).toBe(true);
    expect(await indexExists('purser', 'invoices_line_items_pending_idx')).toBe(true);
    expect(await indexExists('commodore', 'stream_keys_active_idx')).toBe(true);
    expect(await columns('quartermaster', 'nodes')).toMatchObject({ arch: 'YES' });
    expect(Object.keys(await columns('foghorn', 'edge_nodes'))).toEqual(expect.arrayContaining(['latitude']));
    // An old binary's insert (no new columns) still succeeds.
    await db('purser').query(
      "INSERT INTO invoices (tenant_id, status, total_cents) VALUES (gen_random_uuid(), 'draft', 0)",
    );
    const arch = await db('quartermaster').query<{ arch: string }>('SELECT arch FROM nodes');
    expect(arch.rows.map((r) => r.arch)).toEqual(['linux-amd64']);
  });

  it('.notx.sql files are safe to rerun (IF NOT EXISTS)', async () => {
    const notx = tree.items.filter((i) => !i.transactional);
    expect(notx.length).toBeGreaterThanOrEqual(3);
    const before = Object.fromEntries(await Promise.all(DATABASES.map(async (d) => [d, await indexes(d)] as const)));
    for (const item of notx) await apply(db(item.database), item);
    // A rerun neither fails nor changes anything: the same indexes, all valid.
    for (const d of DATABASES) {
      const after = await indexes(d);
      expect(after, d).toEqual(before[d]);
      expect(
        after.filter((i) => !i.valid),
        d,
      ).toEqual([]);
    }
  });

  it('v0.2.0 postdeploy validates and tightens', async () => {
    expect(await applyPhase('purser', 'postdeploy', 'v0.2.0')).toHaveLength(1);
    expect(await applyPhase('quartermaster', 'postdeploy', 'v0.2.0')).toHaveLength(1);
    expect(await constraint('purser', 'invoice_line_items_invoice_id_fkey')).toEqual({ validated: true });
    expect(await columns('quartermaster', 'nodes')).toMatchObject({ arch: 'NO' });
  });

  it('v0.2.0 contract drops the JSONB line items only now', async () => {
    expect(await applyPhase('purser', 'contract', 'v0.2.0')).toHaveLength(1);
    expect(await applyPhase('quartermaster', 'contract', 'v0.2.0')).toHaveLength(1);
    const invoices = await columns('purser', 'invoices');
    expect(invoices).not.toHaveProperty('line_items');
    expect(invoices).toHaveProperty('line_items_normalized_at');
    expect(await constraint('purser', 'invoices_line_items_is_array')).toBeUndefined();
    expect(await constraint('quartermaster', 'nodes_arch_not_null')).toBeUndefined();
    expect(await columns('quartermaster', 'nodes')).toMatchObject({ arch: 'NO' });
  });
});
