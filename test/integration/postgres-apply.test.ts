// The apply and ledger activities against real PostgreSQL: idempotence (run twice ⇒ one effect), older ledger
// shapes upgraded, the YugabyteDB lock-row path, and no secret in any error.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MigrationItem } from '../../src/contracts/migrations';
import { applyMigrationTo } from '../../src/activities/postgres/apply';
import type { DatabaseTarget } from '../../src/activities/postgres/connect';
import { readDatabaseState, readDataMigrationStatus } from '../../src/activities/postgres/state';
import { databaseUrl, freshDatabase, sql } from '../helpers/servers';

function target(database: string, engine: 'postgres' | 'yugabyte' = 'postgres'): DatabaseTarget {
  return { database, engine, url: `${databaseUrl()}/${database}`, secrets: [] };
}

function item(database: string, filename: string, body: string, over: Partial<MigrationItem> = {}): MigrationItem {
  return {
    database,
    version: 'v0.1.0',
    phase: 'expand',
    seq: Number(filename.slice(0, 3)),
    filename,
    checksum: createHash('sha256').update(body).digest('hex'),
    transactional: !filename.endsWith('.notx.sql'),
    relPath: `${database}/v0.1.0/expand/${filename}`,
    ...over,
  };
}

describe('applyMigrationTo', () => {
  it('is idempotent: the second call is a no-op, with exactly one ledger row and one effect', async () => {
    await freshDatabase('pa_idem');
    const body = 'CREATE TABLE counter (n int);\nINSERT INTO counter VALUES (1);\n';
    const it1 = item('pa_idem', '001_counter.sql', body);
    expect((await applyMigrationTo(target('pa_idem'), it1, body, 'test')).outcome).toBe('applied');
    expect((await applyMigrationTo(target('pa_idem'), it1, body, 'test')).outcome).toBe('already-applied');
    expect(await sql('pa_idem', 'SELECT count(*)::int AS n FROM counter')).toEqual([{ n: 1 }]);
    expect(await sql('pa_idem', 'SELECT count(*)::int AS n FROM _migrations')).toEqual([{ n: 1 }]);

    const notx = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS counter_n ON counter (n);\n';
    const it2 = item('pa_idem', '002_counter_n.notx.sql', notx);
    expect((await applyMigrationTo(target('pa_idem'), it2, notx, 'test')).outcome).toBe('applied');
    expect((await applyMigrationTo(target('pa_idem'), it2, notx, 'test')).outcome).toBe('already-applied');
    expect(await sql('pa_idem', 'SELECT count(*)::int AS n FROM _migrations')).toEqual([{ n: 2 }]);
  });

  it('refuses an applied key whose checksum changed, changing nothing', async () => {
    await freshDatabase('pa_edit');
    const body = 'CREATE TABLE t (id int);\n';
    await applyMigrationTo(target('pa_edit'), item('pa_edit', '001_t.sql', body), body, 'test');
    const edited = 'CREATE TABLE t2 (id int);\n';
    await expect(
      applyMigrationTo(target('pa_edit'), item('pa_edit', '001_t.sql', edited), edited, 'test'),
    ).rejects.toThrow(/pa_edit\/v0\.1\.0\/expand\/001_t\.sql: checksum mismatch/);
    expect(await sql('pa_edit', "SELECT 1 FROM pg_tables WHERE tablename = 't2'")).toEqual([]);
  });

  it('upgrades a pre-phase ledger (version, seq) primary key in place, keeping its rows', async () => {
    await freshDatabase('pa_old');
    await sql(
      'pa_old',
      `CREATE TABLE _migrations (version TEXT NOT NULL, seq INT NOT NULL, filename TEXT NOT NULL, checksum TEXT NOT NULL,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW(), PRIMARY KEY (version, seq))`,
    );
    await sql(
      'pa_old',
      "INSERT INTO _migrations (version, seq, filename, checksum) VALUES ('v0.1.0', 1, '001_a.sql', 'abc')",
    );
    const before = await readDatabaseState(target('pa_old'));
    expect(before.ledger).toMatchObject({
      state: 'ok',
      rows: [{ version: 'v0.1.0', phase: 'expand', seq: 1, transactional: true }],
    });
    // Same version and seq as the old row, but contract: only possible once the key includes the phase.
    const body = 'CREATE TABLE c (id int);\n';
    await applyMigrationTo(target('pa_old'), item('pa_old', '001_c.sql', body, { phase: 'contract' }), body, 'test');
    const pk = await sql<{ cols: string }>(
      'pa_old',
      `SELECT string_agg(a.attname, ',' ORDER BY k.ord) AS cols FROM pg_constraint c
         JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) ON true
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE c.conrelid = '_migrations'::regclass AND c.contype = 'p'`,
    );
    expect(pk).toEqual([{ cols: 'version,phase,seq' }]);
    expect(await sql('pa_old', 'SELECT version, phase, seq FROM _migrations ORDER BY phase')).toEqual([
      { version: 'v0.1.0', phase: 'contract', seq: 1 },
      { version: 'v0.1.0', phase: 'expand', seq: 1 },
    ]);
  });

  it('YugabyteDB path: a lock row instead of advisory locks, refused while another holder has it', async () => {
    await freshDatabase('pa_yb');
    const body = 'CREATE TABLE y (id int);\n';
    expect(
      (await applyMigrationTo(target('pa_yb', 'yugabyte'), item('pa_yb', '001_y.sql', body), body, 'run-1')).outcome,
    ).toBe('applied');
    expect(await sql('pa_yb', 'SELECT count(*)::int AS n FROM _migrations_lock')).toEqual([{ n: 0 }]);
    await sql('pa_yb', "INSERT INTO _migrations_lock (database, holder) VALUES ('pa_yb', 'someone-else')");
    const body2 = 'CREATE TABLE y2 (id int);\n';
    await expect(
      applyMigrationTo(target('pa_yb', 'yugabyte'), item('pa_yb', '002_y2.sql', body2), body2, 'run-2'),
    ).rejects.toThrow(/migration lock for database pa_yb is held by someone-else/);
    expect(await sql('pa_yb', "SELECT 1 FROM pg_tables WHERE tablename = 'y2'")).toEqual([]);
  });

  it('never puts the connection password in an error', async () => {
    const secretUrl = databaseUrl()
      .replace('postgres://postgres@', 'postgres://postgres:s3cr3t-pw@')
      .replace(/:\d+$/, ':1');
    const t: DatabaseTarget = {
      database: 'nowhere',
      engine: 'postgres',
      url: `${secretUrl}/nowhere`,
      secrets: [secretUrl, 's3cr3t-pw'],
    };
    const err = await applyMigrationTo(t, item('nowhere', '001_x.sql', 'SELECT 1;'), 'SELECT 1;', 'test').catch(
      (e: unknown) => e,
    );
    expect(String((err as Error).message)).toContain('cannot connect to database nowhere');
    expect(String((err as Error).message)).not.toContain('s3cr3t-pw');
    const state = await readDatabaseState(t);
    expect(state.ledger.state).toBe('error');
    expect(JSON.stringify(state)).not.toContain('s3cr3t-pw');
  });
});

