// Fixture clusters under unique names, so test files running in parallel against one Temporal server never
// share a task queue (fw-<name>).
import { LAB_MIGRATIONS_DIR } from '../../lab/config';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const FIXTURES = resolve(__dirname, '..', 'fixtures');

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

export interface FwClusterSpec {
  name: string;
  channel?: string;
  /** Hosts as the worker reaches them; a port other than 22 is written as an ssh_config alias (reference §6.1). */
  hosts: Record<string, { address: string; user: string; port?: number; arch?: string }>;
  services: Record<string, { mode: 'native' | 'docker'; hosts: string[]; config?: Record<string, string> }>;
  databases?: { names: string[]; urlEnv: string };
  identityFile?: string;
  knownHosts?: string;
  releaseRepositories?: string[];
  catalogDir?: string;
  migrationsDir?: string;
  serviceManager?: string;
}

/**
 * A FrameWorks-format cluster in `dir` (cluster.yaml, hosts.yaml, orchestrator.yaml and, for hosts on other ports
 * than 22, an ssh_config with one alias per host): what an operator's gitops checkout plus our settings look like.
 */
export function writeFwCluster(dir: string, spec: FwClusterSpec): string {
  mkdirSync(dir, { recursive: true });
  const hostNames = Object.keys(spec.hosts);
  const manifest = [
    `# test cluster ${spec.name}`,
    'version: v1',
    'type: cluster',
    `channel: ${spec.channel ?? 'stable'}`,
    'hosts_file: hosts.yaml',
    'hosts:',
    ...hostNames.map((h) => `  ${h}: { roles: [services] }`),
    ...(spec.databases
      ? [
          'infrastructure:',
          '  postgres:',
          '    enabled: true',
          '    engine: postgres',
          `    host: ${hostNames[0]}`,
          `    databases: [${spec.databases.names.map((n) => `{ name: ${n} }`).join(', ')}]`,
        ]
      : []),
    'services:',
    ...Object.entries(spec.services).map(
      ([name, s]) =>
        `  ${name}: { enabled: true, mode: ${s.mode}, hosts: [${s.hosts.join(', ')}]${
          s.config
            ? `, config: { ${Object.entries(s.config)
                .map(([k, v]) => `${k}: ${v}`)
                .join(', ')} }`
            : ''
        } }`,
    ),
    '',
  ];
  writeFileSync(join(dir, 'cluster.yaml'), manifest.join('\n'));
  writeFileSync(
    join(dir, 'hosts.yaml'),
    [
      'hosts:',
      ...Object.entries(spec.hosts).map(([n, h]) => `  ${n}: { external_ip: ${h.address}, user: ${h.user} }`),
      '',
    ].join('\n'),
  );
  const aliased = Object.entries(spec.hosts).filter(([, h]) => (h.port ?? 22) !== 22);
  if (aliased.length > 0) {
    writeFileSync(
      join(dir, 'ssh_config'),
      aliased.map(([n, h]) => `Host ${n}\n  HostName ${h.address}\n  Port ${h.port}\n  User ${h.user}\n`).join('\n'),
    );
  }
  const arch = Object.entries(spec.hosts).filter(([, h]) => h.arch);
  const settings = [
    `cluster: ${spec.name}`,
    'ssh:',
    `  identity_file: ${spec.identityFile ?? '~/.ssh/id_ed25519'}`,
    `  known_hosts: ${spec.knownHosts ?? './known_hosts'}`,
    `  config: ${aliased.length > 0 ? './ssh_config' : './no-ssh-config'}`,
    'release_repositories:',
    ...(spec.releaseRepositories ?? [join(FIXTURES, 'release-repo')]).map((r) => `  - ${r}`),
    `service_manager: ${spec.serviceManager ?? 'systemd'}`,
    `catalog_dir: ${spec.catalogDir ?? join(FIXTURES, 'catalog')}`,
    ...(spec.migrationsDir ? [`migrations_dir: ${spec.migrationsDir}`] : []),
    ...(spec.databases ? ['databases:', `  url_env: ${spec.databases.urlEnv}`] : []),
    ...(arch.length > 0 ? ['hosts:', ...arch.map(([n, h]) => `  ${n}: { arch: ${h.arch} }`)] : []),
    '',
  ];
  writeFileSync(join(dir, 'orchestrator.yaml'), settings.join('\n'));
  return join(dir, 'cluster.yaml');
}
