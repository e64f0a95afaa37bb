// Reads the release catalog and service definitions from a catalog folder (orchestrator.yaml catalog_dir, else the
// FrameWorks catalog shipped with the orchestrator). Local files only, used by the CLI and the worker alike.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseReleaseCatalog,
  parseServiceDefinitions,
  validateServicesAgainstCatalog,
  type ServiceDefinitions,
} from '../contracts/catalog';
import type { CatalogLoadResult } from '../contracts/catalog-load';
import { errorMessage, InputError, type InputIssue } from '../errors';

/** Every service the cluster deploys must have a definition; an unknown one could be anything, so refuse. */
export function validateServicesDefined(
  services: readonly string[],
  definitions: ServiceDefinitions,
  manifestPath: string,
  catalogDir: string,
): void {
  const issues: InputIssue[] = services
    .filter((name) => !Object.hasOwn(definitions, name))
    .map((name) => ({
      path: `services.${name}`,
      message: `unknown service "${name}": no definition in ${join(catalogDir, 'services.yaml')}`,
    }));
  if (issues.length > 0) throw new InputError(manifestPath, issues);
}

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

/** The catalog for a cluster deploying `services` (deploy names); never throws: a failure is a result. */
export function loadCatalog(catalogDir: string, services: readonly string[], manifestPath: string): CatalogLoadResult {
  const loaded = loadCatalogDir(catalogDir);
  if (!loaded.ok) return loaded;
  try {
    validateServicesDefined(services, loaded.services, manifestPath, catalogDir);
    return loaded;
  } catch (err) {
    return { ok: false, error: errorMessage(err), source: loaded.source };
  }
}
