// Loads the release catalog and service definitions for a cluster (catalog_dir, else the shipped catalog/).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseReleaseCatalog, parseServiceDefinitions, validateServicesAgainstCatalog } from '../contracts/catalog';
import { validateClusterAgainstServices } from '../contracts/cluster';
import type { CatalogLoadResult } from '../contracts/catalog-load';
import { errorMessage } from '../errors';
import type { LoadedCluster } from './cluster-config';

/** A catalog folder on its own: both files parsed strictly and checked against each other. */
export function loadCatalogDir(source: string): CatalogLoadResult {
  try {
    const releasesPath = join(source, 'releases.yaml');
    const servicesPath = join(source, 'services.yaml');
    const catalog = parseReleaseCatalog(readFileSync(releasesPath, 'utf8'), releasesPath);
    const services = parseServiceDefinitions(readFileSync(servicesPath, 'utf8'), servicesPath);
    validateServicesAgainstCatalog(services, catalog, servicesPath);
    return { ok: true, catalog, services, source };
  } catch (err) {
    return { ok: false, error: errorMessage(err), source };
  }
}

/** The cluster's catalog, which must also define every service the cluster manifest names. */
export function loadCatalogFor(cluster: LoadedCluster): CatalogLoadResult {
  const loaded = loadCatalogDir(cluster.catalogDir);
  if (!loaded.ok) return loaded;
  try {
    validateClusterAgainstServices(cluster.manifest, loaded.services, cluster.manifestPath);
    return loaded;
  } catch (err) {
    return { ok: false, error: errorMessage(err), source: loaded.source };
  }
}
