// Shared pieces of the stubbed clusterUpgrade workflow tests: the config hashes the real activities render from a
// fixture cluster.yaml (what the stubbed hosts must report to be "at target"), and the input of an approved
// upgrade of every service to v0.2.0.
import type { ClusterUpgradeInput } from '../../src/contracts/upgrade';

/** The real rendering of each service's config, through the real `describeServiceConfigs` activity. */
export async function renderedConfigs(
  cluster: string,
  manifest: string,
  services: string[],
): Promise<Record<string, string>> {
  const { createActivities } = await import('../../src/activities');
  const { loadClusterConfig } = await import('../../src/activities/cluster-config');
  const acts = createActivities({
    clusters: { [cluster]: await loadClusterConfig(manifest) },
    fetcher: undefined as never,
    cacheDir: '/tmp',
  });
  return acts.describeServiceConfigs({ cluster, services });
}

/** An approved `upgrade --all` to v0.2.0 with quick health settings; `extra` overrides any field. */
export function upgradeAllInput(cluster: string, extra: Partial<ClusterUpgradeInput> = {}): ClusterUpgradeInput {
  return {
    cluster,
    services: 'all',
    selector: 'v0.2.0',
    cliVersion: 'v0.3.0',
    approved: true,
    healthInterval: '200 milliseconds',
    healthDeadline: '2 seconds',
    ...extra,
  };
}
