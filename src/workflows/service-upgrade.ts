// One service, replicas one by one (SPEC §6): detect → skip on equal identity and config → stage → activate →
// health loop on durable timers → on failure, roll back (compensation) and stop. A child of clusterUpgrade
// with id fw/<cluster>/change/<service>, so each service has its own small history in the Web UI. The replica
// steps are in service-replicas.ts; this file is the workflow and its FwState.
import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import type { ServiceUpgradeInput, ServiceUpgradeResult } from '../contracts/upgrade';
import { FwState } from '../temporal/search-attributes';
import { CANARY_PATCH } from './cluster-upgrade-canary';
import { canaryReplicas } from './service-canary';
import { upgradeReplicas, type Moves } from './service-replicas';

export { HEALTH_BACKOFF_PATCH, PRESTAGE_PATCH, START_STOPPED_PATCH } from './service-replicas';

/**
 * Patch (issue 11 item 11): the child carries FwState like every other run — `running` from its first task, then
 * its outcome (`upgraded`, `started`, `skipped`, `rolled-back`, `failed`, `rollback-failed`) — so `runs list` and
 * the Web UI show where each service stands. The parent sets the other Fw* attributes when it starts the child.
 * Runs recorded before upsert nothing.
 */
export const SERVICE_FW_STATE_PATCH = 'service-upgrade-fw-state-v1';

/**
 * Each host outcome also records the identities and config hashes on both sides: the record `cluster rollback`
 * reverts. Only the result changes; the commands (and so replay) are those of upgradeReplicas.
 */
async function replicas(input: ServiceUpgradeInput): Promise<ServiceUpgradeResult> {
  const moves: Moves = new Map();
  // `--canary` (CANARY_PATCH): only children started with `canary` reach the marker; others are as recorded.
  const result =
    input.canary && patched(CANARY_PATCH) ? await canaryReplicas(input, moves) : await upgradeReplicas(input, moves);
  return { ...result, hosts: result.hosts.map((h) => ({ ...h, ...moves.get(h.host) })) };
}

export async function serviceUpgrade(input: ServiceUpgradeInput): Promise<ServiceUpgradeResult> {
  if (!patched(SERVICE_FW_STATE_PATCH)) return replicas(input);
  upsertSearchAttributes([{ key: FwState, value: 'running' }]);
  let result: ServiceUpgradeResult;
  try {
    result = await replicas(input);
  } catch (err) {
    upsertSearchAttributes([{ key: FwState, value: 'failed' }]);
    throw err;
  }
  upsertSearchAttributes([{ key: FwState, value: result.outcome }]);
  return result;
}
