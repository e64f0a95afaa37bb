// Where a data migration's driver is (moved whole from activities.ts): the service binary or the SQL definition of
// the owning database, located once per cluster and cached while the definition file is unchanged.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DataMigrationRequirement } from '../../contracts/catalog';
import { serviceDatabase } from '../../domain/catalog';
import { parseDataMigrationDefinition, type DataMigrationDefinition } from '../../domain/data-migrations/definition';
import { FailureType, errorMessage } from '../../errors';
import { loadCatalogFor } from '../catalog';
import { noMigrationsSource, requireMigrationsDir, type LoadedCluster } from '../cluster-config';
import { failure } from '../failures';
import { serviceHost } from '../hosts/ssh-session';
import { databaseTarget, type DatabaseTarget } from '../postgres/connect';
import { type ServiceInvocation } from './service-driver';

export interface MigrationRef {
  cluster: string;
  service: string;
  id: string;
}

export type Driver =
  /** `stamp`: the definition file's stamp taken before it was read (locate's cache). */
  | { kind: 'sql'; definition: DataMigrationDefinition; stamp?: string }
  | { kind: 'service'; host: string; invocation: ServiceInvocation };

export interface Located {
  requirement: DataMigrationRequirement;
  database: string;
  target: DatabaseTarget;
  driver: Driver;
}

export const DEFAULT_SERVICE_ROOT = '/opt/frameworks';

/** How the service binary is invoked on its host (SPEC §6 layout), from cluster.yaml alone: no I/O. */
export function serviceDriver(cluster: LoadedCluster, service: string, id: string): Driver | string {
  const host = serviceHost(cluster, service);
  if (!host) {
    return `${service}.${id} uses the service driver, which runs the ${service} binary on its host, but ${service} is not deployed in ${cluster.manifestPath} (services.${service})`;
  }
  const invocation: ServiceInvocation =
    cluster.manifest.services[service]!.mode === 'docker'
      ? { mode: 'docker', bin: service, container: `frameworks-${service}` }
      : {
          mode: 'native',
          bin: service,
          installDir: `${(process.env.FRAMEWORKS_SERVICE_ROOT ?? DEFAULT_SERVICE_ROOT).replace(/\/+$/, '')}/${service}/current`,
        };
  return { kind: 'service', host, invocation };
}

/** The sql driver's definition file for a requirement. */
export function definitionPath(cluster: LoadedCluster, req: DataMigrationRequirement, database: string): string {
  return join(requireMigrationsDir(cluster), database, req.introduced_in, 'data', `${req.id}.sql`);
}

export function sqlDriver(cluster: LoadedCluster, req: DataMigrationRequirement, database: string): Driver | string {
  if (!cluster.migrationsDir) return noMigrationsSource(cluster);
  const path = definitionPath(cluster, req, database);
  if (!existsSync(path)) return `definition file ${path} is missing`;
  const stamp = fileStamp(path);
  try {
    return { kind: 'sql', definition: parseDataMigrationDefinition(readFileSync(path, 'utf8'), path), stamp };
  } catch (err) {
    return errorMessage(err);
  }
}

/** Identity of a file's current content as far as the file system tells (no read): changes when it is rewritten. */
export function fileStamp(path: string): string {
  try {
    const st = statSync(path);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * What locate() parsed from files (the catalog's requirement and owner, the definition), per cluster and
 * `<service>.<id>`, valid while the catalog files and the definition file keep their stamps. A batch activity
 * then costs a few stat() calls instead of two YAML parses and a definition parse. Refusals are not cached.
 * The database target and the service driver's invocation are rebuilt on every call: they read the worker's
 * environment, which tests change.
 */
export interface CachedLocation {
  stamp: string;
  requirement: DataMigrationRequirement;
  database: string;
  definition?: DataMigrationDefinition;
}
export const locations = new WeakMap<LoadedCluster, Map<string, CachedLocation>>();

export function locationStamp(cluster: LoadedCluster, definitionFile: string | undefined): string {
  const files = [join(cluster.catalogDir, 'releases.yaml'), join(cluster.catalogDir, 'services.yaml')];
  if (definitionFile) files.push(definitionFile);
  return files.map(fileStamp).join('|');
}

export async function fromCache(cluster: LoadedCluster, service: string, id: string): Promise<Located | undefined> {
  const hit = locations.get(cluster)?.get(`${service}.${id}`);
  if (!hit) return undefined;
  const defFile = hit.definition ? definitionPath(cluster, hit.requirement, hit.database) : undefined;
  if (locationStamp(cluster, defFile) !== hit.stamp) return undefined;
  const driver: Driver | string = hit.definition
    ? { kind: 'sql', definition: hit.definition }
    : serviceDriver(cluster, service, id);
  if (typeof driver === 'string') return undefined;
  return {
    requirement: hit.requirement,
    database: hit.database,
    target: await databaseTarget(cluster, hit.database),
    driver,
  };
}

/** Finds everything about `<service>.<id>`; a string is the reason it cannot run (a refusal, not an error). */
export async function locate(cluster: LoadedCluster, service: string, id: string): Promise<Located | string> {
  const cached = await fromCache(cluster, service, id);
  if (cached) return cached;
  // Stamped before reading, so a file rewritten while we parse leaves a stale stamp (a miss), never a stale hit.
  const catalogStamp = locationStamp(cluster, undefined);
  const l = await locateUncached(cluster, service, id);
  if (typeof l === 'string') return l;
  const stamp = l.driver.kind === 'sql' ? `${catalogStamp}|${l.driver.stamp ?? 'unknown'}` : catalogStamp;
  let perCluster = locations.get(cluster);
  if (!perCluster) locations.set(cluster, (perCluster = new Map<string, CachedLocation>()));
  perCluster.set(`${service}.${id}`, {
    stamp,
    requirement: l.requirement,
    database: l.database,
    ...(l.driver.kind === 'sql' ? { definition: l.driver.definition } : {}),
  });
  return l;
}

export async function locateUncached(cluster: LoadedCluster, service: string, id: string): Promise<Located | string> {
  const catalog = loadCatalogFor(cluster);
  if (!catalog.ok) return `release catalog failed to load: ${catalog.error}`;
  const requirement = catalog.catalog.releases
    .flatMap((r) => r.required_data_migrations)
    .find((r) => r.service === service && r.id === id);
  if (!requirement) {
    return `${service}.${id} is not declared in the release catalog (releases[].required_data_migrations in ${catalog.source})`;
  }
  const owner = serviceDatabase(catalog.catalog, service);
  if (!owner.declared) return `service ${service} has no owning database in the catalog (service_databases)`;
  if (!(cluster.manifest.databases?.names ?? []).includes(owner.database)) {
    return `database ${owner.database} (owner of ${service}) is not in ${cluster.manifestPath} infrastructure.postgres.databases`;
  }
  const driver =
    requirement.driver === 'service'
      ? serviceDriver(cluster, service, id)
      : sqlDriver(cluster, requirement, owner.database);
  if (typeof driver === 'string') return driver;
  return { requirement, database: owner.database, target: await databaseTarget(cluster, owner.database), driver };
}

export async function located(cluster: LoadedCluster, ref: MigrationRef): Promise<Located> {
  const l = await locate(cluster, ref.service, ref.id);
  if (typeof l === 'string') throw failure(FailureType.GateRefused, l);
  return l;
}
