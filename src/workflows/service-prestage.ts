// The replicas of one service with PRESTAGE_PATCH (issue 12, speed of upgrades): detect every replica at once,
// decide each as before (no pin → failed, at target → skip or start), stage every replica that needs it at once,
// and only then activate → health → finalize the replicas one by one, rolling back and stopping at the first
// failure as before (service-replica.ts). Detection reads and staging only adds a release folder or pulls an image:
// nothing that runs changes until the first activation, so both leave the critical path of each replica.
//
// Consequence, on purpose: a replica that cannot be pinned, or whose staging fails, now fails the service before
// ANY replica changed (its earlier replicas are not upgraded first, as in the one-by-one order). That replica is
// reported failed "before activation: nothing changed", every other replica not-attempted — no rollback needed,
// and no half-upgraded service. That is safer as well as faster.
import type { HostOutcome, ServiceUpgradeResult } from '../contracts/upgrade';
import { failureMessage } from '../temporal/failures';
import {
  finished,
  moveReplica,
  notAttempted,
  planReplica,
  stageFailed,
  stageInput,
  stopped,
  type ReplicaPlan,
  type ReplicaRun,
} from './service-replica';

export async function prestagedReplicas(run: ReplicaRun): Promise<ServiceUpgradeResult> {
  const { input, host } = run;
  const hosts = input.hosts;
  // A detection that fails after its retries fails the run, as in the one-by-one order (nothing changed yet).
  const detected = await Promise.all(hosts.map((h) => host.detectServiceOnHost(run.on(h))));
  const plans: ReplicaPlan[] = [];
  for (const [i, hostName] of hosts.entries()) {
    const plan = planReplica(run, hostName, detected[i]!);
    if (!('identity' in plan)) {
      // Unpinnable: nothing has changed on any replica yet, so the others are all untouched.
      return stopped(input, [...notAttempted(input, hosts.slice(0, i)), plan.outcome], hosts.slice(i + 1), plan);
    }
    plans.push(plan);
  }
  // A rollback (onHost) moves to an identity already on the host, and a replica at target needs nothing: neither
  // is staged. Every stage is awaited (none left running behind a failed one), then the first failure stops.
  const staging = input.onHost ? [] : plans.filter((p) => !p.atTarget);
  const staged = await Promise.allSettled(staging.map((p) => host.stageServiceOnHost(stageInput(run, p))));
  const failed = new Map<string, string>();
  for (const [i, s] of staged.entries()) {
    if (s.status === 'rejected') failed.set(staging[i]!.hostName, failureMessage(s.reason));
  }
  if (failed.size > 0) return nothingChanged(run, plans, failed);
  const outcomes: HostOutcome[] = [];
  for (const [i, plan] of plans.entries()) {
    const step = await moveReplica(run, plan, false);
    outcomes.push(step.outcome);
    if (step.stop) return stopped(input, outcomes, hosts.slice(i + 1), step);
  }
  return finished(input, outcomes);
}

/**
 * Staging failed on `failed` (host → why): no replica was activated, so none changed. Each of them is reported
 * failed before activation (nothing changed, nothing to roll back), every other replica not-attempted.
 */
function nothingChanged(run: ReplicaRun, plans: ReplicaPlan[], failed: Map<string, string>): ServiceUpgradeResult {
  const steps = plans.map((p) => {
    const why = failed.get(p.hostName);
    return why === undefined ? undefined : stageFailed(run, p, why);
  });
  const first = steps.find((s) => s !== undefined)!;
  const others = [...failed.keys()].filter((h) => h !== first.outcome.host);
  const also = others.length > 0 ? ` (staging failed on ${others.join(', ')} too)` : '';
  return {
    service: run.input.service,
    outcome: 'failed',
    hosts: plans.map((p, i) => steps[i]?.outcome ?? notAttempted(run.input, [p.hostName])[0]!),
    error: `${first.stop!.error}${also}; nothing changed on any replica`,
  };
}
