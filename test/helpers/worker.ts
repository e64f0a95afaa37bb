// A real worker for tests: the production createClusterWorkers against the suite's Temporal dev server.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode, NativeConnection, type Worker, type WorkflowBundle } from '@temporalio/worker';
import { Connection } from '@temporalio/client';
import { taskQueueFor } from '../../src/temporal/ids';
import { loadClusterConfig } from '../../src/activities/cluster-config';
import { createClusterWorkers, WORKFLOW_INTERCEPTOR_MODULES } from '../../src/worker/create';
import { closeHostSessions } from '../../src/activities/hosts/ssh-session';
import { temporalAddress } from './servers';

let bundle: Promise<WorkflowBundle> | undefined;

/** Bundles src/workflows once per test file (Temporal's recommendation; Workers are cheap, bundles are not). */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: resolve(__dirname, '..', '..', 'src', 'workflows', 'index.ts'),
    // The same interceptors as production (run metrics), so workflow and replay tests run what workers run.
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: quietLogger,
  });
  return bundle;
}

const noop = (): void => {};
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

export interface RunningWorkers {
  workers: Worker[];
  connection: NativeConnection;
  stop(): Promise<void>;
}

/** The CLI refuses to start a run when nobody polls the queue; wait until the server has seen our pollers. */
async function waitForPollers(queues: string[]): Promise<void> {
  const conn = await Connection.connect({ address: temporalAddress() });
  try {
    for (const name of queues) {
      for (let i = 0; ; i++) {
        const res = await conn.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name },
          taskQueueType: 1,
        });
        if ((res.pollers ?? []).length > 0) break;
        if (i > 100) throw new Error(`no poller registered on ${name} after 10 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await conn.close();
  }
}

/** Starts real workers for the given cluster manifests; stop() shuts them down and waits. */
export async function startWorkers(
  manifests: string[],
  activityOverrides?: Record<string, (...args: never[]) => Promise<unknown>>,
): Promise<RunningWorkers> {
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const clusters = await Promise.all(manifests.map((m) => loadClusterConfig(m)));
  const workers = await createClusterWorkers({
    connection,
    namespace: 'default',
    clusters,
    workflowBundle: await workflowBundle(),
    cacheDir: mkdtempSync(join(tmpdir(), 'fw-cache-')),
    ...(activityOverrides ? { activityOverrides } : {}),
  });
  const running = workers.map((w) => w.run());
  await waitForPollers(clusters.map((c) => taskQueueFor(c.manifest.name)));
  return {
    workers,
    connection,
    stop: async () => {
      for (const w of workers) w.shutdown();
      await Promise.all(running);
      await closeHostSessions(); // the idle SSH sessions the steps left (as the worker's shutdown does)
      await connection.close();
    },
  };
}
