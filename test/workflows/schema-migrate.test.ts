// `schemaMigrate` on the real dev server with the real activities against real PostgreSQL: apply, idempotence,
// edited-file refusal, notx outside a transaction, dry-run, the change lock, contract approval and the
// data-migration phase gate (fail closed).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SchemaMigrateInput, SchemaMigrateProgress } from '../../src/contracts/schema-migrate';
import { taskQueueFor } from '../../src/temporal/ids';
import { schemaMigrateMessages } from '../../src/workflows/messages';
import { FIXTURES, writeFixtureCluster } from '../helpers/fixtures';
import { captureHistory } from '../helpers/history';
import { databaseUrl, freshDatabase, sql, temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const URL_ENV = 'FW_TEST_SCHEMA_MIGRATE_URL';
let client: Client;
const running: RunningWorkers[] = [];

beforeAll(async () => {
  process.env[URL_ENV] = databaseUrl();
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});
afterAll(async () => {
  for (const w of running) await w.stop();
  await client?.connection.close();
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'fw-migrations-'));
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), body);
  }
  return root;
}

async function clusterWith(name: string, databases: string[], migrationsDir: string): Promise<string> {
  for (const db of databases) await freshDatabase(db);
  const manifest = writeFixtureCluster({ name, databases, urlEnv: URL_ENV, migrationsDir });
  running.push(await startWorkers([manifest]));
  return name;
}

async function migrate(cluster: string, input: Partial<SchemaMigrateInput>, id = `fw/${cluster}/change`) {
  const handle = await client.workflow.start('schemaMigrate', {
    taskQueue: taskQueueFor(cluster),
    workflowId: id,
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    args: [{ cluster, phase: 'expand', toVersion: 'v0.2.0', approved: true, ...input }],
  });
  return { handle, result: () => handle.result() as Promise<SchemaMigrateProgress> };
}

const ledger = (db: string) =>
  sql<{ version: string; phase: string; seq: number; filename: string; checksum: string; transactional: boolean }>(
    db,
    'SELECT version, phase, seq, filename, checksum, transactional FROM _migrations ORDER BY version, phase, seq',
  );

