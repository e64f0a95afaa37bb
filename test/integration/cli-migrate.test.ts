// `frameworks cluster migrate` and `migrate validate` as an operator runs them (real processes, real worker,
// real PostgreSQL): refusals before anything starts, the change lock message, apply, dry-run and lint output.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SchemaMigrateProgress } from '../../src/contracts/schema-migrate';
import { taskQueueFor } from '../../src/temporal/ids';
import { writeFixtureCluster } from '../helpers/fixtures';
import { databaseUrl, freshDatabase, sql, temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLI = resolve(__dirname, '..', '..', 'bin', 'frameworks');
const URL_ENV = 'FW_TEST_CLI_MIGRATE_URL';
let workers: RunningWorkers;
let manifest: string;
let root: string;

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fw-cli-mig-'));
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), body);
  }
  return dir;
}

/** Async on purpose: this process also runs the worker, which a blocking spawnSync would starve. */
function frameworks(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: '1', TEMPORAL_ADDRESS: temporalAddress(), [URL_ENV]: databaseUrl() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  process.env[URL_ENV] = databaseUrl();
  root = tree({
    'cli_mig/v0.1.0/expand/001_t.sql': 'CREATE TABLE t (id int, v text);\n',
    'cli_mig/v0.1.0/expand/002_t_v.notx.sql': 'CREATE INDEX CONCURRENTLY IF NOT EXISTS t_v ON t (v);\n',
  });
  await freshDatabase('cli_mig');
  manifest = writeFixtureCluster({ name: 'cli-mig', databases: ['cli_mig'], urlEnv: URL_ENV, migrationsDir: root });
  workers = await startWorkers([manifest]);
});
afterAll(async () => {
  await workers?.stop();
});

describe('frameworks cluster migrate', () => {
  it('refuses contract without --yes, and approval without a terminal, before starting any run', async () => {
    const contract = await frameworks(['cluster', 'migrate', '--manifest', manifest, '--phase', 'contract']);
    expect(contract.code).toBe(1);
    expect(contract.stderr).toContain('contract migrations require --yes');
    const noTty = await frameworks(['cluster', 'migrate', '--manifest', manifest]);
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toContain('pass --yes');
  });

  it('--dry-run lists what would run (tx/notx, first SQL lines) and writes nothing', async () => {
    const r = await frameworks(['cluster', 'migrate', '--manifest', manifest, '--to-version', 'v0.1.0', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('cli_mig/v0.1.0/expand/001_t.sql (tx)');
    expect(r.stdout).toContain('cli_mig/v0.1.0/expand/002_t_v.notx.sql (notx)');
    expect(r.stdout).toContain('CREATE TABLE t (id int, v text);');
    expect(r.stdout).toContain('Dry-run complete');
    expect(await sql('cli_mig', "SELECT 1 FROM pg_tables WHERE tablename IN ('t', '_migrations')")).toEqual([]);
  });

  it('refuses a second change while one runs, naming the running id and how to watch it', async () => {
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    try {
      const holder = await client.workflow.start('schemaMigrate', {
        taskQueue: taskQueueFor('cli-mig'),
        workflowId: 'fw/cli-mig/change',
        args: [{ cluster: 'cli-mig', phase: 'expand', toVersion: 'v0.1.0', approved: false, operator: 'alice' }],
        typedSearchAttributes: [],
      });
      await waitFor(
        'the holder to await approval',
        async () => (await holder.query<SchemaMigrateProgress>('progress')).state === 'awaiting-approval',
      );
      const r = await frameworks(['cluster', 'migrate', '--manifest', manifest, '--to-version', 'v0.1.0', '--yes']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('another change is already running on this cluster');
      expect(r.stderr).toContain(holder.firstExecutionRunId);
      expect(r.stderr).toContain('frameworks cluster runs watch fw/cli-mig/change');
      await holder.executeUpdate('cancel', { args: [{}] });
      expect(((await holder.result()) as SchemaMigrateProgress).state).toBe('cancelled');
    } finally {
      await client.connection.close();
    }
  });

  it('applies with --yes, printing each migration, and a rerun has nothing to do', async () => {
    const r = await frameworks(['cluster', 'migrate', '--manifest', manifest, '--to-version', 'v0.1.0', '--yes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ applied cli_mig\/v0\.1\.0\/expand\/001_t\.sql/);
    expect(r.stdout).toMatch(/✓ applied cli_mig\/v0\.1\.0\/expand\/002_t_v\.notx\.sql/);
    expect(r.stdout).toContain('Migrations applied: 2 of 2 expand migration(s).');
    const again = await frameworks([
      'cluster',
      'migrate',
      '--manifest',
      manifest,
      '--to-version',
      'v0.1.0',
      '--yes',
      '--json',
    ]);
    expect(again.code).toBe(0);
    const json = JSON.parse(again.stdout) as SchemaMigrateProgress;
    expect(json).toMatchObject({ state: 'completed', alreadyApplied: 2, migrations: [] });
  });
});

describe('frameworks cluster migrate validate', () => {
  it('reports every problem with file:line and exits 1; a clean tree passes', async () => {
    const bad = tree({
      'purser/v0.2.0/expand/001_drop.sql': 'CREATE TABLE x (id int);\n\nDROP TABLE invoices;\n',
      'purser/v0.2.0/expand/002_idx.sql': 'CREATE INDEX CONCURRENTLY i ON x (id);\n',
    });
    const badManifest = writeFixtureCluster({ name: 'cli-validate', migrationsDir: bad });
    const r = await frameworks(['cluster', 'migrate', 'validate', '--manifest', badManifest]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/purser\/v0\.2\.0\/expand\/001_drop\.sql:3:/);
    expect(r.stdout + r.stderr).toMatch(/purser\/v0\.2\.0\/expand\/002_idx\.sql:1:/);

    const shipped = writeFixtureCluster({ name: 'cli-validate-ok' });
    const ok = await frameworks(['cluster', 'migrate', 'validate', '--manifest', shipped]);
    expect(ok.code).toBe(0);
  });
});

describe('a cluster with no migrations source', () => {
  let nosrc: RunningWorkers | undefined;
  let bare: string;
  beforeAll(async () => {
    bare = writeFixtureCluster({ name: 'cli-mig-nosrc', databases: ['cli_mig'], urlEnv: URL_ENV, migrationsDir: null });
    nosrc = await startWorkers([bare]);
  });
  afterAll(async () => {
    await nosrc?.stop();
  });

  it('migrate refuses naming the fix; nothing is planned from any other tree', async () => {
    const r = await frameworks([
      'cluster',
      'migrate',
      '--phase',
      'expand',
      '--to-version',
      'v0.2.0',
      '--dry-run',
      '--manifest',
      bare,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[gate\] migrations source configured: REFUSE — no migrations source is configured/);
    expect(r.stdout).toContain(`set migrations_dir in ${join(dirname(bare), 'orchestrator.yaml')}`);
    expect(r.stdout).not.toMatch(/\.sql/);
  });

  it('upgrade plan refuses the same way (the schema gate cannot be judged without the files)', async () => {
    const r = await frameworks(['cluster', 'upgrade', 'plan', '--version', 'v0.2.0', '--json', '--manifest', bare]);
    const plan = JSON.parse(r.stdout) as {
      checks: { id: string; status: string; detail: string }[];
      migrations: unknown;
    };
    const check = plan.checks.find((c) => c.id === 'migrations-source');
    expect(check?.status).toBe('refuse');
    expect(check?.detail).toContain('no migrations source is configured');
  });
});
