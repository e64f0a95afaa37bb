// Gathering what an upgrade plan needs and deciding it: shared by `upgradePlan` (read-only) and `clusterUpgrade`
// (which then runs the live gates). Same activities, same order, so both workflows' histories look alike.
import { patched, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { UpgradePlan } from '../contracts/plan';
import { resolveSelector } from '../domain/selector';
import { buildUpgradePlan } from '../domain/upgrade-plan';
import { decide } from './util';

/**
 * Patch (issue 11 item 4): plans check the catalog's transitions up to the target and their agreement with the
 * manifest; runs recorded before check only the manifest's list.
 */
export const CATALOG_TRANSITIONS_PATCH = 'plan-catalog-transitions-v1';

export interface PlanRequest {
  cluster: string;
  selector: string;
  cliVersion: string;
  unsafeIgnoreCliVersionFloor: boolean;
}

export async function gatherAndPlan(acts: ActivityInterfaceFor<Activities>, input: PlanRequest) {
  const topology = await acts.describeCluster({ cluster: input.cluster });
  // Empty selector = the cluster's channel (reference §1.1), resolved once and pinned for the whole run.
  const resolved = decide(() => resolveSelector(input.selector.trim() === '' ? topology.channel : input.selector));
  const [catalog, release, migrations] = await Promise.all([
    acts.loadCatalog({ cluster: input.cluster }),
    acts.fetchReleaseSlice({
      cluster: input.cluster,
      channel: resolved.channel,
      version: resolved.version,
      services: Object.keys(topology.services).sort(),
    }),
    acts.discoverMigrations({ cluster: input.cluster }),
  ]);
  const plan: UpgradePlan = decide(() =>
    buildUpgradePlan({
      topology,
      selector: input.selector,
      resolved,
      catalog,
      release,
      cliVersion: input.cliVersion,
      unsafeIgnoreCliVersionFloor: input.unsafeIgnoreCliVersionFloor,
      migrationItems: migrations.items,
      catalogTransitions: patched(CATALOG_TRANSITIONS_PATCH),
      ...(migrations.unconfigured ? { migrationsUnconfigured: migrations.unconfigured } : {}),
    }),
  );
  return { topology, catalog, release, migrations, plan };
}
