// `upgrade plan` as a read-only workflow: gather topology, catalog and the pinned release through activities,
// then decide purely (src/domain/upgrade-plan.ts). Nothing on the cluster changes.
import { proxyActivities, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { UpgradePlanInputSchema, type UpgradePlan, type UpgradePlanInput } from '../contracts/plan';
import { buildUpgradePlan } from '../domain/upgrade-plan';
import { resolveSelector } from '../domain/selector';
import { NON_RETRYABLE_FAILURES } from '../errors';
import { FwServices, FwState, FwTargetVersion } from '../temporal/search-attributes';
import { decide } from './util';

const { describeCluster, loadCatalog, fetchReleaseSlice, discoverMigrations } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '1 second', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

export async function upgradePlan(rawInput: UpgradePlanInput): Promise<UpgradePlan> {
  const input = decide(() => UpgradePlanInputSchema.parse(rawInput));
  const topology = await describeCluster({ cluster: input.cluster });
  // Empty selector = the cluster's channel (reference §1.1), resolved once and pinned for the whole run.
  const resolved = decide(() =>
    input.selector.trim() === '' ? { channel: topology.channel, version: 'latest' } : resolveSelector(input.selector),
  );
  const [catalog, release, migrations] = await Promise.all([
    loadCatalog({ cluster: input.cluster }),
    fetchReleaseSlice({
      cluster: input.cluster,
      channel: resolved.channel,
      version: resolved.version,
      services: Object.keys(topology.services).sort(),
    }),
    discoverMigrations({ cluster: input.cluster }),
  ]);
  const plan = decide(() =>
    buildUpgradePlan({
      topology,
      selector: input.selector,
      resolved,
      catalog,
      release,
      cliVersion: input.cliVersion,
      unsafeIgnoreCliVersionFloor: input.unsafeIgnoreCliVersionFloor,
      migrationItems: migrations.items,
    }),
  );
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
