// Issue 15 item 2, mid-backfill: a Temporal dev server of this file's own (SQLite file, fixed port) is SIGKILLed
// while a purser backfill runs and is started again on the same file and port. The run continues and completes
// exactly once (totals equal direct SQL aggregates), the worker rides out the outage, and the CLI session that
// follows the run says it lost contact (with the reattach command), then reconnects and reports the end — no
// silent hang, no stack trace.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMigrationStatusView } from '../../src/contracts/data-migrate';
import { dataMigrationWorkflowId } from '../../src/temporal/ids';
import { dataStatusQuery } from '../../src/workflows/messages';
import { seedPurser, type PurserSeed } from '../../lab/purser-seed';
import { startFrameworks } from '../helpers/cli';
import { writePurserCluster } from '../helpers/fixtures';
import { databaseUrl, sql } from '../helpers/servers';
import { restartableServer, type RestartableServer } from '../helpers/restartable-server';
import { waitFor } from '../helpers/wait';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const ROWS = 20_000;
const DB = 'restart_dm_purser';
const URL_ENV = 'FW_RESTART_DM_URL';
let server: RestartableServer;
let worker: WorkerProcess | undefined;
let seed: PurserSeed;
let manifest: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fw-restart-dm-'));
  server = await restartableServer(join(dir, 'temporal.db'));
  seed = await seedPurser(databaseUrl(), DB, ROWS);
  manifest = writePurserCluster('restart-dm', DB, URL_ENV);
}, 180_000);

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('Temporal server SIGKILLed and restarted mid-backfill', () => {
  it('the backfill completes exactly once; the worker survives; the following CLI reconnects', async () => {
    const env = {
      TEMPORAL_ADDRESS: server.address,
      [URL_ENV]: databaseUrl(),
      FRAMEWORKS_CACHE_DIR: join(dir, 'cache'),
    };
    worker = await spawnWorker(manifest, env);
    // Small batches keep the run going for many seconds, so the kill lands mid-run.
    const cli = startFrameworks(
      ['cluster', 'data-migrate', 'run', 'purser.invoice-line-items', '--batch-size', '25', '--manifest', manifest],
      env,
    );
    let out = '';
    let err = '';
    cli.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    cli.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const cliExit = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));

    const workflowId = dataMigrationWorkflowId('restart-dm', 'purser', 'invoice-line-items');
    let client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const scannedBefore = await waitFor(
      'a fifth of the invoices scanned',
      async () => {
        const v = await client.workflow.getHandle(workflowId).query(dataStatusQuery);
        return v.totals.scanned >= ROWS / 5 && v.totals.scanned;
      },
      { timeoutMs: 180_000, intervalMs: 200 },
    );
    expect(scannedBefore).toBeLessThan(ROWS);
    await client.connection.close();

    await server.kill();
    // The following CLI notices, says how to reattach, and keeps waiting (it does not exit or hang silently).
    await waitFor('the CLI to report the lost server', () => /Lost contact with Temporal/.test(err), {
      timeoutMs: 90_000,
    });
    expect(err).toContain('Reattach later with: frameworks cluster data-migrate run purser.invoice-line-items');
    expect(cli.exitCode).toBeNull();
    await new Promise((r) => setTimeout(r, 3_000));
    expect(worker.child.exitCode, worker.output()).toBeNull();

    await server.start();
    const code = await cliExit;
    expect(code, `${out}\n${err}`).toBe(0);
    expect(err).toContain('Reconnected to Temporal');
    expect(`${out}\n${err}`).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack trace
    expect(out).toMatch(/completed/);

    client = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      const v = (await client.workflow.getHandle(workflowId).result()) as DataMigrationStatusView;
      expect(v.state).toBe('completed');
      expect(v.totals.scanned).toBe(seed.invoices);
    } finally {
      await client.connection.close();
    }
    // Exactly once: the cumulative counters and the data equal direct aggregates.
    const [runRow] = await sql<{ scanned: string }>(
      DB,
      'SELECT sum(scanned_count)::text AS scanned FROM _data_migration_runs',
    );
    expect(Number(runRow!.scanned)).toBe(seed.invoices);
    const [agg] = await sql<{ items: string; amount: string }>(
      DB,
      'SELECT count(*)::text AS items, COALESCE(sum(amount_cents), 0)::text AS amount FROM invoice_line_items',
    );
    expect(Number(agg!.items)).toBe(seed.lineItems);
    expect(Number(agg!.amount)).toBe(seed.amountCents);
    // The same worker process did all of it: it was never restarted.
    expect(worker.child.exitCode).toBeNull();
  }, 600_000);
});
