// The `dataMigration` and `dataMigrationControl` workflows with the SERVICE driver, end to end: a real worker,
// a real sshd on loopback as the service's host, the fake service binary (test/fixtures/service-bin) installed
// in the SPEC §6 layout `<root>/foghorn/current/foghorn` (native mode), and the job's state mirrored into the
// owning database on the test PostgreSQL. The catalog is a temp copy of test/fixtures/catalog that declares
// foghorn's `edge-geo-backfill` (driver service) and gives foghorn a database of its own name.
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadClusterConfig, type LoadedCluster } from '../../src/activities/cluster-config';
import { locate, prepare } from '../../src/activities/data-migrations/activities';
import type { DataMigrationStatusView } from '../../src/contracts/data-migrate';
import { dataMigrationWorkflowId, taskQueueFor } from '../../src/temporal/ids';
import type {
  DataControlInput,
  DataControlResult,
  dataMigrationControl,
} from '../../src/workflows/data-migration-control';
import { dataStatusQuery, pauseUpdate, resumeUpdate } from '../../src/workflows/messages';
import { FIXTURES, writeFwCluster } from '../helpers/fixtures';
import { expectIdle } from '../helpers/history';
import { databaseUrl, freshDatabase, sql, temporalAddress } from '../helpers/servers';
import { generateEd25519, startSshd, type TestSshd } from '../helpers/sshd';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const URL_ENV = 'FW_TEST_DM_SVC_URL';
const CLUSTER = 'dm-svc';
const DB = 'dm_svc_foghorn';
const ID = 'edge-geo-backfill';
const ref = { service: 'foghorn', id: ID };
const SCOPES = [
  { kind: 'region', value: 'eu' },
  { kind: 'region', value: 'us' },
];

let sshd: TestSshd;
let workers: RunningWorkers;
let client: Client;
let work: string;
let stateFile: string;
let marker: string;
let knownHosts: string;

/** The fixture catalog with foghorn's service-driver requirement and foghorn's database renamed to DB. */
function writeCatalog(dir: string): void {
  mkdirSync(dir);
  const releases = readFileSync(join(FIXTURES, 'catalog', 'releases.yaml'), 'utf8')
    .replace(/^(\s+foghorn): foghorn$/m, `$1: ${DB}`)
    .replace(
      /^( +)driver: sql\n/m,
      (line, indent: string) =>
        `${line}${indent.slice(2)}- id: ${ID}\n${indent}service: foghorn\n${indent}introduced_in: v0.2.0\n` +
        `${indent}required_before_phase: contract\n${indent}driver: service\n`,
    );
  expect(releases).toContain(`driver: service`);
  writeFileSync(join(dir, 'releases.yaml'), releases);
  const services = readFileSync(join(FIXTURES, 'catalog', 'services.yaml'), 'utf8').replace(
    /^(\s+database): foghorn$/m,
    `$1: ${DB}`,
  );
  writeFileSync(join(dir, 'services.yaml'), services);
}

/** The fake service as release r1 under `<root>/foghorn/releases`, reached through the `current` symlink. */
function installService(root: string): string {
  const release = join(root, 'foghorn', 'releases', 'r1');
  mkdirSync(release, { recursive: true });
  const bin = join(release, 'foghorn');
  // Pin the interpreter to this Node: the PATH of an SSH login may not contain it.
  const source = readFileSync(join(FIXTURES, 'service-bin', 'fake-service'), 'utf8');
  writeFileSync(bin, source.replace(/^#!.*\n/, `#!${process.execPath}\n`));
  chmodSync(bin, 0o755);
  symlinkSync(release, join(root, 'foghorn', 'current'));
  return `${bin}.state.json`;
}

/** cluster.yaml in `dir` (keys next to it): foghorn on edge1, the test sshd. */
function writeCluster(dir: string, opts: { name?: string; docker?: boolean; identityFile?: string } = {}): string {
  writeFileSync(join(dir, 'id_ed25519'), sshd.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'known_hosts'), `${sshd.knownHostsLine}\n`);
  return writeFwCluster(dir, {
    name: opts.name ?? CLUSTER,
    hosts: { edge1: { address: sshd.host, port: sshd.port, user: sshd.user } },
    services: { foghorn: { mode: opts.docker ? 'docker' : 'native', hosts: ['edge1'] } },
    databases: { names: [DB], urlEnv: URL_ENV },
    identityFile: opts.identityFile ?? './id_ed25519',
    catalogDir: join(work, 'catalog'),
  });
}

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'fw-dm-service-'));
  writeCatalog(join(work, 'catalog'));
  const root = join(work, 'opt-frameworks');
  stateFile = installService(root);
  const markers = join(work, 'markers');
  mkdirSync(markers);
  marker = join(markers, 'foghorn.enabled');
  knownHosts = join(work, 'known_hosts');
  // Read by the worker's activities at call time (see src/activities/data-migrations/activities.ts).
  process.env.FRAMEWORKS_SERVICE_ROOT = root;
  process.env.FRAMEWORKS_DM_MARKER_DIR = markers;
  process.env[URL_ENV] = databaseUrl();
  workers = await startWorkers([writeCluster(work)]);
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