describe('state readers', () => {
  it('reads a missing ledger as empty and a missing data-migration table as missing (not as completed)', async () => {
    await freshDatabase('pa_state');
    const s = await readDatabaseState(target('pa_state'));
    expect(s).toEqual({
      database: 'pa_state',
      ledger: { state: 'ok', database: 'pa_state', tableExists: false, rows: [] },
      marker: { state: 'ok', marker: '' },
    });
    expect(await readDataMigrationStatus(target('pa_state'), 'x')).toEqual({ kind: 'missing_table' });
    await sql('pa_state', 'CREATE TABLE _data_migrations (id text PRIMARY KEY, status text NOT NULL)');
    expect(await readDataMigrationStatus(target('pa_state'), 'x')).toEqual({ kind: 'status', status: 'pending' });
    await sql('pa_state', "INSERT INTO _data_migrations VALUES ('x', 'completed')");
    expect(await readDataMigrationStatus(target('pa_state'), 'x')).toEqual({ kind: 'status', status: 'completed' });
    await sql(
      'pa_state',
      'CREATE TABLE _schema_baseline (floor text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    await sql('pa_state', "INSERT INTO _schema_baseline (floor) VALUES ('v0.1.0')");
    expect((await readDatabaseState(target('pa_state'))).marker).toEqual({ state: 'ok', marker: 'v0.1.0' });
  });
});