describe('schemaMigrate', () => {
  it('applies every expand migration in order on an empty database, then nothing on a second run', async () => {
    const root = tree({
      'mig_a/v0.1.0/expand/001_accounts.sql': 'CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL);\n',
      'mig_a/v0.1.0/expand/002_accounts_email.sql': 'ALTER TABLE accounts ADD COLUMN email text;\n',
      'mig_a/v0.2.0/expand/001_invoices.sql':
        'CREATE TABLE invoices (id bigserial PRIMARY KEY, account_id bigint);\nALTER TABLE invoices ADD CONSTRAINT invoices_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;\n',
      'mig_a/v0.2.0/postdeploy/001_validate.sql': 'ALTER TABLE invoices VALIDATE CONSTRAINT invoices_account_fk;\n',
      'mig_a/v0.3.0/expand/001_future.sql': 'CREATE TABLE future (id int);\n',
    });
    const cluster = await clusterWith('sm-apply', ['mig_a'], root);
    const firstRun = await migrate(cluster, {});
    const first = await firstRun.result();
    await captureHistory(
      client,
      firstRun.handle.workflowId,
      'schema-migrate-expand',
      firstRun.handle.firstExecutionRunId,
    );
    expect(first.state).toBe('completed');
    expect(first.migrations.map((m) => `${m.version}/${m.filename}:${m.status}`)).toEqual([
      'v0.1.0/001_accounts.sql:applied',
      'v0.1.0/002_accounts_email.sql:applied',
      'v0.2.0/001_invoices.sql:applied',
    ]);
    const rows = await ledger('mig_a');
    expect(rows.map((r) => [r.version, r.phase, r.seq, r.filename, r.transactional])).toEqual([
      ['v0.1.0', 'expand', 1, '001_accounts.sql', true],
      ['v0.1.0', 'expand', 2, '002_accounts_email.sql', true],
      ['v0.2.0', 'expand', 1, '001_invoices.sql', true],
    ]);
    expect(rows.map((r) => r.checksum)).toEqual(first.migrations.map((m) => m.checksum));
    expect(await sql('mig_a', "SELECT 1 FROM pg_tables WHERE tablename = 'future'")).toEqual([]);
    // One stretch: the three transactional migrations of mig_a ran in ONE local activity (one marker), each still
    // its own transaction with its own ledger row (distinct xmin).
    const markers = ((await firstRun.handle.fetchHistory()).events ?? []).filter(
      (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
    );
    expect(markers).toHaveLength(1);
    expect(defaultPayloadConverter.fromPayload(markers[0]!.userMetadata!.summary!)).toBe(
      'apply mig_a/v0.1.0/expand/001_accounts.sql and up to 2 more of mig_a',
    );
    expect(await sql('mig_a', 'SELECT count(DISTINCT xmin::text)::int AS n FROM _migrations')).toEqual([{ n: 3 }]);

    const second = await (await migrate(cluster, {})).result();
    expect(second.state).toBe('completed');
    expect(second.migrations).toEqual([]);
    expect(second.alreadyApplied).toBe(3);
    expect(await ledger('mig_a')).toHaveLength(3);
  });

  it('refuses the whole run when an applied migration was edited, naming it and both checksums', async () => {
    const root = tree({ 'mig_b/v0.1.0/expand/001_t.sql': 'CREATE TABLE t (id int);\n' });
    const cluster = await clusterWith('sm-edited', ['mig_b'], root);
    const first = await (await migrate(cluster, {})).result();
    const original = first.migrations[0]!.checksum;
    writeFileSync(join(root, 'mig_b/v0.1.0/expand/001_t.sql'), 'CREATE TABLE t (id bigint);\n');
    writeFileSync(join(root, 'mig_b/v0.1.0/expand/002_u.sql'), 'CREATE TABLE u (id int);\n');
    const run = await (await migrate(cluster, {})).result();
    expect(run.state).toBe('refused');
    const check = run.checks.find((c) => c.id === 'checksums');
    expect(check?.status).toBe('refuse');
    expect(check?.detail).toContain('mig_b/v0.1.0/expand/001_t.sql');
    expect(check?.detail).toContain(original);
    expect(check?.detail).toMatch(/checksum mismatch/);
    expect(await sql('mig_b', "SELECT 1 FROM pg_tables WHERE tablename = 'u'")).toEqual([]);
    expect(await ledger('mig_b')).toHaveLength(1);
  });

  it('applies a .notx.sql CREATE INDEX CONCURRENTLY outside a transaction', async () => {
    const root = tree({
      'mig_c/v0.1.0/expand/001_t.sql': 'CREATE TABLE t (id int, v text);\n',
      'mig_c/v0.1.0/expand/002_t_v.notx.sql': 'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_v_idx ON t (v);\n',
    });
    const cluster = await clusterWith('sm-notx', ['mig_c'], root);
    const r = await (await migrate(cluster, {})).result();
    expect(r.migrations.map((m) => [m.filename, m.transactional, m.status])).toEqual([
      ['001_t.sql', true, 'applied'],
      ['002_t_v.notx.sql', false, 'applied'],
    ]);
    // CONCURRENTLY inside a transaction block is an error, so a valid index proves it ran in autocommit.
    const idx = await sql<{ indisvalid: boolean }>(
      'mig_c',
      "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 't_v_idx'",
    );
    expect(idx).toEqual([{ indisvalid: true }]);
    expect((await ledger('mig_c'))[1]).toMatchObject({ filename: '002_t_v.notx.sql', transactional: false });
  });

  it('dry-run lists what would run with previews and writes nothing', async () => {
    const root = tree({ 'mig_d/v0.1.0/expand/001_t.sql': '-- a comment\nCREATE TABLE t (id int);\n' });
    const cluster = await clusterWith('sm-dry', ['mig_d'], root);
    const r = await (await migrate(cluster, { dryRun: true, approved: false }, `fw/sm-dry/migrate-dry-run/1`)).result();
    expect(r.state).toBe('dry-run');
    expect(r.migrations).toEqual([
      expect.objectContaining({ filename: '001_t.sql', status: 'pending', preview: ['CREATE TABLE t (id int);'] }),
    ]);
    expect(await sql('mig_d', "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).toEqual([]);
  });

  it('holds the change lock: a second change while one waits for approval is refused by workflow id', async () => {
    const root = tree({ 'mig_e/v0.1.0/expand/001_t.sql': 'CREATE TABLE t (id int);\n' });
    const cluster = await clusterWith('sm-lock', ['mig_e'], root);
    const first = await migrate(cluster, { approved: false });
    await waitFor(
      'the first run to await approval',
      async () => (await first.handle.query(schemaMigrateMessages.progress)).state === 'awaiting-approval',
    );
    await expect(migrate(cluster, {})).rejects.toThrow(/already started|already running/i);
    const p = await first.handle.query(schemaMigrateMessages.progress);
    const stale = await first.handle
      .executeUpdate('approve', { args: [{ planHash: 'not-the-plan' }] })
      .catch((e: unknown) => e);
    expect(String((stale as { cause?: Error }).cause?.message)).toMatch(/plan changed/);
    await first.handle.executeUpdate('approve', { args: [{ planHash: p.planHash }] });
    expect((await first.result()).state).toBe('completed');
    expect(await ledger('mig_e')).toHaveLength(1);
  });

  it('an unapproved run expires and applies nothing', async () => {
    const root = tree({ 'mig_f/v0.1.0/expand/001_t.sql': 'CREATE TABLE t (id int);\n' });
    const cluster = await clusterWith('sm-expire', ['mig_f'], root);
    const r = await (await migrate(cluster, { approved: false, approvalTimeout: '2 seconds' })).result();
    expect(r.state).toBe('expired');
    expect(await sql('mig_f', "SELECT 1 FROM pg_tables WHERE tablename = 't'")).toEqual([]);
  });

  it('postdeploy and contract refuse "release catalog failed to load" on a corrupt catalog, applying nothing (reference item 17)', async () => {
    const root = tree({
      'purser/v0.1.0/expand/001_invoices.sql': 'CREATE TABLE invoices (id bigserial PRIMARY KEY);\n',
      'purser/v0.1.0/postdeploy/001_index.sql': 'CREATE INDEX invoices_id ON invoices (id);\n',
      'purser/v0.2.0/contract/001_drop.sql': 'DROP TABLE invoices;\n',
    });
    const catalogDir = tree({
      'releases.yaml': 'releases:\n  - version: v0.1.0\n  - versoin: v0.2.0\n',
      'services.yaml': readFileSync(join(FIXTURES, 'catalog', 'services.yaml'), 'utf8'),
    });
    await freshDatabase('purser');
    const manifest = writeFixtureCluster({
      name: 'sm-bad-catalog',
      databases: ['purser'],
      urlEnv: URL_ENV,
      migrationsDir: root,
      catalogDir,
    });
    running.push(await startWorkers([manifest]));
    for (const phase of ['postdeploy', 'contract'] as const) {
      const r = await (await migrate('sm-bad-catalog', { phase, toVersion: 'v0.2.0' })).result();
      expect(r.state, phase).toBe('refused');
      const check = r.checks.find((c) => c.id === 'catalog-loads');
      expect(check?.status, phase).toBe('refuse');
      expect(check?.detail, phase).toContain('release catalog failed to load');
      expect(check?.detail, phase).toContain(join(catalogDir, 'releases.yaml'));
    }
    expect(await sql('purser', "SELECT 1 FROM pg_tables WHERE tablename IN ('_migrations', 'invoices')")).toEqual([]);
  });

  it('contract needs explicit approval, and waits for the required data migration (fail closed)', async () => {
    const root = tree({
      'purser/v0.1.0/expand/001_invoices.sql':
        "CREATE TABLE invoices (id bigserial PRIMARY KEY, line_items jsonb NOT NULL DEFAULT '[]');\n",
      'purser/v0.2.0/contract/001_drop_line_items.sql': 'ALTER TABLE invoices DROP COLUMN IF EXISTS line_items;\n',
    });
    const cluster = await clusterWith('sm-contract', ['purser'], root);
    await (await migrate(cluster, {})).result();
    const contract = (input: Partial<SchemaMigrateInput>) =>
      migrate(cluster, { phase: 'contract', ...input }).then((r) => r.result());

    const unapproved = await contract({ approved: false, skipDataMigrationCheck: true });
    expect(unapproved.state).toBe('refused');
    expect(unapproved.checks.find((c) => c.id === 'contract-approval')?.status).toBe('refuse');

    // No _data_migrations table: completion cannot be proven, so contract is refused.
    const missing = await contract({});
    expect(missing.state).toBe('refused');
    const gate = missing.checks.find((c) => c.id === 'data-migrations');
    expect(gate?.status).toBe('refuse');
    expect(gate?.detail).toContain('purser/invoice-line-items');
    expect(gate?.fix).toContain('frameworks cluster data-migrate run purser.invoice-line-items');

    await sql(
      'purser',
      'CREATE TABLE _data_migrations (id text PRIMARY KEY, release_version text NOT NULL, status text NOT NULL)',
    );
    await sql('purser', "INSERT INTO _data_migrations VALUES ('invoice-line-items', 'v0.2.0', 'running')");
    const runningState = await contract({});
    expect(runningState.checks.find((c) => c.id === 'data-migrations')?.detail).toContain('running');
    expect(runningState.state).toBe('refused');

    // Unreadable state (the query fails) blocks as well.
    await sql('purser', 'ALTER TABLE _data_migrations RENAME TO _dm_real');
    await sql(
      'purser',
      'CREATE VIEW _data_migrations AS SELECT id, release_version, (1 / 0)::text AS status FROM _dm_real',
    );
    const unreadable = await contract({});
    expect(unreadable.state).toBe('refused');
    expect(unreadable.checks.find((c) => c.id === 'data-migrations')?.detail).toMatch(
      /fetch failed: .*division by zero/,
    );
    await sql('purser', 'DROP VIEW _data_migrations');
    await sql('purser', 'ALTER TABLE _dm_real RENAME TO _data_migrations');

    expect(
      await sql(
        'purser',
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'invoices' AND column_name = 'line_items'",
      ),
    ).toHaveLength(1);
    await sql('purser', "UPDATE _data_migrations SET status = 'completed'");
    const done = await contract({});
    expect(done.state).toBe('completed');
    expect(
      await sql(
        'purser',
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'invoices' AND column_name = 'line_items'",
      ),
    ).toEqual([]);
  });

  it('fails the run naming the file and line when a migration SQL errors, and applies nothing of it', async () => {
    const root = tree({
      'mig_g/v0.1.0/expand/001_ok.sql': 'CREATE TABLE ok (id int);\n',
      'mig_g/v0.1.0/expand/002_bad.sql': 'CREATE TABLE bad (id int);\n\nCREATE TABLE ok (id int);\n',
      'mig_g/v0.1.0/postdeploy/001_bad_column.sql':
        'CREATE TABLE x (id int);\n-- a comment\nSELECT\n  id,\n  nosuchcolumn FROM x;\n',
    });
    const cluster = await clusterWith('sm-sqlfail', ['mig_g'], root);
    const err = await (await migrate(cluster, {})).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(
      /mig_g\/v0\.1\.0\/expand\/002_bad\.sql:3: .*already exists/,
    );
    expect((await ledger('mig_g')).map((r) => r.filename)).toEqual(['001_ok.sql']);
    expect(await sql('mig_g', "SELECT 1 FROM pg_tables WHERE tablename = 'bad'")).toEqual([]);
    // The error position inside a statement maps to the file's line.
    await sql('mig_g', 'DROP TABLE ok');
    await (await migrate(cluster, {})).result();
    const err2 = await (await migrate(cluster, { phase: 'postdeploy' })).result().catch((e: unknown) => e);
    expect(String((err2 as WorkflowFailedError).cause?.message)).toMatch(
      /001_bad_column\.sql:5: column "nosuchcolumn" does not exist/,
    );
  });
});
