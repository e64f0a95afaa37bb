// The kill-point harness's representative subset, run by the suite every time (issue 15 item 1; the whole matrix
// on the lab is `npx tsx bench/chaos.ts`). No lab needed: a schema migration (transactional files, applied by the
// local activity `applyMigrations`, and a .notx file, by the activity `applyMigration`) and a purser backfill on
// the suite's PostgreSQL, each on a worker armed with FRAMEWORKS_CHAOS at one kill-point — before an activity's
// work, after its side effect, and between workflow tasks. The worker SIGKILLs itself there
// and is restarted (the once-file keeps the new one alive); the run must end completed with one ledger row and one
// effect per migration, and backfill totals equal to direct aggregates.
import { mkdirSync, mkdtempSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { decodeTimeoutType } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMigrationStatusView } from '../../src/contracts/data-migrate';
import type { SchemaMigrateProgress } from '../../src/contracts/schema-migrate';
import { dataMigrationWorkflowId, taskQueueFor } from '../../src/temporal/ids';
import { activityLog } from '../../lab/chaos-checks';
import { seedPurser } from '../../lab/purser-seed';
import { writeFixtureCluster, writePurserCluster } from '../helpers/fixtures';
import { databaseUrl, freshDatabase, sql, temporalAddress } from '../helpers/servers';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const workers: WorkerProcess[] = [];
let client: Client;
beforeAll(async () => {
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});
afterAll(async () => {
  for (const w of workers) await w.kill();
  await client?.connection.close();
});

/**
 * Runs `start` on a worker armed with `point`; restarts the worker whenever it dies; returns the run's result,
 * whether the kill-point was reached, and how many workers died.
 */
async function underChaos<T>(
  point: string,
  manifest: string,
  env: NodeJS.ProcessEnv,
  start: () => Promise<WorkflowHandle>,
): Promise<{ result: T; killed: boolean; deaths: number }> {
  const once = join(mkdtempSync(join(tmpdir(), 'fw-chaos-')), 'once');
  const armed = { ...env, FRAMEWORKS_CHAOS: point, FRAMEWORKS_CHAOS_LAB: '1', FRAMEWORKS_CHAOS_ONCE: once };
  workers.push(await spawnWorker(manifest, armed));
  const handle = await start();
  let done = false;
  const result = handle.result().finally(() => (done = true)) as Promise<T>;
  let deaths = 0;
  while (!done) {
    const w = workers[workers.length - 1]!;
    if (w.child.signalCode !== null || w.child.exitCode !== null) {
      expect(w.child.signalCode, w.output()).toBe('SIGKILL');
      expect(w.output()).toContain(`chaos: SIGKILL at ${point} `);
      deaths++;
      workers.push(await spawnWorker(manifest, armed));
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const r = await result;
  await workers[workers.length - 1]!.kill('SIGTERM');
  return { result: r, killed: existsSync(once), deaths };
}

/** For each retried attempt of this activity type: which timeout ended the attempt before it (from history). */
async function retriedAfter(handle: WorkflowHandle, activityType: string): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const ids = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
      .map((e) => String(e.eventId)),
  );
  return events
    .map((e) => e.activityTaskStartedEventAttributes)
    .filter((a) => a && ids.has(String(a.scheduledEventId)) && (a.attempt ?? 1) > 1)
    .map((a) => decodeTimeoutType(a!.lastFailure?.timeoutFailureInfo?.timeoutType) ?? String(a!.lastFailure?.message));
}

const MIGRATIONS: Record<string, string> = {
  'v0.1.0/expand/001_t1.sql': 'CREATE TABLE t1 (id int);\nINSERT INTO t1 VALUES (1);\n',
  'v0.1.0/expand/002_t2.sql': 'CREATE TABLE t2 (id int);\nINSERT INTO t2 VALUES (1);\n',
  'v0.1.0/expand/003_t1_id.notx.sql': 'CREATE INDEX CONCURRENTLY IF NOT EXISTS t1_id ON t1 (id);\n',
};

