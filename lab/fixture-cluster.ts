// Copies of the static fixture cluster under unique names, so test files running in parallel against one Temporal
// server never share a task queue (fw-<name>) or a database. In lab/ because the migrate and data-migrate benchmarks
// run the same clusters as the tests (bench/ imports nothing from test/); the fixture *data* (cluster manifest, its
// release repository and catalog) stays in test/fixtures, where the tests that read it directly expect it.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_MIGRATIONS_DIR, PROJECT_ROOT } from './config';

/** The static fixture data: test/fixtures/{cluster,release-repo,catalog}. */
export const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures');

export interface FixtureClusterOptions {
  name: string;
  /** Release repositories (default: the fixture repository). */
  releaseRepositories?: string[];
  catalogDir?: string;
  channel?: 'stable' | 'rc';
  /** Replace infrastructure.postgres.databases. */
  databases?: string[];
  /** Environment variable the worker reads the PostgreSQL server URL from. */
  urlEnv?: string;
  /** Default: the lab's migrations (tests choose them explicitly; the product has no default). null: none. */
  migrationsDir?: string | null;
}

/**
 * Writes a copy of test/fixtures/cluster (the FrameWorks manifest, its hosts file and orchestrator.yaml) into a temp
 * folder named after the cluster; returns the manifest's path.
 */
export function writeFixtureCluster(opts: FixtureClusterOptions): string {
  const dir = join(mkdtempSync(join(tmpdir(), `fw-cluster-${opts.name}-`)), opts.name);
  mkdirSync(dir);
  const src = join(FIXTURES, 'cluster');
  let manifest = readFileSync(join(src, 'cluster.yaml'), 'utf8').replace(
    /^channel: .*$/m,
    `channel: ${opts.channel ?? 'stable'}`,
  );
  if (opts.databases) {
    manifest = manifest.replace(
      /^ {4}databases: .*$/m,
      `    databases: [${opts.databases.map((d) => `{ name: ${d} }`).join(', ')}]`,
    );
  }
  writeFileSync(join(dir, 'cluster.yaml'), manifest);
  writeFileSync(join(dir, 'hosts.yaml'), readFileSync(join(src, 'hosts.yaml')));
  const repos = opts.releaseRepositories ?? [join(FIXTURES, 'release-repo')];
  const settings = [
    `cluster: ${opts.name}`,
    'ssh:',
    '  identity_file: ~/.ssh/id_ed25519',
    `  known_hosts: ${join(src, 'known_hosts')}`,
    'release_repositories:',
    ...repos.map((r) => `  - ${r}`),
    'service_manager: systemd',
    `catalog_dir: ${opts.catalogDir ?? join(FIXTURES, 'catalog')}`,
    'databases:',
    `  url_env: ${opts.urlEnv ?? 'FRAMEWORKS_DATABASE_URL'}`,
    ...(opts.migrationsDir === null ? [] : [`migrations_dir: ${opts.migrationsDir ?? LAB_MIGRATIONS_DIR}`]),
    'hosts:',
    '  h1: { arch: linux-amd64 }',
    '  h2: { arch: linux-amd64 }',
    '',
  ];
  writeFileSync(join(dir, 'orchestrator.yaml'), settings.join('\n'));
  return join(dir, 'cluster.yaml');
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
  cpSync(join(LAB_MIGRATIONS_DIR, 'purser'), join(migrationsDir, db), { recursive: true });
  return writeFixtureCluster({ name, databases: [db], urlEnv, migrationsDir, catalogDir });
}
