// The apply and ledger activities against real PostgreSQL: idempotence (run twice ⇒ one effect), older ledger
// shapes upgraded, the YugabyteDB lock-row path, no secret in any error, and a stretch of migrations on one
// connection (each its own transaction with its ledger row; a failure or a lost connection mid-stretch).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MigrationItem } from '../../src/contracts/migrations';
import { applyMigrationTo, applyStretchTo } from '../../src/activities/postgres/apply';
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

describe('applyStretchTo: transactional migrations of one database back to back on one connection', () => {
  const stretch = (db: string, files: [string, string][]) => {
    const items = files.map(([f, body]) => item(db, f, body));
    const bodies = new Map(items.map((it, i) => [it.relPath, files[i]![1]]));
    const readSql = (it: MigrationItem) => bodies.get(it.relPath)!;
    return {
      items,
      run: (from: number, opts: { budgetMs?: number; engine?: 'postgres' | 'yugabyte' } = {}) =>
        applyStretchTo(target(db, opts.engine), items.slice(from), readSql, 'test', {
          budgetMs: opts.budgetMs ?? 60_000,
        }),
    };
  };
  const ledgerFiles = async (db: string) =>
    (await sql<{ filename: string }>(db, 'SELECT filename FROM _migrations ORDER BY seq')).map((r) => r.filename);

  it('applies each with its own ledger row, once: a second call finds every one applied', async () => {
    await freshDatabase('pa_st');
    const s = stretch('pa_st', [
      ['001_a.sql', 'CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n'],
      ['002_b.sql', 'CREATE TABLE b (id int);\n'],
      ['003_c.sql', 'INSERT INTO a VALUES (2);\n'],
    ]);
    expect((await s.run(0)).map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
    expect((await s.run(0)).map((r) => r.outcome)).toEqual(['already-applied', 'already-applied', 'already-applied']);
    expect(await ledgerFiles('pa_st')).toEqual(['001_a.sql', '002_b.sql', '003_c.sql']);
    expect(await sql('pa_st', 'SELECT count(*)::int AS n FROM a')).toEqual([{ n: 2 }]);
    // Distinct transactions: every ledger row has its own xmin.
    expect(await sql('pa_st', 'SELECT count(DISTINCT xmin::text)::int AS n FROM _migrations')).toEqual([{ n: 3 }]);
  });

  it('stops after its budget with at least one done; the next call continues where it stopped', async () => {
    await freshDatabase('pa_st_budget');
    const s = stretch('pa_st_budget', [
      ['001_a.sql', 'CREATE TABLE a (id int);\n'],
      ['002_b.sql', 'CREATE TABLE b (id int);\n'],
    ]);
    expect(await s.run(0, { budgetMs: 0 })).toHaveLength(1);
    expect(await ledgerFiles('pa_st_budget')).toEqual(['001_a.sql']);
    expect((await s.run(1, { budgetMs: 0 })).map((r) => r.outcome)).toEqual(['applied']);
    expect(await ledgerFiles('pa_st_budget')).toEqual(['001_a.sql', '002_b.sql']);
  });

  it('a failing migration after the first ends the stretch with the ones before it; called from it, it throws file:line', async () => {
    await freshDatabase('pa_st_fail');
    const s = stretch('pa_st_fail', [
      ['001_ok.sql', 'CREATE TABLE ok (id int);\n'],
      ['002_bad.sql', 'CREATE TABLE bad (id int);\n\nCREATE TABLE ok (id int);\n'],
      ['003_after.sql', 'CREATE TABLE after (id int);\n'],
    ]);
    expect((await s.run(0)).map((r) => r.outcome)).toEqual(['applied']);
    await expect(s.run(1)).rejects.toThrow(/pa_st_fail\/v0\.1\.0\/expand\/002_bad\.sql:3: .*already exists/);
    expect(await ledgerFiles('pa_st_fail')).toEqual(['001_ok.sql']);
    expect(await sql('pa_st_fail', "SELECT tablename FROM pg_tables WHERE tablename IN ('bad', 'after')")).toEqual([]);
  });

  it('a connection lost mid-stretch leaves every migration applied and recorded, or neither; a rerun completes', async () => {
    await freshDatabase('pa_st_kill');
    const s = stretch('pa_st_kill', [
      ['001_a.sql', 'CREATE TABLE a (id int);\n'],
      ['002_b.sql', 'CREATE TABLE b (id int);\nSELECT pg_sleep(30);\n'],
      ['003_c.sql', 'CREATE TABLE c (id int);\n'],
    ]);
    const running = s.run(0);
    for (let i = 0; ; i++) {
      const killed = await sql<{ k: boolean }>(
        'postgres',
        `SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity WHERE datname = 'pa_st_kill' AND query LIKE 'SELECT pg_sleep(30)%'`,
      );
      if (killed.length > 0) break;
      if (i > 400) throw new Error('002 never started');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await running).map((r) => r.outcome)).toEqual(['applied']);
    expect(await ledgerFiles('pa_st_kill')).toEqual(['001_a.sql']);
    expect(await sql('pa_st_kill', "SELECT tablename FROM pg_tables WHERE tablename IN ('b', 'c')")).toEqual([]);
    const rerun = stretch('pa_st_kill', [
      ['001_a.sql', 'CREATE TABLE a (id int);\n'],
      ['002_b.sql', 'CREATE TABLE b (id int);\n'],
      ['003_c.sql', 'CREATE TABLE c (id int);\n'],
    ]);
    expect((await rerun.run(0)).map((r) => r.outcome)).toEqual(['already-applied', 'applied', 'applied']);
    expect(await ledgerFiles('pa_st_kill')).toEqual(['001_a.sql', '002_b.sql', '003_c.sql']);
  }, 30_000);

  it('starts every migration from a clean session: a SET in one file does not reach the next', async () => {
    await freshDatabase('pa_st_session');
    const s = stretch('pa_st_session', [
      ['001_set.sql', "SET fw.leak = 'leaked';\nCREATE TABLE seen1 AS SELECT current_setting('fw.leak', true) AS v;\n"],
      ['002_t.sql', "CREATE TABLE seen2 AS SELECT current_setting('fw.leak', true) AS v;\n"],
    ]);
    expect((await s.run(0)).map((r) => r.outcome)).toEqual(['applied', 'applied']);
    expect(await sql('pa_st_session', 'SELECT v FROM seen1')).toEqual([{ v: 'leaked' }]);
    const [next] = await sql<{ v: string | null }>('pa_st_session', 'SELECT v FROM seen2');
    expect(next?.v ?? '').toBe('');
  });

  it('a file that SETs search_path still gets its ledger row, and the next file runs in the default schema', async () => {
    await freshDatabase('pa_st_path');
    const s = stretch('pa_st_path', [
      ['001_schema.sql', 'CREATE SCHEMA other;\nSET search_path TO other;\nCREATE TABLE inside (id int);\n'],
      ['002_t.sql', 'CREATE TABLE t (id int);\n'],
      ['003_again.sql', 'SET search_path TO other;\nCREATE TABLE inside2 (id int);\n'],
      ['004_u.sql', 'CREATE TABLE u (id int);\n'],
    ]);
    expect((await s.run(0)).map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect(await ledgerFiles('pa_st_path')).toEqual(['001_schema.sql', '002_t.sql', '003_again.sql', '004_u.sql']);
    expect(
      await sql(
        'pa_st_path',
        "SELECT schemaname, tablename FROM pg_tables WHERE tablename IN ('inside', 'inside2', 't', 'u') ORDER BY tablename",
      ),
    ).toEqual([
      { schemaname: 'other', tablename: 'inside' },
      { schemaname: 'other', tablename: 'inside2' },
      { schemaname: 'public', tablename: 't' },
      { schemaname: 'public', tablename: 'u' },
    ]);
  });

  it('YugabyteDB path: takes the lock row once for the stretch and releases it', async () => {
    await freshDatabase('pa_st_yb');
    const s = stretch('pa_st_yb', [
      ['001_a.sql', 'CREATE TABLE a (id int);\n'],
      ['002_b.sql', 'CREATE TABLE b (id int);\n'],
    ]);
    expect((await s.run(0, { engine: 'yugabyte' })).map((r) => r.outcome)).toEqual(['applied', 'applied']);
    expect(await sql('pa_st_yb', 'SELECT count(*)::int AS n FROM _migrations_lock')).toEqual([{ n: 0 }]);
  });

  it('refuses a .notx migration or another database in a stretch, before touching anything', async () => {
    await freshDatabase('pa_st_mixed');
    const tx = item('pa_st_mixed', '001_a.sql', 'CREATE TABLE a (id int);\n');
    const notx = item('pa_st_mixed', '002_i.notx.sql', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a (id);\n');
    await expect(
      applyStretchTo(target('pa_st_mixed'), [tx, notx], () => 'CREATE TABLE a (id int);\n', 'test', { budgetMs: 1 }),
    ).rejects.toThrow(/002_i\.notx\.sql is not one/);
    expect(await sql('pa_st_mixed', "SELECT 1 FROM pg_tables WHERE tablename = 'a'")).toEqual([]);
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
