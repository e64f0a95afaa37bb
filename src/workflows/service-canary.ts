// The canary pause of `cluster upgrade --canary` (issue 12 item 3), child side: the replicas of one service one
// by one as upgradeReplicas moves them, until the first one that actually changed (upgraded or reloaded; skipped
// and started replicas are no canary) is healthy; then tell the parent run and wait for its verdict
// (src/workflows/cluster-upgrade-canary.ts owns the soak, the deadline and the operator's update). `continue`
// finalizes the canary (activation's kept copy of the previous container / compose files / release is dropped
// only now) and upgrades the rest as usual; `rollback` (or expiry) returns the canary to the identity and config
// it ran before from that kept copy, checks its health, and leaves the rest untouched.
import {
  condition,
  getExternalWorkflowHandle,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CanaryVerdict } from '../contracts/canary';
import { durationMs } from '../contracts/duration';
import type { HostOutcome, ServiceUpgradeInput, ServiceUpgradeResult } from '../contracts/upgrade';
import { failureMessage } from '../temporal/failures';
import { FwState } from '../temporal/search-attributes';
import { canaryReadySignal, canaryVerdictSignal } from './messages';
import { waitHealthy } from './service-health';
import { hostSteps } from './service-host-steps';
import { upgradeReplicas, type Moves } from './service-replicas';
import { decide } from './util';

const FAILED: ReadonlySet<ServiceUpgradeResult['outcome']> = new Set(['failed', 'rolled-back', 'rollback-failed']);

export async function canaryReplicas(input: ServiceUpgradeInput, moves: Moves): Promise<ServiceUpgradeResult> {
  let verdict: CanaryVerdict | undefined;
  setHandler(canaryVerdictSignal, (v) => {
    verdict ??= v;
  });
  const outcomes: HostOutcome[] = [];
  const untouched = (hosts: string[]): HostOutcome[] =>
    hosts.map((host) => ({ host, action: 'not-attempted', from: null, to: input.version }));
  for (const [i, host] of input.hosts.entries()) {
    // `canary` set: upgradeReplicas leaves the replica it upgraded unfinalized.
    const one = await upgradeReplicas({ ...input, hosts: [host] }, moves);
    outcomes.push(...one.hosts);
    const rest = input.hosts.slice(i + 1);
    if (FAILED.has(one.outcome)) return { ...one, hosts: [...outcomes, ...untouched(rest)] };
    if (one.outcome !== 'upgraded') continue;
    // The canary: healthy at the target. The parent decides; the child waits as long as it takes.
    const parent = workflowInfo().parent;
    if (!parent) throw new Error('a canary upgrade needs its clusterUpgrade parent to decide');
    upsertSearchAttributes([{ key: FwState, value: 'awaiting-canary' }]);
    const { workflowId, runId } = parent;
    await getExternalWorkflowHandle(workflowId, runId).signal(canaryReadySignal, { service: input.service, host });
    await condition(() => verdict !== undefined);
    upsertSearchAttributes([{ key: FwState, value: 'running' }]);
    const canary = outcomes[outcomes.length - 1]!;
    if (verdict!.decision === 'continue') {
      canary.detail = `canary; ${verdict!.reason}`;
      await hostSteps(input).finalizeServiceOnHost({
        cluster: input.cluster,
        service: input.service,
        host,
        mode: input.mode,
      });
      const more = rest.length > 0 ? await upgradeReplicas({ ...input, canary: false, hosts: rest }, moves) : undefined;
      return {
        ...(more ?? {}),
        service: input.service,
        outcome: more && FAILED.has(more.outcome) ? more.outcome : 'upgraded',
        hosts: [...outcomes, ...(more?.hosts ?? [])],
      };
    }
    return revert(input, moves, canary, verdict!.reason, { outcomes, rest: untouched(rest) });
  }
  // No replica changed: nothing to be a canary of.
  const started = outcomes.some((o) => o.action === 'started');
  return { service: input.service, outcome: started ? 'started' : 'skipped', hosts: outcomes };
}

/** The canary back to what it ran before: its previous identity and config, then its health. */
async function revert(
  input: ServiceUpgradeInput,
  moves: Moves,
  canary: HostOutcome,
  reason: string,
  done: { outcomes: HostOutcome[]; rest: HostOutcome[] },
): Promise<ServiceUpgradeResult> {
  const hosts = (): HostOutcome[] => [...done.outcomes, ...done.rest];
  const before = moves.get(canary.host);
  const fail = (action: 'failed' | 'rollback-failed', why: string): ServiceUpgradeResult => {
    canary.action = action;
    canary.detail = `canary ${reason}; ${why}`;
    const error = `${input.service}: the canary on ${canary.host} could not be rolled back (${reason}): ${why}`;
    return { service: input.service, outcome: action, hosts: hosts(), error };
  };
  if (!input.rollback) return fail('failed', 'rollback is disabled for it: it stays at the target');
  if (!before?.fromIdentity) return fail('failed', 'its previous identity is unknown: it stays at the target');
  try {
    await hostSteps(input).rollbackServiceOnHost({
      cluster: input.cluster,
      service: input.service,
      host: canary.host,
      mode: input.mode,
      to: { identity: before.fromIdentity, configHash: before.fromConfigHash ?? '' },
    });
  } catch (err) {
    return fail('rollback-failed', `the rollback failed: ${failureMessage(err)}`);
  }
  if (!input.skipValidation) {
    const health = await waitHealthy(input, canary.host, (d) => decide(() => durationMs(d)), true);
    if (!health.healthy) return fail('rollback-failed', `it is unhealthy after the rollback: ${health.error ?? ''}`);
  }
  canary.action = 'rolled-back';
  canary.detail = `canary ${reason}`;
  return {
    service: input.service,
    outcome: 'rolled-back',
    hosts: hosts(),
    error: `${input.service}: the canary on ${canary.host} was ${reason}; it runs ${canary.from ?? 'its previous identity'} again and the other replicas were not touched`,
  };
}
