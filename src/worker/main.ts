// `frameworks worker --manifest cluster.yaml [--manifest other.yaml]`: runs until SIGINT/SIGTERM, finishing
// in-flight activity attempts where it can; Temporal resumes anything unfinished on the next worker.
import { loadClusterConfig } from '../activities/cluster-config';
import { closePools } from '../activities/postgres/connect';
import { closeTunnels } from '../activities/postgres/tunnel';
import { connectWorker } from '../temporal/connection';
import { taskQueueFor } from '../temporal/ids';
import { createClusterWorkers } from './create';
import { installWorkerLogging } from './logging';

export interface WorkerOptions {
  manifest: string[];
  logLevel: string;
  ageKey?: string;
  sshKey?: string;
  gitopsDir?: string;
}

export async function workerCommand(opts: WorkerOptions): Promise<void> {
  const logger = installWorkerLogging(opts.logLevel);
  const clusters = await Promise.all(
    opts.manifest.map((m) =>
      loadClusterConfig(m, {
        ...(opts.ageKey ? { ageKeyFile: opts.ageKey } : {}),
        ...(opts.sshKey ? { sshKey: opts.sshKey } : {}),
        ...(opts.gitopsDir ? { gitopsDir: opts.gitopsDir } : {}),
      }),
    ),
  );
  const { connection, target } = await connectWorker();
  const workers = await createClusterWorkers({
    connection,
    namespace: target.namespace,
    clusters,
    warn: (message) => logger.warn(message),
  });
  for (const c of clusters) {
    logger.info(
      {
        cluster: c.manifest.name,
        taskQueue: taskQueueFor(c.manifest.name),
        temporal: target.address,
        namespace: target.namespace,
      },
      'worker ready',
    );
  }
  // Printed for humans and scripts that wait for readiness (the demo and e2e tests).
  process.stdout.write(
    `worker ready: ${clusters.map((c) => taskQueueFor(c.manifest.name)).join(', ')} on ${target.address}\n`,
  );
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await closePools();
    await closeTunnels();
    await connection.close();
  }
}
