// `upgrade plan` as a read-only workflow: gather topology, catalog and the pinned release through activities,
// then decide purely (src/domain/upgrade-plan.ts). Nothing on the cluster changes.
import { proxyActivities, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { UpgradePlanInputSchema, type UpgradePlan, type UpgradePlanInput } from '../contracts/plan';
import { FwServices, FwState, FwTargetVersion } from '../temporal/search-attributes';
import { gatherAndPlan } from './plan-steps';
import { decide, readOptions } from './util';

const acts = proxyActivities<Activities>(readOptions('2 minutes', 3));

export async function upgradePlan(rawInput: UpgradePlanInput): Promise<UpgradePlan> {
  const input = decide(() => UpgradePlanInputSchema.parse(rawInput));
  const { plan } = await gatherAndPlan(acts, input);
  upsertSearchAttributes([
    { key: FwTargetVersion, value: plan.platformVersion },
    { key: FwServices, value: plan.order },
    { key: FwState, value: plan.refused ? 'refused' : 'planned' },
  ]);
  upsertMemo({
    summary: `${plan.order.length} service(s) → ${plan.platformVersion}${plan.refused ? ' (refused)' : ''}`,
  });
  return plan;
}
