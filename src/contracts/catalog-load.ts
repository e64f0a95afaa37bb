// What the catalog-loading activity returns. A catalog that fails to load is data, not an exception: every
// gate must then refuse with "release catalog failed to load" and doctor reports degraded (reference §10.15).
import type { ReleaseCatalog, ServiceDefinitions } from './catalog';

export type CatalogLoadResult =
  | { ok: true; catalog: ReleaseCatalog; services: ServiceDefinitions; source: string }
  | { ok: false; error: string; source: string };
