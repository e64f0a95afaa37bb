// Loads the release catalog and service definitions for a cluster (catalog_dir, else the shipped catalog/).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseReleaseCatalog, parseServiceDefinitions, validateServicesAgainstCatalog } from '../contracts/catalog';
import { validateClusterAgainstServices } from '../contracts/cluster';
import type { CatalogLoadResult } from '../contracts/catalog-load';
import { errorMessage } from '../errors';
import type { LoadedCluster } from './cluster-config';

export function loadCatalogFor(cluster: LoadedCluster): CatalogLoadResult {
  const source = cluster.catalogDir;
  try {
    const releasesPath = join(source, 'releases.yaml');
    const servicesPath = join(source, 'services.yaml');
    const catalog = parseReleaseCatalog(readFileSync(releasesPath, 'utf8'), releasesPath);
    const services = parseServiceDefinitions(readFileSync(servicesPath, 'utf8'), servicesPath);
    validateServicesAgainstCatalog(services, catalog, servicesPath);
    validateClusterAgainstServices(cluster.manifest, services, cluster.manifestPath);
    return { ok: true, catalog, services, source };
  } catch (err) {
    return { ok: false, error: errorMessage(err), source };
  }
}
