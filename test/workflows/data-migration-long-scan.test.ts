// A data migration's verify and dry-run (the sql driver) on real PostgreSQL, through the real dataMigrationControl
// workflow and the real dmVerify / dmDryRun activities in a real worker, with a definition whose statements take as
// long as a table says (pg_sleep), standing in for a scan of a big table:
// - a scan longer than its heartbeat timeout completes in ONE attempt, because the activity heartbeats while its
//   query runs (issue 11 item 7). The run asks for a 2 s heartbeat timeout; the query takes 6 s. Without the
//   heartbeats the server would time attempt 1 out after 2 s and start attempt 2 — a second scan on the database.
// - cancelling the run cancels the QUERY on the server, not only the activity: pg_stat_activity no longer lists
//   it within seconds. Before, the activity failed at once while its query ran on in PostgreSQL until it ended.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskQueueFor } from '../../src/temporal/ids';
import type { DataControlInput, DataControlResult } from '../../src/workflows/data-migration-control';
import {
  activityDurationsMs,
  scheduledHeartbeatTimeoutsMs,
  startedAttempts,
  watchHeartbeats,
} from '../helpers/activity-attempts';
import { writePurserCluster } from '../helpers/fixtures';
import { databaseUrl, freshDatabase, sql, temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const URL_ENV = 'FW_TEST_DM_LONG_SCAN_URL';
const CLUSTER = 'dm-long-scan';
const DB = 'dm_long_scan_purser';
const HEARTBEAT_TIMEOUT_MS = 2_000;
/** The scan of the heartbeat tests: 3× the heartbeat timeout. */
const SCAN_SECONDS = 6;
/** A marker in each statement, so pg_stat_activity can tell our queries from anything else on the server. */
const MARK = 'fw-long-scan-marker';

// Both statements sleep as long as scan_delay says, then answer like a real definition would.
const DEFINITION = `-- A definition whose statements take as long as scan_delay.seconds says (a stand-in for a big table).

-- name: batch
SELECT $1::jsonb AS next_checkpoint, 0::bigint AS scanned, 0::bigint AS changed, 0::bigint AS skipped,
       0::bigint AS errors, (SELECT true FROM pg_sleep((SELECT seconds FROM scan_delay))) AS done,
       $2::int AS batch_size, '${MARK}' AS marker

-- name: verify
SELECT 'scan' AS name, '1' AS expected,
       (SELECT '1' FROM pg_sleep((SELECT seconds FROM scan_delay))) AS actual, '${MARK}' AS marker
`;

let client: Client;
let workers: RunningWorkers;
let seq = 0;

beforeAll(async () => {
  process.env[URL_ENV] = databaseUrl();
  await freshDatabase(DB);
  await sql(DB, 'CREATE TABLE scan_delay (seconds double precision NOT NULL)');
  await sql(DB, 'INSERT INTO scan_delay VALUES (0)');
  const manifest = writePurserCluster(CLUSTER, DB, URL_ENV);
  const settings = readFileSync(join(dirname(manifest), 'orchestrator.yaml'), 'utf8');
  const migrationsDir = /^migrations_dir: (.*)$/m.exec(settings)![1]!;
  writeFileSync(join(migrationsDir, DB, 'v0.2.0', 'data', 'invoice-line-items.sql'), DEFINITION);
  workers = await startWorkers([manifest]);
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
}, 120_000);

afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});

async function scanDelay(seconds: number): Promise<void> {
  await sql(DB, 'UPDATE scan_delay SET seconds = $1', [seconds]);
}

/** Our statement while PostgreSQL runs it (never this query itself: it names the marker only as a parameter). */
async function runningScans(): Promise<number> {
  const rows = await sql<{ n: number }>(
    'postgres',
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = $1 AND state = 'active' AND strpos(query, $2) > 0 AND pid <> pg_backend_pid()`,
    [DB, MARK],
  );
  return rows[0]!.n;
}

function start(action: 'verify' | 'dry-run', extra: { scanHeartbeatTimeout?: string } = {}): Promise<WorkflowHandle> {
  const ref = { cluster: CLUSTER, service: 'purser', id: 'invoice-line-items', ...extra };
  const input: DataControlInput = action === 'verify' ? { action, ...ref } : { action, ...ref, batchSize: 100 };
  return client.workflow.start('dataMigrationControl', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/data-control/${action}-${++seq}`,
    args: [input],
  });
}

const ACTIVITY = { verify: 'dmVerify', 'dry-run': 'dmDryRun' } as const;

describe('a long verify or dry-run heartbeats while its query runs', () => {
  for (const action of ['verify', 'dry-run'] as const) {
    it(`${action}: a query longer than the heartbeat timeout completes in attempt 1, heartbeating`, async () => {
      await scanDelay(SCAN_SECONDS);
      const handle = await start(action, { scanHeartbeatTimeout: `${HEARTBEAT_TIMEOUT_MS} ms` });
      const watch = watchHeartbeats(handle, ACTIVITY[action]);
      const result = (await handle.result()) as DataControlResult;
      const { heartbeats } = await watch.stop();
      if (action === 'verify') {
        expect(result).toEqual({
          action: 'verify',
          checks: [{ name: 'scan', expected: '1', actual: '1', ok: true }],
        });
      } else {
        expect(result.action).toBe('dry-run');
      }
      // The premise: the server applied the short heartbeat timeout, and the scan outlasted it several times over.
      expect(await scheduledHeartbeatTimeoutsMs(handle, ACTIVITY[action])).toEqual([HEARTBEAT_TIMEOUT_MS]);
      const [took] = await activityDurationsMs(handle, ACTIVITY[action]);
      expect(took).toBeGreaterThanOrEqual(SCAN_SECONDS * 1000);
      // One attempt, kept alive by heartbeats the server recorded while the query ran.
      expect((await startedAttempts(handle))[ACTIVITY[action]]).toEqual([1]);
      expect(heartbeats, 'distinct heartbeat times seen while the scan ran').toBeGreaterThanOrEqual(2);
    }, 120_000);
  }
});

describe('cancelling a verify or dry-run cancels its query in PostgreSQL', () => {
  for (const action of ['verify', 'dry-run'] as const) {
    it(`${action}: the query is gone from pg_stat_activity within seconds of the cancel`, async () => {
      // Only cancellation can end this scan within the test.
      await scanDelay(600);
      const handle = await start(action);
      await waitFor(`the ${action} query to run`, async () => (await runningScans()) === 1, { timeoutMs: 30_000 });
      await handle.cancel();
      await handle.result().catch(() => undefined);
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.some((e) => e.activityTaskCancelRequestedEventAttributes)).toBe(true);
      // The activity heartbeats every 5 s at most, so the cancel reaches it within that; the query ends right after.
      await waitFor('the query to be cancelled on the server', async () => (await runningScans()) === 0, {
        timeoutMs: 15_000,
      });
    }, 120_000);
  }
});
