// The Temporal side of a bench run, loaded only when a selected benchmark needs it: the dev server
// (TEMPORAL_ADDRESS, else the pinned CLI), a client, real workers (src/worker/create.ts) in this process, and
// plain workers for bench-only workflows (bench/workflows/) that measure Temporal's own floor.
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { loadClusterConfig } from '../src/activities/cluster-config';
import { errorMessage } from '../src/errors';
import { taskQueueFor } from '../src/temporal/ids';
import { createClusterWorkers } from '../src/worker/create';
import { closeHostSessions } from '../src/activities/hosts/ssh-session';
import { installWorkerLogging } from '../src/worker/logging';
import { locateOrInstallTemporal } from '../temporal-dev/locate';
import { startDevServer } from '../temporal-dev/server';
import type { Cleanup } from './infra';
import type { PlainWorkerOptions, RunningWorkers, TemporalEnv } from './types';

const noop = (): void => {};
const quiet = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

async function waitForPollers(client: Client, queues: string[]): Promise<void> {
  for (const name of queues) {
    for (let i = 0; ; i++) {
      const res = await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name } });
      if ((res.pollers ?? []).length > 0) break;
      if (i > 200) throw new Error(`no worker polls ${name} after 20 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Runs the workers until stopped; a worker that dies mid-run is reported when stopped (and by the timeouts). */
function supervise(
  workers: Worker[],
  native: NativeConnection,
  what: string,
  cleanup: Cleanup,
  log: (line: string) => void,
): RunningWorkers {
  let crashed: Error | undefined;
  const running = workers.map((w) =>
    w.run().catch((err: unknown) => {
      crashed ??= err instanceof Error ? err : new Error(errorMessage(err));
      log(`${what} failed: ${errorMessage(err)}`);
    }),
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.all(running);
    await closeHostSessions();
    await native.close();
    if (crashed) throw crashed;
  };
  cleanup.push(what, stop);
  return { stop };
}

export async function startTemporal(
  cleanup: Cleanup,
  workDir: string,
  log: (line: string) => void,
): Promise<{ env: TemporalEnv; binary?: string }> {
  // Only warnings from the worker runtime: the bench prints its own progress.
  installWorkerLogging('warn');
  const source = locateOrInstallTemporal(log);
  const server = await startDevServer(source, {
    port: 0,
    logFile: join(workDir, 'temporal-dev-server.log'),
    readyTimeoutMs: 60_000,
  });
  cleanup.push(`Temporal dev server${server.pid ? ` (pid ${server.pid})` : ''}`, () => server.stop());
  log(`Temporal dev server at ${server.address}${server.pid ? `, pid ${server.pid}` : ''}`);

  const connection = await Connection.connect({ address: server.address });
  cleanup.push('Temporal client connection', () => connection.close());
  const client = new Client({ connection });
  let bundle: Promise<WorkflowBundle> | undefined;

  const startWorkers = async (manifests: string[]): Promise<RunningWorkers> => {
    bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: quiet });
    const native = await NativeConnection.connect({ address: server.address });
    const clusters = await Promise.all(manifests.map((m) => loadClusterConfig(m)));
    const workers = await createClusterWorkers({
      connection: native,
      namespace: 'default',
      clusters,
      workflowBundle: await bundle,
      cacheDir: join(workDir, 'release-cache'),
    });
    const running = supervise(
      workers,
      native,
      `workers for ${clusters.map((c) => c.manifest.name).join(', ')}`,
      cleanup,
      log,
    );
    await waitForPollers(
      client,
      clusters.map((c) => taskQueueFor(c.manifest.name)),
    );
    return running;
  };

  // Same Worker defaults as createClusterWorkers (it sets no tuning options), so floors compare like for like;
  // only sticky execution can be switched off, to probe where workflow-task dispatch time goes.
  const startPlainWorker = async (opts: PlainWorkerOptions): Promise<RunningWorkers> => {
    const native = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection: native,
      namespace: 'default',
      taskQueue: opts.taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: opts.workflowsPath, logger: quiet }),
      activities: opts.activities,
      ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
    });
    const running = supervise([worker], native, `worker for ${opts.taskQueue}`, cleanup, log);
    await waitForPollers(client, [opts.taskQueue]);
    return running;
  };

  return {
    env: { address: server.address, client, startWorkers, startPlainWorker },
    ...(source.type === 'binary' ? { binary: source.path } : {}),
  };
}
