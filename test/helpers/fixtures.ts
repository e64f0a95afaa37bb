// Fixture clusters under unique names, so test files running in parallel against one Temporal server never
// share a task queue (fw-<name>).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SHIPPED_MIGRATIONS_DIR } from '../../src/activities/cluster-config';

export const FIXTURES = resolve(__dirname, '..', 'fixtures');

export interface FixtureClusterOptions {
  name: string;
  /** Replace `release_repositories` (default: the fixture repository). */
  releaseRepositories?: string[];
  catalogDir?: string;
  channel?: 'stable' | 'rc';
  /** Replace databases.names. */
  databases?: string[];
  /** Environment variable the worker reads the PostgreSQL server URL from. */
  urlEnv?: string;
  migrationsDir?: string;
}

/** Writes a copy of test/fixtures/cluster/cluster.yaml into a temp folder; returns its path. */
export function writeFixtureCluster(opts: FixtureClusterOptions): string {
  const dir = mkdtempSync(join(tmpdir(), `fw-cluster-${opts.name}-`));
  const repos = opts.releaseRepositories ?? [join(FIXTURES, 'release-repo')];
  let text = readFileSync(join(FIXTURES, 'cluster', 'cluster.yaml'), 'utf8');
  text = text
    .replace(/^name: .*$/m, `name: ${opts.name}`)
    .replace(/^channel: .*$/m, `channel: ${opts.channel ?? 'stable'}`)
    .replace(
      /^release_repositories:\n( {2}- .*\n)+/m,
      `release_repositories:\n${repos.map((r) => `  - ${r}\n`).join('')}`,
    )
    .replace(/^catalog_dir: .*$/m, `catalog_dir: ${opts.catalogDir ?? join(FIXTURES, 'catalog')}`);
  if (opts.databases) text = text.replace(/^ {2}names: .*$/m, `  names: [${opts.databases.join(', ')}]`);
  if (opts.urlEnv) text = text.replace(/^ {2}url_env: .*$/m, `  url_env: ${opts.urlEnv}`);
  if (opts.migrationsDir) text += `migrations_dir: ${opts.migrationsDir}\n`;
  const path = join(dir, 'cluster.yaml');
  writeFileSync(path, text);
  return path;
}

/**
 * A cluster whose purser data lives in database `db` (the catalog is copied with service_databases.purser = db,
 * and the shipped purser migrations, data definitions included, are copied under that name), so parallel test
 * files never share a database.
 */
export function writePurserCluster(name: string, db: string, urlEnv: string): string {
  const work = mkdtempSync(join(tmpdir(), `fw-purser-${name}-`));
  const catalogDir = join(work, 'catalog');
  mkdirSync(catalogDir);
  for (const f of ['releases.yaml', 'services.yaml']) {
    const text = readFileSync(join(FIXTURES, 'catalog', f), 'utf8')
      .replace(/^(\s+purser): purser$/m, `$1: ${db}`)
      .replace(/^(\s+database): purser$/m, `$1: ${db}`);
    writeFileSync(join(catalogDir, f), text);
  }
  const migrationsDir = join(work, 'migrations');
  cpSync(join(SHIPPED_MIGRATIONS_DIR, 'purser'), join(migrationsDir, db), { recursive: true });
  return writeFixtureCluster({ name, databases: [db], urlEnv, migrationsDir, catalogDir });
}