beforeEach(async () => {
  await freshDatabase(DB);
  writeFileSync(marker, '');
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
  writeFileSync(
    stateFile,
    JSON.stringify({ migrations: { [ID]: { total: 25, releaseVersion: 'v0.2.0', scopes: SCOPES } } }),
  );
});

interface FakeRun {
  status: string;
  checkpoint: { last_id: number } | null;
  counts: { scanned: number; changed: number };
}
function fakeRuns(): Record<string, FakeRun> {
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { migrations: Record<string, { runs?: object }> };
  return (state.migrations[ID]!.runs ?? {}) as Record<string, FakeRun>;
}

function start(batchSize: number): Promise<WorkflowHandle> {
  return client.workflow.start('dataMigration', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: dataMigrationWorkflowId(CLUSTER, 'foghorn', ID),
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    args: [{ cluster: CLUSTER, ...ref, batchSize }],
  });
}

type WithoutCluster<T> = T extends unknown ? Omit<T, 'cluster'> : never;

function controlRun(input: WithoutCluster<DataControlInput>): Promise<DataControlResult> {
  return client.workflow.execute<typeof dataMigrationControl>('dataMigrationControl', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/data-control/${Math.random().toString(36).slice(2)}`,
    args: [{ cluster: CLUSTER, ...input }],
  });
}

/** Every message down a failure's cause chain (workflow → activity → application failure). */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    out.push(e.message ?? '');
  }
  return out.join(' <- ');
}

async function dbRuns() {
  return sql<{ scope_value: string; status: string; checkpoint: unknown; scanned_count: string }>(
    DB,
    'SELECT scope_value, status, checkpoint, scanned_count FROM _data_migration_runs ORDER BY scope_value',
  );
}

describe('dataMigration with the service driver', () => {
  it('dry-run changes nothing; a run completes through the service binary; verify returns its checks', async () => {
    const dry = await controlRun({ action: 'dry-run', ...ref, batchSize: 10 });
    expect(dry).toEqual({
      action: 'dry-run',
      scopes: SCOPES.map((scope) => ({
        scope,
        batch: { scanned: 10, changed: 10, skipped: 0, errors: 0 },
        done: false,
      })),
    });
    expect(fakeRuns()).toEqual({});

    const v = (await (await start(10)).result()) as DataMigrationStatusView;
    expect(v).toMatchObject({ state: 'completed', driver: 'service', database: DB, estimatedTotal: null });
    expect(v.batches).toBe(6); // 25 rows per scope in batches of 10
    expect(v.totals).toEqual({ scanned: 50, changed: 50, skipped: 0, errors: 0 });
    // The service's own state advanced ...
    for (const s of SCOPES) {
      expect(fakeRuns()[`${s.kind}/${s.value}`]).toMatchObject({ status: 'completed', checkpoint: { last_id: 25 } });
    }
    // ... and the owning database, which gates and doctor read, says the same.
    expect(await dbRuns()).toEqual([
      { scope_value: 'eu', status: 'completed', checkpoint: { last_id: 25 }, scanned_count: '25' },
      { scope_value: 'us', status: 'completed', checkpoint: { last_id: 25 }, scanned_count: '25' },
    ]);
    const status = await controlRun({ action: 'status', ...ref });
    expect(status).toMatchObject({ action: 'status', job: { status: 'completed', releaseVersion: 'v0.2.0' } });

    const verify = await controlRun({ action: 'verify', ...ref });
    expect(verify).toEqual({
      action: 'verify',
      checks: [{ name: 'rows_changed', expected: '50', actual: '50', ok: true }],
    });

    // A completed migration runs no batch again.
    const again = (await (await start(10)).result()) as DataMigrationStatusView;
    expect(again).toMatchObject({ state: 'completed', batches: 0 });
    expect(again.reason).toContain('already completed');
  });

  it('pause lands between batches and is mirrored in the owning database; resume completes the job', async () => {
    const handle = await start(3);
    await waitFor('3 batches', async () => (await handle.query(dataStatusQuery)).batches >= 3, { intervalMs: 50 });
    const ack = await handle.executeUpdate(pauseUpdate, { args: [{}] });
    expect(ack.state).toBe('paused');
    expect(await sql(DB, `SELECT status FROM _data_migrations WHERE id = '${ID}'`)).toEqual([{ status: 'paused' }]);
    const atPause = JSON.stringify(fakeRuns());
    // Batches reach the service only from dmRunBatch activities; a paused run has none and starts none itself.
    await expectIdle(handle);
    expect(JSON.stringify(fakeRuns())).toBe(atPause);

    await handle.executeUpdate(resumeUpdate);
    const done = (await handle.result()) as DataMigrationStatusView;
    expect(done.state).toBe('completed');
    expect(done.totals.scanned).toBe(50);
    expect((await dbRuns()).map((r) => r.status)).toEqual(['completed', 'completed']);
  });

  it('refuses to run a service that has not adopted data-migrations, before writing any state', async () => {
    rmSync(marker);
    const v = (await (await start(10)).result()) as DataMigrationStatusView;
    expect(v.state).toBe('refused');
    expect(v.reason).toContain('foghorn has not adopted data-migrations');
    expect(v.reason).toContain(`missing ${marker}`);
    expect(await sql(DB, "SELECT 1 FROM pg_tables WHERE tablename = '_data_migrations'")).toEqual([]);
    expect(fakeRuns()).toEqual({});

    // verify has no refusal outcome: the control run fails, naming the same reason (and is not retried).
    const err = await controlRun({ action: 'verify', ...ref }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(messages(err)).toContain('foghorn has not adopted data-migrations');
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses when the host key is not the pinned one', async () => {
    const other = generateEd25519(mkdtempSync(join(work, 'other-')), 'impostor');
    writeFileSync(knownHosts, `[${sshd.host}]:${sshd.port} ${other.type} ${other.blob}\n`);
    const v = (await (await start(10)).result()) as DataMigrationStatusView;
    expect(v.state).toBe('refused');
    expect(v.reason).toContain('HOST KEY CHANGED');
    expect(fakeRuns()).toEqual({});
  });
});

describe('locating a service-driver migration (direct activity calls)', () => {
  function other(opts: { docker?: boolean; identityFile?: string }): Promise<LoadedCluster> {
    return loadClusterConfig(writeCluster(mkdtempSync(join(work, 'cluster-')), { name: 'dm-svc-other', ...opts }));
  }

  it('runs native services at <root>/<svc>/current/<svc> and docker services in frameworks-<svc>', async () => {
    const native = await locate(await other({}), 'foghorn', ID);
    expect(typeof native === 'string' ? native : native.driver).toEqual({
      kind: 'service',
      host: 'edge1',
      invocation: { mode: 'native', bin: 'foghorn', installDir: `${work}/opt-frameworks/foghorn/current` },
    });
    const docker = await locate(await other({ docker: true }), 'foghorn', ID);
    expect(typeof docker === 'string' ? docker : docker.driver).toEqual({
      kind: 'service',
      host: 'edge1',
      invocation: { mode: 'docker', bin: 'foghorn', container: 'frameworks-foghorn' },
    });
  });

  it('refuses, naming the cluster.yaml key, when the SSH identity file is missing', async () => {
    const r = await prepare(await other({ identityFile: './missing_key' }), { cluster: 'dm-svc-other', ...ref });
    expect(r.outcome).toBe('refused');
    expect(r.outcome === 'refused' && r.reason).toMatch(
      /missing_key \(.*orchestrator\.yaml ssh\.identity_file\): ENOENT/,
    );
    expect(await sql(DB, "SELECT 1 FROM pg_tables WHERE tablename = '_data_migrations'")).toEqual([]);
  });
});
