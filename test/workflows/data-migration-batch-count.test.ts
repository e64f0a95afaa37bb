// The `batches` counter of a data migration after a worker dies in the crash window: the batch's transaction
// committed, the activity died before it heartbeated or reported. The retried attempt finds the checkpoint moved
// by a commit it cannot tell was its own (`stale`) and continues from the stored truth, so the rows are right;
// the counter must be right too, because it advances in each batch's own transaction (`batch_count`) and the
// workflow reads it from there instead of adding up what activities report.
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClusterConfig, type LoadedCluster } from '../../src/activities/cluster-config';
import { batch } from '../../src/activities/data-migrations/activities';
import type { DataMigrationStatusView, RunBatchInput, RunBatchResult } from '../../src/contracts/data-migrate';
import { dataMigrationWorkflowId, taskQueueFor } from '../../src/temporal/ids';
import { writePurserCluster } from '../helpers/fixtures';
import { seedPurser } from '../../lab/purser-seed';
import { databaseUrl, sql, temporalAddress } from '../helpers/servers';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const URL_ENV = 'FW_TEST_DM_COUNT_URL';
const CLUSTER = 'dm-count';
const DB = 'dm_count_purser';
let client: Client;
let workers: RunningWorkers;
let cluster: LoadedCluster;
/** Attempts of dmRunBatch, and how many batches the killed attempt committed before it died. */
const attempts: { attempt: number; outcome: string; batches: number | undefined }[] = [];
let killedAfter = 0;

/**
 * dmRunBatch as the worker runs it, except that the first attempt of the first call dies right after its third
 * commit: before any heartbeat (the body heartbeats from onProgress, which is replaced here) and before it
 * reports. Temporal retries it as it would after a SIGKILL (a failed attempt instead of a heartbeat timeout).
 */
async function dmRunBatch(input: RunBatchInput): Promise<RunBatchResult> {
  const { attempt } = Context.current().info;
  if (killedAfter === 0 && attempt === 1) {
    return batch(cluster, input, {
      onProgress: (p) => {
        if (p.batches >= 3) {
          killedAfter = p.batches;
          throw new Error(`worker killed after committing batch ${p.batches}`);
        }
      },
    });
  }
  const r = await batch(cluster, input);
  attempts.push({ attempt, outcome: r.outcome, batches: r.batches });
  return r;
}

beforeAll(async () => {
  process.env[URL_ENV] = databaseUrl();
  const manifest = writePurserCluster(CLUSTER, DB, URL_ENV);
  cluster = await loadClusterConfig(manifest);
  workers = await startWorkers([manifest], { dmRunBatch });
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});

describe('data migration batches counter', () => {
  it('an attempt killed after committing (before reporting) leaves the run batches exact: counted in the batch transaction', async () => {
    const seed = await seedPurser(databaseUrl(), DB, 3_000);
    const handle = await client.workflow.start('dataMigration', {
      taskQueue: taskQueueFor(CLUSTER),
      workflowId: dataMigrationWorkflowId(CLUSTER, 'purser', 'invoice-line-items'),
      args: [{ cluster: CLUSTER, service: 'purser', id: 'invoice-line-items', batchSize: 100 }],
    });
    const v = (await handle.result()) as DataMigrationStatusView;
    expect(v.state).toBe('completed');
    // The crash window was hit: three batches committed by an attempt that never reported them, and the retry
    // found the checkpoint moved under it.
    expect(killedAfter).toBe(3);
    expect(attempts[0]).toMatchObject({ attempt: 2, outcome: 'stale', batches: 0 });
    // Rows exactly once (3,000 invoices at 100 per batch: 30 batches)…
    expect(v.totals.scanned).toBe(seed.invoices);
    const [items] = await sql<{ n: number }>(DB, 'SELECT count(*)::int AS n FROM invoice_line_items');
    expect(items!.n).toBe(seed.lineItems);
    // …and batches exactly too: the stored counter and the run's view.
    const [row] = await sql<{ batches: string }>(DB, 'SELECT batch_count::text AS batches FROM _data_migration_runs');
    expect(Number(row!.batches)).toBe(30);
    expect(v.batches).toBe(30);
    expect(v.scopes[0]!.batches).toBe(30);
  });
});
