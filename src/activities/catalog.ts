// The worker's catalog for a cluster it serves (config/catalog.ts does the reading).
import type { CatalogLoadResult } from '../contracts/catalog-load';
import { loadCatalog } from '../config/catalog';
import type { LoadedCluster } from './cluster-config';

export { loadCatalogDir } from '../config/catalog';

/** The cluster's catalog, which must also define every service the cluster deploys. */
export function loadCatalogFor(cluster: LoadedCluster): CatalogLoadResult {
  return loadCatalog(cluster.catalogDir, Object.keys(cluster.manifest.services), cluster.manifestPath);
}
