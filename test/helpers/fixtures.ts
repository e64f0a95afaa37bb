// Fixture clusters for tests: the copies of the static fixture cluster are lab code (benchmarks use them too);
// writeFwCluster builds a cluster around hosts a test started itself.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../../lab/fixture-cluster';

export {
  FIXTURES,
  writeFixtureCluster,
  writePurserCluster,
  type FixtureClusterOptions,
} from '../../lab/fixture-cluster';

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
