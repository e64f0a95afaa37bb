// A worker SIGKILLed in the middle of a migration run, then restarted: the run completes, every migration is
// applied exactly once (one ledger row each, one effect each).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import type { SchemaMigrateProgress } from '../../src/contracts/schema-migrate';
import { taskQueueFor } from '../../src/temporal/ids';
import { writeFixtureCluster } from '../helpers/fixtures';
import { databaseUrl, freshDatabase, sql, temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const workers: WorkerProcess[] = [];
afterAll(async () => {
  for (const w of workers) await w.kill();
});

describe('migrate survives a worker crash', () => {
  it('SIGKILL during the second of three migrations, restart: completes with one ledger row per migration', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fw-crash-'));
    const files: Record<string, string> = {
      'crash_db/v0.1.0/expand/001_t1.sql': 'CREATE TABLE t1 (id int);\nINSERT INTO t1 VALUES (1);\n',
      'crash_db/v0.1.0/expand/002_t2.sql':
        'CREATE TABLE t2 (id int);\nINSERT INTO t2 VALUES (1);\nSELECT pg_sleep(4);\n',
      'crash_db/v0.1.0/expand/003_t3.sql': 'CREATE TABLE t3 (id int);\nINSERT INTO t3 VALUES (1);\n',
    };
    for (const [rel, body] of Object.entries(files)) {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), body);
    }
    await freshDatabase('crash_db');
    const manifest = writeFixtureCluster({
      name: 'crash',
      databases: ['crash_db'],
      urlEnv: 'FW_CRASH_URL',
      migrationsDir: root,
    });
    const env = {
      TEMPORAL_ADDRESS: temporalAddress(),
      FW_CRASH_URL: databaseUrl(),
      FRAMEWORKS_CACHE_DIR: mkdtempSync(join(tmpdir(), 'fw-c-')),
    };

    const first = await spawnWorker(manifest, env);
    workers.push(first);
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    try {
      const handle = await client.workflow.start('schemaMigrate', {
        taskQueue: taskQueueFor('crash'),
        workflowId: 'fw/crash/change',
        workflowIdConflictPolicy: 'FAIL',
        args: [{ cluster: 'crash', phase: 'expand', toVersion: 'v0.1.0', approved: true }],
      });
      // Wait until 001 is committed and 002 is running (its pg_sleep holds it open), seen from the database
      // itself: transactional migrations run as local activities, so the workflow's progress query is answered
      // only between workflow tasks.
      await waitFor(
        '002 to be running',
        async () => {
          const running = await sql<{ n: number }>(
            'postgres',
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'crash_db' AND query LIKE 'SELECT pg_sleep(4)%'`,
          );
          return running[0]!.n > 0;
        },
        { timeoutMs: 10_000, intervalMs: 25 },
      );
      await first.kill('SIGKILL');
      const afterKill = await sql<{ filename: string }>('crash_db', 'SELECT filename FROM _migrations ORDER BY seq');
      expect(afterKill.map((r) => r.filename)).toEqual(['001_t1.sql']);

      workers.push(await spawnWorker(manifest, env));
      const result = (await handle.result()) as SchemaMigrateProgress;
      expect(result.state).toBe('completed');
      const rows = await sql<{ filename: string }>('crash_db', 'SELECT filename FROM _migrations ORDER BY seq');
      expect(rows.map((r) => r.filename)).toEqual(['001_t1.sql', '002_t2.sql', '003_t3.sql']);
      for (const t of ['t1', 't2', 't3']) {
        expect(await sql(`crash_db`, `SELECT count(*)::int AS n FROM ${t}`)).toEqual([{ n: 1 }]);
      }
    } finally {
      await client.connection.close();
    }
  }, 120_000);
});
