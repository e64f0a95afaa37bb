// The acceptance run: a 1,000,000-invoice purser backfill at batch 1,000 on a worker that is SIGKILLed at
// three random points and restarted each time. It must complete; verify must pass; line items and amounts must
// equal direct SQL aggregates; the cumulative counters must equal the invoice count exactly (a batch applied
// twice would count its rows twice), and the batches counter the true batch count (a kill between a commit and
// its report must not lose the batch: the counter advances in the batch's transaction); every run of the continue-as-new chain stays under 10,240 events.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import type { DataMigrationStatusView } from '../../src/contracts/data-migrate';
import { dataMigrationWorkflowId, taskQueueFor } from '../../src/temporal/ids';
import type { DataControlResult } from '../../src/workflows/data-migration-control';
import { dataStatusQuery } from '../../src/workflows/messages';
import { writePurserCluster } from '../helpers/fixtures';
import { seedPurser } from '../../lab/purser-seed';
import { databaseUrl, sql, temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const ROWS = Number(process.env.FW_DM_E2E_ROWS ?? 1_000_000);
const workers: WorkerProcess[] = [];
afterAll(async () => {
  for (const w of workers) await w.kill();
});

describe('1M-row purser backfill', () => {
  it(`${ROWS} invoices at batch 1000, worker SIGKILLed three times: completes exactly once, verified`, async () => {
    const db = 'dm_1m_purser';
    const seed = await seedPurser(databaseUrl(), db, ROWS, { staleOpenTotals: true });
    const manifest = writePurserCluster('dm-1m', db, 'FW_DM_1M_URL');
    const env = {
      TEMPORAL_ADDRESS: temporalAddress(),
      FW_DM_1M_URL: databaseUrl(),
      FRAMEWORKS_CACHE_DIR: mkdtempSync(join(tmpdir(), 'fw-c-')),
    };
    workers.push(await spawnWorker(manifest, env));
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    try {
      const workflowId = dataMigrationWorkflowId('dm-1m', 'purser', 'invoice-line-items');
      const handle = await client.workflow.start('dataMigration', {
        taskQueue: taskQueueFor('dm-1m'),
        workflowId,
        args: [{ cluster: 'dm-1m', service: 'purser', id: 'invoice-line-items', batchSize: 1000 }],
      });
      // Kill points spread over the run: after a random 10–25% slice of the batches each time.
      let seen = 0;
      for (let kill = 0; kill < 3; kill++) {
        const next = seen + Math.ceil((ROWS / 1000) * (0.1 + Math.random() * 0.15));
        const v = await waitFor(
          `${next}k rows scanned`,
          async () => {
            const q = await handle.query(dataStatusQuery);
            return q.totals.scanned / 1000 >= next && q;
          },
          { timeoutMs: 300_000, intervalMs: 200 },
        );
        seen = v.totals.scanned / 1000;
        await workers[workers.length - 1]!.kill('SIGKILL');
        workers.push(await spawnWorker(manifest, env));
      }
      const v = (await handle.result()) as DataMigrationStatusView;
      expect(v.state).toBe('completed');
      expect(v.totals.scanned).toBe(seed.invoices);
      const [runRow] = await sql<{ scanned: string }>(
        db,
        'SELECT sum(scanned_count)::text AS scanned FROM _data_migration_runs',
      );
      expect(Number(runRow!.scanned)).toBe(seed.invoices);
      // Keyset batches of 1,000 over the invoices; a batch is done when no invoice lies beyond its last id.
      const trueBatches = Math.ceil(seed.invoices / 1000);
      const [batchRow] = await sql<{ batches: string }>(
        db,
        'SELECT sum(batch_count)::text AS batches FROM _data_migration_runs',
      );
      expect(Number(batchRow!.batches)).toBe(trueBatches);
      expect(v.batches).toBe(trueBatches);
      const [agg] = await sql<{ items: string; amount: string }>(
        db,
        'SELECT count(*)::text AS items, COALESCE(sum(amount_cents), 0)::text AS amount FROM invoice_line_items',
      );
      expect(Number(agg!.items)).toBe(seed.lineItems);
      expect(Number(agg!.amount)).toBe(seed.amountCents);

      const verify = (await client.workflow.execute('dataMigrationControl', {
        taskQueue: taskQueueFor('dm-1m'),
        workflowId: `fw/dm-1m/data-verify/${Date.now()}`,
        args: [{ action: 'verify', cluster: 'dm-1m', service: 'purser', id: 'invoice-line-items' }],
      })) as DataControlResult;
      expect(verify.action).toBe('verify');
      if (verify.action === 'verify') expect(verify.checks.filter((c) => !c.ok)).toEqual([]);

      let runs = 0;
      let batchActivities = 0;
      for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
        const h = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
        expect(h.events?.length ?? 0).toBeLessThan(10_240);
        batchActivities += (h.events ?? []).filter(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'dmRunBatch',
        ).length;
        runs++;
      }
      // One dmRunBatch now applies ~1.5 s of batches, so 1,000 batches take a few dozen activities and fit one
      // run; a segment holds at most 400 activities, so more than that must have continued-as-new (covered at
      // one batch per activity in test/workflows/data-migration.test.ts).
      expect(batchActivities).toBeGreaterThan(0);
      if (batchActivities > 400) expect(runs).toBeGreaterThan(1);
    } finally {
      await client.connection.close();
    }
  }, 1_200_000);
});
