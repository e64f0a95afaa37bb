// `frameworks cluster release` against the REAL lab (SPEC §5 release; the operator-surfaces issue's acceptance):
// one durable run takes the lab from v0.1.0 to v0.2.0 — expand migrations, upgrade --all on the namespaced hosts,
// the required purser backfill, postdeploy — and a release whose gates would fail is refused before anything
// changes (hosts, ledgers and data-migration state all read back).
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labPaths } from '../../lab/config';
import { labDown, labUp, type LabState } from '../../lab/lab';
import { insertInvoices } from '../../lab/purser-invoices';
import { frameworksAsync, type CliResult } from '../helpers/cli';
import { captureHistory } from '../helpers/history';
import { acquireLabForTest, releaseLabForTest } from '../../lab/lock';
import { releaseIdentity, snapshot, type Snapshot } from '../helpers/lab-hosts';
import { temporalAddress } from '../helpers/servers';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';
import { fetchHistories, secretHits } from './upgrade-lab-history';

let state: LabState;
let worker: WorkerProcess | undefined;
let env: NodeJS.ProcessEnv;
let dbUrl: string;
const paths = () => labPaths(state.root);
const INVOICES = 3_000;

function cli(args: string[]): Promise<CliResult> {
  return frameworksAsync(
    ['cluster', ...args],
    { ...env, FRAMEWORKS_HEALTH_INTERVAL: '500 milliseconds', FRAMEWORKS_HEALTH_DEADLINE: '20 seconds' },
    300_000,
  );
}
const text = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;

async function query<T extends pg.QueryResultRow>(db: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: `${dbUrl}/${db}` });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

/** Everything a release may change, read back: ledgers of every lab database and the purser backfill state. */
async function databaseFacts(): Promise<Record<string, unknown>> {
  const facts: Record<string, unknown> = {};
  for (const db of ['quartermaster', 'commodore', 'purser', 'foghorn']) {
    facts[db] = await query(db, 'SELECT version, phase, seq, checksum FROM _migrations ORDER BY 1, 2, 3').catch(
      (err: Error) => `unreadable: ${err.message}`,
    );
  }
  facts.dataMigrations = await query('purser', 'SELECT id, status FROM _data_migrations ORDER BY 1').catch(
    () => 'no state table',
  );
  facts.lineItems = (
    await query<{ n: number }>('purser', 'SELECT count(*)::int AS n FROM invoice_line_items').catch(() => [{ n: -1 }])
  )[0]!.n;
  return facts;
}

const hostFacts = (s: Snapshot) =>
  Object.fromEntries(
    Object.entries(s).map(([k, r]) => [k, { identity: r.identity, instance: r.instance, startedAt: r.startedAt }]),
  );

beforeAll(async () => {
  await acquireLabForTest();
  state = await labUp({ fresh: true, log: (l) => console.error(`[lab] ${l}`) });
  dbUrl = /FRAMEWORKS_DATABASE_URL=(\S+)/.exec(readFileSync(state.envFile!, 'utf8'))![1]!;
  env = { TEMPORAL_ADDRESS: temporalAddress(), FRAMEWORKS_DATABASE_URL: dbUrl, FRAMEWORKS_MANIFEST: state.clusterFile };
  worker = await spawnWorker(state.clusterFile!, env);
  // The cluster as v0.1.0 left it: its schema, and invoices written by v0.1.0 binaries (JSONB line items only).
  const base = await cli(['migrate', '--phase', 'expand', '--to-version', 'v0.1.0', '--yes']);
  expect(base.code, text(base)).toBe(0);
  const c = new pg.Client({ connectionString: `${dbUrl}/purser` });
  await c.connect();
  try {
    await insertInvoices(c, INVOICES);
  } finally {
    await c.end();
  }
}, 300_000);

afterAll(async () => {
  try {
    await worker?.kill('SIGTERM');
    await labDown();
  } finally {
    releaseLabForTest();
  }
}, 180_000);

