// The `dataMigration` workflow with the real sql driver on real PostgreSQL: completion with verified totals,
// pause/resume with an acknowledgement after which nothing commits, refusal while paused, completed runs,
// dry-run, and history size per run.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMigrationStatusView } from '../../src/contracts/data-migrate';
import { dataMigrationWorkflowId, taskQueueFor } from '../../src/temporal/ids';
import type {
  DataControlInput,
  DataControlResult,
  dataMigrationControl,
} from '../../src/workflows/data-migration-control';
import { dataStatusQuery, pauseUpdate, resumeUpdate } from '../../src/workflows/messages';
import { writePurserCluster } from '../helpers/fixtures';
import { captureHistory } from '../helpers/history';
import { seedPurser } from '../helpers/purser-data';
import { databaseUrl, sql, temporalAddress } from '../helpers/servers';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const URL_ENV = 'FW_TEST_DM_URL';
const CLUSTER = 'dm-wf';
const DB = 'dm_wf_purser';
let client: Client;
let workers: RunningWorkers;

beforeAll(async () => {
  process.env[URL_ENV] = databaseUrl();
  workers = await startWorkers([writePurserCluster(CLUSTER, DB, URL_ENV)]);
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});

function start(batchSize: number): Promise<WorkflowHandle> {
  return client.workflow.start('dataMigration', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: dataMigrationWorkflowId(CLUSTER, 'purser', 'invoice-line-items'),
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    args: [{ cluster: CLUSTER, service: 'purser', id: 'invoice-line-items', batchSize }],
  });
}

type WithoutCluster<T> = T extends unknown ? Omit<T, 'cluster'> : never;

async function controlRun(input: WithoutCluster<DataControlInput>): Promise<DataControlResult> {
  return client.workflow.execute<typeof dataMigrationControl>('dataMigrationControl', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/data-control/${Math.random().toString(36).slice(2)}`,
    args: [{ cluster: CLUSTER, ...input }],
  });
}

const ref = { service: 'purser', id: 'invoice-line-items' };

async function aggregates() {
  const [r] = await sql<{ items: number; amount: string; invoices: number }>(
    DB,
    'SELECT (SELECT count(*)::int FROM invoice_line_items) AS items, (SELECT COALESCE(sum(amount_cents), 0)::text FROM invoice_line_items) AS amount, (SELECT count(*)::int FROM invoices) AS invoices',
  );
  return r!;
}

async function historyLengths(workflowId: string): Promise<number[]> {
  const lengths: number[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    const h = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    lengths.push(h.events?.length ?? 0);
  }
  return lengths;
}

describe('dataMigration', () => {
  it('dry-run runs one batch and writes nothing; a full run completes and verify matches direct SQL aggregates', async () => {
    const seed = await seedPurser(databaseUrl(), DB, 20_000, { staleOpenTotals: true });
    const dry = await controlRun({ action: 'dry-run', ...ref, batchSize: 500 });
    expect(dry).toMatchObject({ action: 'dry-run', scopes: [{ batch: { scanned: 500 }, done: false }] });
    expect(await sql(DB, "SELECT 1 FROM pg_tables WHERE tablename = '_data_migrations'")).toEqual([]);
    expect((await aggregates()).items).toBe(0);

    const handle = await start(1000);
    const v = (await handle.result()) as DataMigrationStatusView;
    expect(v.state).toBe('completed');
    expect(v.totals.scanned).toBe(seed.invoices);
    const agg = await aggregates();
    expect(agg.items).toBe(seed.lineItems);
    expect(Number(agg.amount)).toBe(seed.amountCents);
    expect(await sql(DB, "SELECT status FROM _data_migrations WHERE id = 'invoice-line-items'")).toEqual([
      { status: 'completed' },
    ]);

    const verify = await controlRun({ action: 'verify', ...ref });
    expect(verify.action).toBe('verify');
    if (verify.action === 'verify') {
      expect(verify.checks.length).toBeGreaterThan(3);
      expect(verify.checks.filter((c) => !c.ok)).toEqual([]);
    }
    for (const n of await historyLengths(handle.workflowId)) expect(n).toBeLessThan(10_240);

    // Running a completed migration reports completed and changes nothing.
    const again = (await (await start(1000)).result()) as DataMigrationStatusView;
    expect(again.state).toBe('completed');
    expect(again.reason).toContain('already completed');
    expect((await aggregates()).items).toBe(seed.lineItems);
  });

  it('pause is acknowledged between batches; nothing commits while paused; resume completes with the same totals', async () => {
    const seed = await seedPurser(databaseUrl(), DB, 40_000);
    const handle = await start(200);
    for (let i = 0; i < 200; i++) {
      const s = await handle.query(dataStatusQuery);
      if (s.batches >= 5) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const ack = await handle.executeUpdate(pauseUpdate, { args: [{}] });
    expect(ack.state).toBe('paused');
    const atPause = await aggregates();
    const [cp1] = await sql<{ checkpoint: unknown }>(DB, 'SELECT checkpoint FROM _data_migration_runs');
    expect(await sql(DB, "SELECT status FROM _data_migrations WHERE id = 'invoice-line-items'")).toEqual([
      { status: 'paused' },
    ]);
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await aggregates()).toEqual(atPause);
    const [cp2] = await sql<{ checkpoint: unknown }>(DB, 'SELECT checkpoint FROM _data_migration_runs');
    expect(cp2).toEqual(cp1);
    expect(atPause.items).toBeGreaterThan(0);
    expect(atPause.items).toBeLessThan(seed.lineItems);

    await expect(handle.executeUpdate(pauseUpdate, { args: [{}] })).rejects.toThrow();
    const resumed = await handle.executeUpdate(resumeUpdate);
    expect(['running', 'completed']).toContain(resumed.state);
    const done = (await handle.result()) as DataMigrationStatusView;
    expect(done.state).toBe('completed');
    await captureHistory(client, handle.workflowId, 'data-migration-pause-resume');
    const agg = await aggregates();
    expect(agg.items).toBe(seed.lineItems);
    expect(Number(agg.amount)).toBe(seed.amountCents);
  });

  it('a paused migration with no run refuses `run` until resumed', async () => {
    const seed = await seedPurser(databaseUrl(), DB, 2_000);
    const paused = await controlRun({ action: 'pause', ...ref });
    expect(paused).toMatchObject({ action: 'pause', job: { status: 'paused' } });
    const refused = (await (await start(500)).result()) as DataMigrationStatusView;
    expect(refused.state).toBe('refused');
    expect(refused.reason).toContain('data-migrate resume purser.invoice-line-items');
    expect((await aggregates()).items).toBe(0);
    await controlRun({ action: 'resume', ...ref });
    const done = (await (await start(500)).result()) as DataMigrationStatusView;
    expect(done.state).toBe('completed');
    expect((await aggregates()).items).toBe(seed.lineItems);
  });
});
