// Facts for settling services at target right before the deploy sequence of a `clusterUpgrade` run.
import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HostDetection } from '../contracts/upgrade';
import type { ParsedUpgradeInput } from './cluster-upgrade';
import type { UpgradeRunPlan } from './cluster-upgrade-run';
import { readOptions } from './util';

/** The activities of a `clusterUpgrade` run (planning, gates and this detection) with their one set of options. */
export const upgradeActivities = proxyActivities<Activities>(readOptions('5 minutes', 5));

/** Host architectures as an optional input field: absent when none is known (inputs as before for such runs). */
export const known = (archs: Record<string, string>) => (Object.keys(archs).length > 0 ? archs : undefined);

/**
 * Patch (issue 12, no-op speed): when the plan was approved up front (`--yes`) and its detection finished at most
 * PLAN_DETECTION_FRESH_MS ago (workflow time), that detection IS the fresh one: nothing waited for a person in
 * between, only the gates ran on those very facts. Settling services at target reuses it instead of detecting every
 * replica again. Any other run — approval given later, or slow gates — detects again right before the deploy
 * sequence, as before. Services that need a change still get their child, which detects each host again just
 * before changing it, either way.
 */
export const REUSE_PLAN_DETECTION_PATCH = 'cluster-upgrade-reuse-plan-detection-v1';
export const PLAN_DETECTION_FRESH_MS = 10_000;

/** Facts for settling services at target: the plan's own when approved up front and still fresh, else a new batch. */
export async function freshDetections(
  input: ParsedUpgradeInput,
  p: UpgradeRunPlan,
): Promise<Record<string, HostDetection[]>> {
  const plan = p.planDetection;
  if (
    input.approved &&
    plan !== undefined &&
    Date.now() - plan.at <= PLAN_DETECTION_FRESH_MS &&
    patched(REUSE_PLAN_DETECTION_PATCH)
  ) {
    return plan.detections;
  }
  return upgradeActivities.detectServices({
    cluster: input.cluster,
    services: p.services,
    ...(known(p.hostArchs) ? { archs: p.hostArchs } : {}),
  });
}
