// The replicas of one service (SPEC §6): detect → skip on equal identity, config and running state → stage →
// activate → health loop on durable timers → on failure, roll back (compensation) and stop. The body of the
// serviceUpgrade child workflow (service-upgrade.ts), which wraps it with its FwState. One replica's steps are in
// service-replica.ts; runs with PRESTAGE_PATCH detect and stage every replica first (service-prestage.ts).
import { patched } from '@temporalio/workflow';
import type { HostOutcome, ServiceUpgradeInput, ServiceUpgradeResult } from '../contracts/upgrade';
import { durationMs } from '../contracts/duration';
import { decide } from './util';
import { legacyDurationMs, waitHealthy } from './service-health';
import { hostSteps } from './service-host-steps';
import { finished, moveReplica, planReplica, stopped, type Moves, type ReplicaRun } from './service-replica';
import { prestagedReplicas } from './service-prestage';

export type { Moves } from './service-replica';

/**
 * Patch (issue 11 items 6, 8): a replica at the target identity and config that is stopped is started (no
 * staging) and health-checked, reported `started`; health deadlines are read with the one duration parser the
 * contracts validate with. Runs recorded before keep skipping such replicas and their old parser.
 */
export const START_STOPPED_PATCH = 'service-upgrade-start-stopped-v1';

/**
 * Patch (issue 12 item 1): after an unhealthy probe the wait backs off from 250 ms doubling up to the interval
 * (src/domain/health-backoff.ts) instead of sleeping the whole interval, for upgrade and rollback health alike.
 * Runs recorded before keep their fixed-interval timers.
 */
export const HEALTH_BACKOFF_PATCH = 'service-upgrade-health-backoff-v1';

/**
 * Patch (issue 12, speed of upgrades): every replica is detected at once, then every replica that needs it is
 * staged at once, and only then are the replicas activated one by one (activate → health → finalize, or roll
 * back, as before). Detection and staging change nothing that runs, so they leave the critical path of each
 * replica; a staging failure on any replica now fails the service before anything changed on any replica
 * (service-prestage.ts). Runs recorded before detect and stage each replica just before activating it.
 */
export const PRESTAGE_PATCH = 'service-upgrade-prestage-v1';

/** Fills `moves` per host it reaches; serviceUpgrade annotates the outcomes with them. */
export async function upgradeReplicas(input: ServiceUpgradeInput, moves: Moves): Promise<ServiceUpgradeResult> {
  const ref = { cluster: input.cluster, service: input.service };
  const startStopped = patched(START_STOPPED_PATCH);
  // The parent validated both durations; a bad one here fails the run instead of retrying its task forever.
  const parse = startStopped ? (d: string) => decide(() => durationMs(d)) : legacyDurationMs;
  const backoff = patched(HEALTH_BACKOFF_PATCH);
  const run: ReplicaRun = {
    input,
    moves,
    host: hostSteps(input),
    // The host's architecture as the parent run read it (once per host per run); the steps then do not read it.
    on: (hostName) => {
      const arch = input.hostArchs?.[hostName];
      return { ...ref, host: hostName, ...(arch ? { arch } : {}) };
    },
    healthy: (hostName) =>
      input.skipValidation ? Promise.resolve({ healthy: true } as const) : waitHealthy(input, hostName, parse, backoff),
    startStopped,
  };
  if (patched(PRESTAGE_PATCH)) return prestagedReplicas(run);
  // Runs recorded before PRESTAGE_PATCH: each replica detected, staged, activated, checked, finalized in turn.
  const outcomes: HostOutcome[] = [];
  for (const [i, hostName] of input.hosts.entries()) {
    const detected = await run.host.detectServiceOnHost(run.on(hostName));
    const plan = planReplica(run, hostName, detected);
    // A rollback moves to an identity already on the host: nothing to download or pull.
    const step = 'identity' in plan ? await moveReplica(run, plan, !input.onHost) : plan;
    outcomes.push(step.outcome);
    if (step.stop) return stopped(input, outcomes, input.hosts.slice(i + 1), step);
  }
  return finished(input, outcomes);
}
