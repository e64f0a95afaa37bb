// `frameworks worker --manifest cluster.yaml [--manifest other.yaml]`: runs until SIGINT/SIGTERM, finishing
// in-flight activity attempts where it can; Temporal resumes anything unfinished on the next worker.
import { loadClusterConfig } from '../activities/cluster-config';
import { closePools } from '../activities/postgres/connect';
import { closeTunnels } from '../activities/postgres/tunnel';
import { closeHostSessions } from '../activities/hosts/ssh-session';
import { sshIdleMs } from '../activities/ssh/pool';
import { connectWorker } from '../temporal/connection';
import { taskQueueFor } from '../temporal/ids';
import { chaosConfig } from './chaos';
import { createClusterWorkers } from './create';
import { installWorkerLogging } from './logging';
import { METRICS_ENV, metricsAddress, prometheusTelemetry } from './metrics';
import { ExitError, errorMessage } from '../errors';

export interface WorkerOptions {
  manifest: string[];
  logLevel: string;
  ageKey?: string;
  sshKey?: string;
  gitopsDir?: string;
  /** host:port for the Prometheus endpoint (else $FRAMEWORKS_METRICS_ADDRESS, else none). */
  metrics?: string;
}

/** Logging and, when asked, the metrics endpoint; a port already taken is the operator's to fix, said plainly. */
function installRuntime(logLevel: string, metrics: string | undefined): ReturnType<typeof installWorkerLogging> {
  if (!metrics) return installWorkerLogging(logLevel);
  try {
    return installWorkerLogging(logLevel, prometheusTelemetry(metrics));
  } catch (err) {
    throw new ExitError(
      `cannot serve metrics on ${metrics}: ${errorMessage(err)}; choose another address with --metrics or ${METRICS_ENV}`,
    );
  }
}

export async function workerCommand(opts: WorkerOptions): Promise<void> {
  const metrics = metricsAddress(opts.metrics);
  try {
    sshIdleMs(); // a bad FRAMEWORKS_SSH_IDLE_SECONDS is refused here, before any work is taken
  } catch (err) {
    throw new ExitError(errorMessage(err));
  }
  const logger = installRuntime(opts.logLevel, metrics);
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
  // Refused (before any work is taken) unless this is a lab worker; see src/worker/chaos.ts.
  const chaos = chaosConfig(target.address);
  if (chaos) {
    logger.warn({ chaos }, 'chaos kill-point armed: this worker will SIGKILL itself');
    process.stdout.write(`chaos: kill-point ${chaos.activityType}:${chaos.point} armed\n`);
  }
  const workers = await createClusterWorkers({
    connection,
    namespace: target.namespace,
    clusters,
    warn: (message) => logger.warn(message),
    ...(chaos ? { chaos } : {}),
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
  if (metrics) {
    logger.info({ metrics: `http://${metrics}/metrics` }, 'serving Prometheus metrics');
    process.stdout.write(`metrics: http://${metrics}/metrics\n`);
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
    await closeHostSessions();
    await connection.close();
  }
}
