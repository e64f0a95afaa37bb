// The `dataMigration` workflow with the real sql driver on real PostgreSQL: completion with verified totals,
// pause/resume with an acknowledgement after which nothing commits, refusal while paused, completed runs,
// dry-run, and history size per run.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMigrationStatusView, RunBatchResult } from '../../src/contracts/data-migrate';
import { dataMigrationWorkflowId, taskQueueFor } from '../../src/temporal/ids';
import type {
  DataControlInput,
  DataControlResult,
  dataMigrationControl,
} from '../../src/workflows/data-migration-control';
import { dataStatusQuery, pauseUpdate, resumeUpdate } from '../../src/workflows/messages';
import { writePurserCluster } from '../helpers/fixtures';
import { captureHistory, expectIdle } from '../helpers/history';
import { seedPurser } from '../../lab/purser-seed';
import { databaseUrl, sql, temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
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

function start(batchSize: number, batchTimeBudgetMs?: number): Promise<WorkflowHandle> {
  return client.workflow.start('dataMigration', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: dataMigrationWorkflowId(CLUSTER, 'purser', 'invoice-line-items'),
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    args: [
      {
        cluster: CLUSTER,
        service: 'purser',
        id: 'invoice-line-items',
        batchSize,
        ...(batchTimeBudgetMs === undefined ? {} : { batchTimeBudgetMs }),
      },
    ],
  });
}

interface ActivityEvent {
  name: string;
  scheduledId: number;
  completedId: number | null;
  result?: RunBatchResult;
}

/** Activities of a run in history order, with dmRunBatch results decoded (JSON payloads). */
async function activityEvents(handle: WorkflowHandle) {
  const history = await handle.fetchHistory();
  const acts = new Map<number, ActivityEvent>();
  let updateCompletedId: number | null = null;
  for (const e of history.events ?? []) {
    const id = Number(e.eventId);
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) acts.set(id, { name: sched.activityType?.name ?? '', scheduledId: id, completedId: null });
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const a = acts.get(Number(done.scheduledEventId))!;
      a.completedId = id;
      const data = done.result?.payloads?.[0]?.data;
      if (a.name === 'dmRunBatch' && data) a.result = JSON.parse(Buffer.from(data).toString('utf8')) as RunBatchResult;
    }
    if (e.workflowExecutionUpdateCompletedEventAttributes && updateCompletedId === null) updateCompletedId = id;
  }
  return { activities: [...acts.values()], updateCompletedId };
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

async function historyLengths(workflowId: string, since = new Date(0)): Promise<number[]> {
  const lengths: number[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    if (wf.startTime < since) continue;
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
    await waitFor('5 batches', async () => (await handle.query(dataStatusQuery)).batches >= 5, { intervalMs: 50 });
    const ack = await handle.executeUpdate(pauseUpdate, { args: [{}] });
    expect(ack.state).toBe('paused');
    const atPause = await aggregates();
    const [cp1] = await sql<{ checkpoint: unknown }>(DB, 'SELECT checkpoint FROM _data_migration_runs');
    expect(await sql(DB, "SELECT status FROM _data_migrations WHERE id = 'invoice-line-items'")).toEqual([
      { status: 'paused' },
    ]);
    // Batches commit only inside dmRunBatch activities, and a paused run has none and can start none on its own.
    await expectIdle(handle);
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
    await captureHistory(client, handle.workflowId, 'data-migration-multi-batch-pause-resume');
    const agg = await aggregates();
    expect(agg.items).toBe(seed.lineItems);
    expect(Number(agg.amount)).toBe(seed.amountCents);
  });

  it('pause during a multi-batch activity: mirrored at once, the activity stops at its next batch, ack after its last commit', async () => {
    const seed = await seedPurser(databaseUrl(), DB, 40_000);
    // A budget far longer than the run: without a pause, one activity would apply every batch.
    const handle = await start(100, 300_000);
    await waitFor(
      '2,000 rows scanned',
      async () => {
        const rows = await sql<{ scanned: string }>(DB, 'SELECT scanned_count AS scanned FROM _data_migration_runs');
        return Number(rows[0]?.scanned ?? 0) >= 2_000;
      },
      { intervalMs: 10 },
    );
    const ack = await handle.executeUpdate(pauseUpdate, { args: [{}] });
    expect(ack.state).toBe('paused');
    const [atAck] = await sql<{ checkpoint: unknown; scanned: string }>(
      DB,
      'SELECT checkpoint, scanned_count AS scanned FROM _data_migration_runs',
    );
    const itemsAtAck = (await aggregates()).items;

    const { activities, updateCompletedId } = await activityEvents(handle);
    const batches = activities.filter((a) => a.name === 'dmRunBatch');
    // One activity ran many batches and stopped because of the pause, well before the end of the data.
    expect(batches).toHaveLength(1);
    const first = batches[0]!;
    expect(first.result).toMatchObject({ outcome: 'paused', done: false });
    expect(first.result!.batches).toBeGreaterThanOrEqual(20);
    expect(first.result!.counts.scanned).toBeLessThan(seed.invoices);
    // The pause was mirrored while that activity was still running (that is what stopped it) ...
    const mirror = activities.find((a) => a.name === 'dmSetStatus')!;
    expect(mirror.scheduledId).toBeLessThan(first.completedId!);
    // ... and the acknowledgement came after the activity returned, i.e. after its last commit ...
    expect(updateCompletedId).not.toBeNull();
    expect(first.completedId!).toBeLessThan(updateCompletedId!);
    // ... which is the state the acknowledgement reports and the row holds.
    expect(Number(atAck!.scanned)).toBe(first.result!.counts.scanned);
    expect(atAck!.checkpoint).toEqual(first.result!.checkpoint);
    expect(ack.totals.scanned).toBe(first.result!.counts.scanned);

    await expectIdle(handle);
    const [later] = await sql<{ checkpoint: unknown; scanned: string }>(
      DB,
      'SELECT checkpoint, scanned_count AS scanned FROM _data_migration_runs',
    );
    expect(later).toEqual(atAck);
    expect((await aggregates()).items).toBe(itemsAtAck);

    const resumed = await handle.executeUpdate(resumeUpdate);
    expect(['running', 'completed']).toContain(resumed.state);
    const done = (await handle.result()) as DataMigrationStatusView;
    expect(done.state).toBe('completed');
    expect(done.batches).toBe(400);
    await captureHistory(client, handle.workflowId, 'data-migration-multi-batch-pause-mid-activity');
    const agg = await aggregates();
    expect(agg.items).toBe(seed.lineItems);
    expect(Number(agg.amount)).toBe(seed.amountCents);
  });

  it('continues-as-new after 400 batch activities, carrying its state; every run stays small', async () => {
    const seed = await seedPurser(databaseUrl(), DB, 8_200);
    // Budget 0: one batch per activity, so 410 activities, one segment boundary.
    const since = new Date(Date.now() - 1_000);
    const handle = await start(20, 0);
    const v = (await handle.result()) as DataMigrationStatusView;
    expect(v.state).toBe('completed');
    expect(v.batches).toBe(410);
    expect(v.runSegments).toBe(2);
    expect(v.totals.scanned).toBe(seed.invoices);
    const lengths = await historyLengths(handle.workflowId, since);
    expect(lengths).toHaveLength(2);
    for (const n of lengths) expect(n).toBeLessThan(10_240);
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
