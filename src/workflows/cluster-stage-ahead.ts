// Stage-ahead (issue 12, speed of upgrades), parent side: while earlier children run, a `clusterUpgrade` run stages
// the artifacts of the services it will start next on their hosts — the very stage steps their children would run
// (src/domain/stage-ahead.ts) — so that a child's own stage step, which stays, finds each replica staged and
// returns at once instead of downloading, verifying, uploading and unpacking on the run's critical path.
//
// A pure optimisation; it never changes what a run does, only how soon:
// - One service's replicas at a time, in the order the run starts services, at most STAGE_AHEAD_SERVICES services
//   ahead of those started. Services settled at target are never staged (they are not in the list).
// - A service's child starts only once its stage-ahead has settled (`claim`): the parent's stage and the child's
//   stage of one replica never run at once. A service claimed before its turn is left to its child entirely.
// - Failures are logged and swallowed, with one attempt each: the child then stages the replica itself, with its
//   retries, and fails it the usual way if it must.
// - When the run stops starting services (first failure) no further service is staged and the stage-ahead of a
//   service not started is cancelled; when the run is cancelled, its cancellation reaches these activities too.
import { CancellationScope, condition, isCancellation, log, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HostDetection, ServiceUpgradeResult } from '../contracts/upgrade';
import { stageAheadPlan, type ServiceStages, type StageStep } from '../domain/stage-ahead';
import { failureMessage } from '../temporal/failures';
import type { ParsedUpgradeInput } from './cluster-upgrade';
import type { UpgradeRunPlan } from './cluster-upgrade-run';
import { HOST_STEP_HEARTBEAT_TIMEOUT, stageTimeoutMs } from './service-host-steps';

/**
 * Patch (issue 12): wave runs stage the artifacts of upcoming services ahead of their children, as above. Runs
 * recorded before issue no stage step of their own.
 */
export const STAGE_AHEAD_PATCH = 'cluster-upgrade-stage-ahead-v1';

/** At most this many services not yet started are staged ahead: enough to hide a stage, little waste on a stop. */
export const STAGE_AHEAD_SERVICES = 2;

export interface StageAhead {
  /** The run starts `service`'s child: resolves once no stage-ahead of it runs, and none will start. */
  claim(service: string): Promise<void>;
  /** The run starts no more services: stage no further, cancel the stage-ahead of a service not started. */
  halt(): void;
  /** Settles once the stage-ahead has ended (after `halt`, or once every service was claimed). */
  finished(): Promise<void>;
}

/**
 * The services to stage ahead, when this run takes the patch: wave runs only (runs recorded before the waves keep
 * their strict sequence untouched), with the detection the run settled services at target on.
 */
export function stageAheadServices(
  input: ParsedUpgradeInput,
  p: UpgradeRunPlan,
  fresh: Record<string, HostDetection[]> | undefined,
  atTarget: ReadonlyMap<string, ServiceUpgradeResult>,
): ServiceStages[] | undefined {
  const order = p.schedule.waves.flat().filter((s) => !atTarget.has(s));
  // The first child stages its own service: a run with fewer than two children has nothing to stage ahead, and
  // records no marker.
  if (fresh === undefined || !p.waved || order.length < 2 || !patched(STAGE_AHEAD_PATCH)) return undefined;
  return stageAheadPlan({
    cluster: input.cluster,
    order,
    targets: p.targets,
    fresh,
    configs: p.configs,
    hostArchs: p.hostArchs,
  });
}

function stageOne(step: StageStep): Promise<unknown> {
  return proxyActivities<Activities>({
    startToCloseTimeout: stageTimeoutMs(step.mode, step.artifact?.sizeBytes),
    heartbeatTimeout: HOST_STEP_HEARTBEAT_TIMEOUT,
    // One attempt: after any failure the child stages the replica itself, with its own retries.
    retry: { maximumAttempts: 1 },
  }).stageServiceOnHost(step);
}

/** Stages every replica of `s` at once, as the child would; never rejects. */
async function stageService(s: ServiceStages): Promise<void> {
  const results = await Promise.allSettled(s.steps.map(stageOne));
  for (const [i, r] of results.entries()) {
    if (r.status === 'fulfilled') continue;
    const at = { service: s.service, host: s.steps[i]!.host };
    if (isCancellation(r.reason)) log.info('stage-ahead cancelled', at);
    else
      log.warn('stage-ahead failed; the child stages this replica itself', { ...at, error: failureMessage(r.reason) });
  }
}

/** Starts staging `services` (in run order) in the background; `stopped` is the run's "no new starts". */
export function stageAhead(services: ServiceStages[], stopped: () => boolean): StageAhead {
  const claimed = new Set<string>();
  const staging = new Map<string, Promise<void>>();
  let halted = false;
  let current: { service: string; scope: CancellationScope } | undefined;
  const over = () => halted || stopped();
  const unstartedBefore = (i: number) => services.slice(0, i).filter((s) => !claimed.has(s.service)).length;
  const loop = (async () => {
    for (const [i, s] of services.entries()) {
      await condition(() => over() || claimed.has(s.service) || unstartedBefore(i) < STAGE_AHEAD_SERVICES);
      if (over()) return;
      // Claimed already: its child is starting and stages it; staging it here too would race that.
      if (claimed.has(s.service) || s.steps.length === 0) continue;
      const scope = new CancellationScope();
      const done = scope.run(() => stageService(s));
      current = { service: s.service, scope };
      staging.set(s.service, done);
      await done;
      current = undefined;
    }
  })().catch((err: unknown) => {
    // Only a cancelled run gets here (its condition is cancelled): nothing more to stage.
    log.info('stage-ahead stopped', { error: failureMessage(err) });
  });
  return {
    claim: (service) => {
      claimed.add(service);
      return staging.get(service) ?? Promise.resolve();
    },
    halt: () => {
      halted = true;
      // A claimed service's child awaits its stage-ahead: that one ends by itself.
      if (current && !claimed.has(current.service)) current.scope.cancel();
    },
    finished: () => loop,
  };
}