describe('kill-points (a representative subset of bench/chaos.ts)', () => {
  // Transactional migrations run as one `applyMigrations` local activity per stretch of a database, `.notx` ones as
  // the ordinary activity `applyMigration` (src/workflows/schema-migrate.ts): both kinds, at the three points.
  // `statuses` is what the run reports per file: `already-applied` proves the killed attempt's side effect was
  // committed and the retry found it in the ledger (and changed nothing).
  // A planning read (discoverMigrations) killed before its work: the worker died without a word, and the read
  // heartbeats under a short heartbeat timeout (src/workflows/util.ts readOptions), so the server notices by the
  // missing heartbeat — not by the read's whole start-to-close, as before — and the retry says so.
  const cases: { point: string; statuses: string[]; read?: string }[] = [
    { point: 'discoverMigrations:before', statuses: ['applied', 'applied', 'applied'], read: 'discoverMigrations' },
    { point: 'applyMigrations:before', statuses: ['applied', 'applied', 'applied'] },
    { point: 'applyMigrations:after', statuses: ['already-applied', 'already-applied', 'applied'] },
    { point: 'applyMigrations:wft', statuses: ['applied', 'applied', 'applied'] },
    { point: 'applyMigration:before', statuses: ['applied', 'applied', 'applied'] },
    { point: 'applyMigration:after', statuses: ['applied', 'applied', 'already-applied'] },
    { point: 'applyMigration:wft', statuses: ['applied', 'applied', 'applied'] },
  ];
  for (const { point, statuses, read } of cases) {
    it(`schemaMigrate (tx and notx), worker SIGKILLed at ${point}: completes, one ledger row and one effect each`, async () => {
      const tag = point.replace(':', '_').toLowerCase();
      const db = `chaos_${tag}`;
      const root = mkdtempSync(join(tmpdir(), 'fw-chaos-mig-'));
      for (const [rel, body] of Object.entries(MIGRATIONS)) {
        mkdirSync(dirname(join(root, db, rel)), { recursive: true });
        writeFileSync(join(root, db, rel), body);
      }
      await freshDatabase(db);
      const cluster = `chaos-${tag.replace(/_/g, '-')}`;
      const manifest = writeFixtureCluster({
        name: cluster,
        databases: [db],
        urlEnv: 'FW_CHAOS_URL',
        migrationsDir: root,
      });
      const env = {
        TEMPORAL_ADDRESS: temporalAddress(),
        FW_CHAOS_URL: databaseUrl(),
        FRAMEWORKS_CACHE_DIR: mkdtempSync(join(tmpdir(), 'fw-c-')),
      };
      const { result, killed, deaths } = await underChaos<SchemaMigrateProgress>(point, manifest, env, () =>
        client.workflow.start('schemaMigrate', {
          taskQueue: taskQueueFor(cluster),
          workflowId: `fw/${cluster}/change`,
          args: [{ cluster, phase: 'expand', toVersion: 'v0.1.0', approved: true }],
        }),
      );
      expect(killed).toBe(true);
      expect(deaths).toBe(1);
      expect(result.state).toBe('completed');
      expect(result.migrations.map((m) => [m.relPath.split('/').pop(), m.status])).toEqual(
        ['001_t1.sql', '002_t2.sql', '003_t1_id.notx.sql'].map((f, i) => [f, statuses[i]]),
      );
      const rows = await sql<{ filename: string }>(db, 'SELECT filename FROM _migrations ORDER BY seq');
      expect(rows.map((r) => r.filename)).toEqual(['001_t1.sql', '002_t2.sql', '003_t1_id.notx.sql']);
      for (const t of ['t1', 't2']) expect(await sql(db, `SELECT count(*)::int AS n FROM ${t}`)).toEqual([{ n: 1 }]);
      expect(await sql(db, "SELECT indexname FROM pg_indexes WHERE indexname = 't1_id'")).toEqual([
        { indexname: 't1_id' },
      ]);
      // The history names both kinds (what bench/chaos.ts enumerates its matrix from): the stretch as a local
      // activity's marker, the .notx file as an ordinary activity.
      const log = await activityLog(client, `fw/${cluster}/change`);
      const kinds = log
        .filter((a) => a.activityType.startsWith('applyMigration') && a.outcome === 'completed')
        .map((a) => `${a.activityType}${a.local ? ' (local)' : ''}`);
      expect(kinds).toEqual(['applyMigrations (local)', 'applyMigration']);
      if (read)
        expect(await retriedAfter(client.workflow.getHandle(`fw/${cluster}/change`), read)).toEqual(['HEARTBEAT']);
    }, 180_000);
  }

  for (const point of ['dmRunBatch:after', 'dmRunBatch:wft']) {
    it(`dataMigration, worker SIGKILLed at ${point}: completes; totals equal direct aggregates`, async () => {
      const tag = point.replace(':', '_').toLowerCase();
      const db = `chaos_dm_${tag}`;
      const seed = await seedPurser(databaseUrl(), db, 3_000);
      const cluster = `chaos-dm-${tag.replace(/_/g, '-')}`;
      const manifest = writePurserCluster(cluster, db, 'FW_CHAOS_DM_URL');
      const env = {
        TEMPORAL_ADDRESS: temporalAddress(),
        FW_CHAOS_DM_URL: databaseUrl(),
        FRAMEWORKS_CACHE_DIR: mkdtempSync(join(tmpdir(), 'fw-c-')),
      };
      const { result, killed, deaths } = await underChaos<DataMigrationStatusView>(point, manifest, env, () =>
        client.workflow.start('dataMigration', {
          taskQueue: taskQueueFor(cluster),
          workflowId: dataMigrationWorkflowId(cluster, 'purser', 'invoice-line-items'),
          args: [{ cluster, service: 'purser', id: 'invoice-line-items', batchSize: 100 }],
        }),
      );
      expect(killed).toBe(true);
      expect(deaths).toBe(1);
      expect(result.state).toBe('completed');
      expect(result.totals.scanned).toBe(seed.invoices);
      const [runRow] = await sql<{ scanned: string }>(
        db,
        'SELECT sum(scanned_count)::text AS scanned FROM _data_migration_runs',
      );
      expect(Number(runRow!.scanned)).toBe(seed.invoices);
      const [agg] = await sql<{ items: string; amount: string }>(
        db,
        'SELECT count(*)::text AS items, COALESCE(sum(amount_cents), 0)::text AS amount FROM invoice_line_items',
      );
      expect(Number(agg!.items)).toBe(seed.lineItems);
      expect(Number(agg!.amount)).toBe(seed.amountCents);
    }, 180_000);
  }
});
