// The clusters a worker serves, loaded once at start from their cluster.yaml files. Relative paths in a
// manifest (release repositories, catalog_dir, migrations_dir) are relative to the manifest's own folder.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseClusterManifest, type ClusterManifest } from '../contracts/cluster';
import type { ClusterTopology } from '../contracts/plan';
import { InputError } from '../errors';

/** catalog/ and migrations/ shipped with the orchestrator (src/… and lib/… are both two levels below). */
export const SHIPPED_CATALOG_DIR = join(__dirname, '..', '..', 'catalog');
export const SHIPPED_MIGRATIONS_DIR = join(__dirname, '..', '..', 'migrations');

export interface LoadedCluster {
  manifest: ClusterManifest;
  manifestPath: string;
  catalogDir: string;
  migrationsDir: string;
  /** Local folders made absolute; URLs unchanged; order kept. */
  releaseRepositories: string[];
}

function resolveLocal(baseDir: string, p: string): string {
  if (p.startsWith('~/') || p === '~') return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

export function resolveRepository(baseDir: string, repo: string): string {
  return /^https?:\/\//i.test(repo) ? repo : resolveLocal(baseDir, repo);
}

export function loadClusterConfig(manifestPath: string): LoadedCluster {
  const abs = resolve(manifestPath);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new InputError(abs, `cannot read cluster manifest: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const manifest = parseClusterManifest(text, abs);
  const baseDir = dirname(abs);
  return {
    manifest,
    manifestPath: abs,
    catalogDir: manifest.catalog_dir ? resolveLocal(baseDir, manifest.catalog_dir) : SHIPPED_CATALOG_DIR,
    migrationsDir: manifest.migrations_dir ? resolveLocal(baseDir, manifest.migrations_dir) : SHIPPED_MIGRATIONS_DIR,
    releaseRepositories: manifest.release_repositories.map((r) => resolveRepository(baseDir, r)),
  };
}

export function topologyOf(loaded: LoadedCluster): ClusterTopology {
  const m = loaded.manifest;
  return {
    name: m.name,
    channel: m.channel,
    manifestPath: loaded.manifestPath,
    releaseRepositories: loaded.releaseRepositories,
    hosts: Object.fromEntries(
      Object.entries(m.hosts).map(([name, h]) => [
        name,
        { address: h.address, docker: h.docker, ...(h.arch ? { arch: h.arch } : {}) },
      ]),
    ),
    services: Object.fromEntries(
      Object.entries(m.services).map(([name, s]) => [name, { mode: s.mode, hosts: [...s.hosts] }]),
    ),
    databases: m.databases?.names ?? [],
  };
}