describe('cluster release on the lab', () => {
  it('refuses up front when a gate would fail: nothing is migrated, deployed or backfilled', async () => {
    const hostsBefore = hostFacts(await snapshot(paths()));
    const dbBefore = await databaseFacts();
    // v0.3.0-rc1 needs v0.2.0 running (compatibility floor); the cluster runs v0.1.0.
    const r = await cli(['release', '--version', 'rc', '--yes']);
    expect(r.code, text(r)).toBe(1);
    expect(r.stdout).toMatch(/\[gate\] upgrade: compatibility floor: REFUSE/);
    expect(text(r)).toContain('refused before anything changed');
    // The expand step, which would have been harmless on its own, did not run either.
    expect(await databaseFacts()).toEqual(dbBefore);
    expect(hostFacts(await snapshot(paths()))).toEqual(hostsBefore);
  }, 300_000);

  it('--dry-run shows every step of the plan and changes nothing', async () => {
    const dbBefore = await databaseFacts();
    const r = await cli(['release', '--version', 'v0.2.0', '--dry-run']);
    expect(r.code, text(r)).toBe(0);
    expect(r.stdout).toMatch(/1\. expand: \d+ pending expand migration/);
    expect(r.stdout).toMatch(/2\. upgrade: 5 service\(s\) in order/);
    expect(r.stdout).toContain('3. data-migrations: 1 to run');
    expect(r.stdout).toMatch(/4\. postdeploy: \d+ pending postdeploy migration/);
    expect(r.stdout).toContain('data migration: purser.invoice-line-items');
    expect(await databaseFacts()).toEqual(dbBefore);
  }, 300_000);

  it('release --yes takes the lab from v0.1.0 to v0.2.0 in one run: expand, upgrade, backfill, postdeploy', async () => {
    const r = await cli(['release', '--version', 'v0.2.0', '--yes']);
    expect(r.code, text(r)).toBe(0);
    for (const step of ['expand', 'upgrade', 'data-migrations', 'postdeploy']) {
      expect(r.stdout, step).toContain(`✓ ${step}: completed`);
    }
    expect(r.stdout).toContain('lab released to v0.2.0');

    // Hosts: every replica at v0.2.0's pinned identity.
    const after = await snapshot(paths());
    for (const [key, replica] of Object.entries(after)) {
      const svc = key.split('@')[0]!;
      expect(replica.identity, key).toBe(releaseIdentity(state.releaseRepository!, 'v0.2.0', svc));
      expect(replica.health, key).toBe(200);
    }
    // Ledgers: v0.2.0 expand and postdeploy applied (purser's normalised table exists), contract not.
    const purser = await query<{ phase: string }>(
      'purser',
      "SELECT DISTINCT phase FROM _migrations WHERE version = 'v0.2.0' ORDER BY 1",
    );
    expect(purser.map((x) => x.phase)).toEqual(['expand', 'postdeploy']);
    // Data: the backfill completed and its verify passes (counts and totals against the JSONB source).
    expect(await query('purser', "SELECT status FROM _data_migrations WHERE id = 'invoice-line-items'")).toEqual([
      { status: 'completed' },
    ]);
    const source = await query<{ n: number }>(
      'purser',
      'SELECT sum(jsonb_array_length(line_items))::int AS n FROM invoices',
    );
    const copied = await query<{ n: number }>('purser', 'SELECT count(*)::int AS n FROM invoice_line_items');
    expect(copied[0]!.n).toBe(source[0]!.n);
    expect(copied[0]!.n).toBeGreaterThan(INVOICES);
    const verify = await cli(['data-migrate', 'verify', 'purser.invoice-line-items']);
    expect(verify.code, text(verify)).toBe(0);

    // Running it again, detached and then watched with `runs watch`, has nothing to do.
    const started = await cli(['release', '--version', 'v0.2.0', '--yes', '--detach']);
    expect(started.code, text(started)).toBe(0);
    expect(started.stdout).toContain('frameworks cluster runs watch fw/lab/change');
    const again = await cli(['runs', 'watch', 'fw/lab/change']);
    expect(again.code, text(again)).toBe(0);
    expect(again.stdout).toContain('= upgrade: nothing-to-do');
    expect(again.stdout).toContain('fw/lab/change completed');
  }, 600_000);

  it('the release run and its children hold no lab secret (histories fetched from the server, payloads decoded)', async () => {
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    try {
      const runs = await fetchHistories(client, 'fw/lab/');
      const releases = runs.filter((r) => r.type === 'release');
      expect(releases.length).toBeGreaterThanOrEqual(4); // refused, dry-run, the release, the rerun
      for (const type of ['schemaMigrate', 'clusterUpgrade', 'serviceUpgrade', 'dataMigration']) {
        expect(
          runs.some((r) => r.type === type),
          type,
        ).toBe(true);
      }
      const done = client.workflow.list({ query: 'WorkflowId = "fw/lab/change" AND WorkflowType = "release"' });
      for await (const wf of done) {
        const d = await client.workflow.getHandle(wf.workflowId, wf.runId).describe();
        if (d.status.name !== 'COMPLETED') continue;
        const result = (await client.workflow.getHandle(wf.workflowId, wf.runId).result()) as { state: string };
        if (result.state !== 'completed') continue;
        await captureHistory(client, wf.workflowId, 'release-v0.2.0', wf.runId);
        break;
      }
      const secrets: Record<string, string> = {
        'FRAMEWORKS_DATABASE_URL (worker env)': dbUrl,
        'ssh private key': readFileSync(paths().clientKey, 'utf8')
          .split('\n')
          .filter((l) => l && !l.startsWith('-----'))
          .join(''),
      };
      const password = new URL(dbUrl).password;
      if (password) secrets['database password'] = password;
      expect(secretHits(runs, secrets)).toEqual([]);
    } finally {
      await client.connection.close();
    }
  }, 180_000);
});
