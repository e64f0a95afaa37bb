// Builds one Temporal Worker per served cluster (task queue fw-<cluster>), sharing a workflow bundle, the
// activity implementations and the release fetcher. Used by `frameworks worker` and by the tests.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { LoadedCluster } from '../activities/cluster-config';
import { createReleaseFetcher } from '../activities/release-repo';
import { taskQueueFor } from '../temporal/ids';
import { chaosActivityInterceptor, chaosSinks, type ChaosConfig } from './chaos';

export interface ClusterWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  clusters: LoadedCluster[];
  /** A prebuilt bundle (tests bundle once per file); otherwise the worker bundles src/workflows itself. */
  workflowBundle?: WorkflowBundle;
  cacheDir?: string;
  warn?: (message: string) => void;
  /**
   * Replace some activity implementations (workflow tests whose subject is the workflow logic stub the hosts);
   * production never passes this.
   */
  activityOverrides?: Record<string, (...args: never[]) => Promise<unknown>>;
  /** Kill-points for crash tests (src/worker/chaos.ts); never set in production (chaosConfig refuses it). */
  chaos?: ChaosConfig;
}

/** Upper bound of the time between two heartbeats the SDK actually sends (see Worker.create below). */
export const HEARTBEAT_THROTTLE_MAX = '2 seconds';

/**
 * Workflow interceptor modules every worker bundles (the run metrics). A prebuilt `workflowBundle` must have been
 * built with these as `workflowInterceptorModules`.
 */
// Extensionless: the workflow bundler resolves .ts (sources) or .js (built lib/) itself.
export const WORKFLOW_INTERCEPTOR_MODULES: string[] = [join(__dirname, '..', 'workflows', 'metrics-interceptor')];

/** Bundled in addition when the worker runs with a chaos setting (its `wft` kill-point). */
export const CHAOS_INTERCEPTOR_MODULE = join(__dirname, '..', 'workflows', 'chaos-interceptor');

export function defaultCacheDir(): string {
  return process.env.FRAMEWORKS_CACHE_DIR ?? join(homedir(), '.frameworks', 'cache');
}

export async function createClusterWorkers(opts: ClusterWorkersOptions): Promise<Worker[]> {
  const byName: Record<string, LoadedCluster> = {};
  for (const c of opts.clusters) {
    if (byName[c.manifest.name]) {
      throw new Error(
        `two manifests name the same cluster "${c.manifest.name}": ${byName[c.manifest.name]!.manifestPath} and ${c.manifestPath}`,
      );
    }
    byName[c.manifest.name] = c;
  }
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const fetcher = createReleaseFetcher({ cacheDir, ...(opts.warn ? { warn: opts.warn } : {}) });
  const activities = {
    ...createActivities({ clusters: byName, fetcher, cacheDir }),
    ...(opts.activityOverrides ?? {}),
  };
  const chaos = opts.chaos;
  if (chaos?.point === 'wft' && opts.workflowBundle) {
    throw new Error('the wft kill-point needs the worker to bundle its workflows (no prebuilt workflowBundle)');
  }
  const workflowModules = chaos
    ? [...WORKFLOW_INTERCEPTOR_MODULES, CHAOS_INTERCEPTOR_MODULE]
    : WORKFLOW_INTERCEPTOR_MODULES;
  const workflowSource = opts.workflowBundle
    ? { workflowBundle: opts.workflowBundle }
    : { workflowsPath: require.resolve('../workflows') };
  const chaosOptions = chaos
    ? { sinks: chaosSinks(chaos), interceptors: { workflowModules, activity: [chaosActivityInterceptor(chaos)] } }
    : opts.workflowBundle
      ? {}
      : { interceptors: { workflowModules } };
  return Promise.all(
    opts.clusters.map((c) =>
      Worker.create({
        connection: opts.connection,
        namespace: opts.namespace,
        taskQueue: taskQueueFor(c.manifest.name),
        activities,
        // A cancellation reaches a running activity only in the answer to a heartbeat it sends, and the SDK sends at
        // most one per 0.8 × heartbeat timeout (24 s for a 30 s one) by default. Sending at least every few seconds
        // lets a cancelled step (a download, a pull, a verify's query) stop within seconds.
        maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE_MAX,
        ...workflowSource,
        ...chaosOptions,
      }),
    ),
  );
}
