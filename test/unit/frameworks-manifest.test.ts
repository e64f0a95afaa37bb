// The FrameWorks cluster manifest read as the reference CLI reads it (frameworks-real-world.md §1): strict decoding
// with yaml.v3's conversions, the host-inventory merge, every Manifest.Validate rule (accept and reject), the
// env-file line rules and placement.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  frameworksManifestProblems,
  mergeHostInventory,
  parseDotenv,
  parseFrameworksManifest,
  parseHostInventory,
  resolveSharedEnvPlaceholder,
  validateFrameworksManifest,
} from '../../src/contracts/frameworks';
import type { FrameworksManifest } from '../../src/contracts/frameworks';
import {
  clickhouseTarget,
  databaseTargets,
  deployName,
  infrastructureHost,
  hostCluster,
  isDevProfile,
  probeHost,
  resolvedChannel,
  resolveDatabasePassword,
  resolveRedisPasswords,
  serviceHosts,
} from '../../src/domain/frameworks/placement';
import { inputError, issuePaths } from './support';

const SRC = 'clusters/test/cluster.yaml';

type Json = Record<string, unknown>;

/** A manifest the reference accepts: Yugabyte on db-1, a media cell with a foghorn alias, privateer unplaced. */
const BASE: Json = {
  version: 'v1',
  type: 'cluster',
  profile: 'staging',
  hosts: {
    'core-1': { external_ip: '192.0.2.10', user: 'deploy', cluster: 'core', roles: ['services'] },
    'db-1': { external_ip: '192.0.2.11', user: 'deploy', cluster: 'core', roles: ['infrastructure'] },
    'media-1': { external_ip: '192.0.2.12', user: 'deploy', cluster: 'media', roles: ['services'] },
    'edge-1': { external_ip: '192.0.2.13', user: 'deploy', cluster: 'media', roles: ['edge'] },
  },
  clusters: {
    core: { name: 'Core', type: 'central', roles: ['control', 'data'] },
    media: { name: 'Media', type: 'edge', roles: ['media'] },
  },
  infrastructure: {
    postgres: {
      enabled: true,
      engine: 'yugabyte',
      mode: 'native',
      nodes: [{ host: 'db-1', id: 1 }],
      databases: [{ name: 'quartermaster' }, { name: 'foghorn' }],
    },
  },
  services: {
    quartermaster: { enabled: true, mode: 'native', host: 'core-1' },
    'foghorn-eu': { enabled: true, mode: 'native', deploy: 'foghorn', cluster: 'media', hosts: ['media-1'] },
    privateer: { enabled: true, mode: 'native' },
  },
};

/** BASE with `patch` deep-merged in; a patch value of `undefined` removes the key. */
function mk(patch: Json, base: Json = BASE): string {
  const merge = (a: unknown, b: unknown): unknown => {
    if (b === undefined) return undefined;
    if (
      a === null ||
      typeof a !== 'object' ||
      Array.isArray(a) ||
      b === null ||
      typeof b !== 'object' ||
      Array.isArray(b)
    )
      return b;
    const out: Json = { ...(a as Json) };
    for (const [k, v] of Object.entries(b as Json)) {
      const m = merge(out[k], v);
      if (m === undefined) delete out[k];
      else out[k] = m;
    }
    return out;
  };
  return stringify(merge(base, patch));
}

const parse = (text: string) => parseFrameworksManifest(text, SRC);
const problems = (text: string) => frameworksManifestProblems(parse(text));
const decodeIssues = (text: string) => inputError(() => parse(text)).issues;

describe('decoding: strict like yaml.v3 KnownFields(true)', () => {
  it('accepts the base manifest and fills Go zero values', () => {
    const m = parse(mk({}));
    expect(m.channel).toBe('');
    expect(m.hosts['core-1']).toMatchObject({ name: 'core-1', labels: {}, wireguard_port: 0 });
    expect(m.services.quartermaster).toMatchObject({ deploy: '', hosts: [], port: 0, config: {} });
    expect(m.infrastructure.kafka).toBeUndefined();
    expect(frameworksManifestProblems(m)).toEqual([]);
  });

  it.each([
    ['top level', 'foo: 1', 'foo'],
    ['host', 'hosts: {a: {ssh_port: 2222}}', 'hosts.a.ssh_port'],
    ['host name (yaml:"-")', 'hosts: {a: {name: a}}', 'hosts.a.name'],
    [
      'host wireguard_private_key (secret, hosts file only)',
      'hosts: {a: {wireguard_private_key: k}}',
      'hosts.a.wireguard_private_key',
    ],
    ['cluster', 'clusters: {c: {zone: x}}', 'clusters.c.zone'],
    ['cluster pricing', 'clusters: {c: {pricing: {currency: eur}}}', 'clusters.c.pricing.currency'],
    ['wireguard', 'wireguard: {mtu: 1420}', 'wireguard.mtu'],
    ['wireguard peer', 'wireguard: {peers: [{name: p, keepalive: 25}]}', 'wireguard.peers[0].keepalive'],
    ['infrastructure (zookeeper is gone)', 'infrastructure: {zookeeper: {enabled: false}}', 'infrastructure.zookeeper'],
    ['postgres', 'infrastructure: {postgres: {user: x}}', 'infrastructure.postgres.user'],
    [
      'postgres node',
      'infrastructure: {postgres: {nodes: [{host: a, zone: z}]}}',
      'infrastructure.postgres.nodes[0].zone',
    ],
    [
      'postgres instance',
      'infrastructure: {postgres: {instances: [{name: s, user: u}]}}',
      'infrastructure.postgres.instances[0].user',
    ],
    [
      'postgres database',
      'infrastructure: {postgres: {databases: [{name: d, encoding: utf8}]}}',
      'infrastructure.postgres.databases[0].encoding',
    ],
    [
      'redis sentinel',
      'infrastructure: {redis: {instances: [{sentinels: [{host: a, quorum: 2}]}]}}',
      'infrastructure.redis.instances[0].sentinels[0].quorum',
    ],
    ['kafka', 'infrastructure: {kafka: {zookeeper: x}}', 'infrastructure.kafka.zookeeper'],
    [
      'kafka broker',
      'infrastructure: {kafka: {brokers: [{host: a, rack: r}]}}',
      'infrastructure.kafka.brokers[0].rack',
    ],
    [
      'kafka controller',
      'infrastructure: {kafka: {controllers: [{host: a, rack: r}]}}',
      'infrastructure.kafka.controllers[0].rack',
    ],
    [
      'kafka topic',
      'infrastructure: {kafka: {topics: [{name: t, retention: 1}]}}',
      'infrastructure.kafka.topics[0].retention',
    ],
    [
      'kafka regional',
      'infrastructure: {kafka: {regional: [{region_id: r, mode: native}]}}',
      'infrastructure.kafka.regional[0].mode',
    ],
    [
      'kafka mirrormaker',
      'infrastructure: {kafka: {mirrormaker: {topics: [a]}}}',
      'infrastructure.kafka.mirrormaker.topics',
    ],
    [
      'clickhouse node',
      'infrastructure: {clickhouse: {nodes: [{host: a, id: 1, shard: 1}]}}',
      'infrastructure.clickhouse.nodes[0].shard',
    ],
    ['service env: (config is the key)', 'services: {bridge: {env: {A: b}}}', 'services.bridge.env'],
    [
      'service update_strategy',
      'services: {bridge: {update_strategy: {batch: 2}}}',
      'services.bridge.update_strategy.batch',
    ],
    ['interface', 'interfaces: {nginx: {domains: [a]}}', 'interfaces.nginx.domains'],
    ['observability', 'observability: {grafana: {plugins: [a]}}', 'observability.grafana.plugins'],
    ['geoip', 'geoip: {license_key: k}', 'geoip.license_key'],
    ['tls bundle', 'tls_bundles: {b: {key_type: ec}}', 'tls_bundles.b.key_type'],
    ['ingress site', 'ingress_sites: {s: {port: 443}}', 'ingress_sites.s.port'],
  ])('refuses an unknown key at %s', (_what, yaml, path) => {
    const issues = decodeIssues(`version: v1\ntype: cluster\n${yaml}\n`);
    expect(issues).toContainEqual({ path, message: 'unknown key' });
  });

  it('accepts every documented key at every level', () => {
    const m = parse(`version: v1
type: cluster
profile: production
channel: v0.2.50
root_domain: example.test
env_files: [../../config/a.env]
hosts_file: hosts.enc.yaml
bootstrap_overlay: bootstrap.yaml
hosts:
  a: {external_ip: 192.0.2.1, user: u, cluster: c, roles: [edge], labels: {region: r, dc: d}, wireguard_ip: 10.0.0.1,
      wireguard_public_key: pk, wireguard_port: 51820, wireguard_private_key_file: /etc/wg.key, wireguard_private_key_managed: false}
clusters:
  c: {name: C, type: edge, region: r, roles: [media], default: true, platform_official: true, public_topology: true,
      owner_tenant: frameworks, pricing: {model: custom, required_tier_level: 2, allow_free_tier: false, default_quotas: {max_streams: 5}},
      env_files: [x.env], cell: c1, class: platform_official, control_cell: c1, eligible_serving_cells: [c1], s3_bucket: b,
      s3_endpoint: https://s3.test, s3_region: r, s3_prefix: "", allow_private_pull_sources: true}
wireguard: {enabled: true, interface: wg0, manage_hosts_file: true, peers: [{name: p, public_key: k, endpoint: e, allowed_ips: [10.0.0.0/8]}],
            mesh_cidr: 10.0.0.0/16, listen_port: 51820}
infrastructure:
  postgres: {enabled: true, engine: yugabyte, mode: native, version: "2025.2", host: a, nodes: [{host: a, id: 1, rpc_port: 7100}],
             instances: [{name: s, host: a, port: 5432, version: "18", mode: native, password: p, databases: [{name: d, owner: o}],
                          tuning: {shared_buffers: 1GB}, config: {x: y}}],
             port: 5433, replication_factor: 1, databases: [{name: q}], tuning: {a: b}, sql_access: ssh, password: pw}
  redis: {enabled: true, engine: valkey, mode: native, version: "9.0", instances: [{name: f, engine: redis, mode: sentinel, host: a,
          port: 6379, password: "\${P}", cluster: c, master_name: f, replica_hosts: [a], sentinels: [{ host: a, port: 26379 }], config: {maxmemory: 1gb}}]}
  kafka: {enabled: true, mode: native, version: "4.2", cluster_id: id, region_id: r, role: aggregator, controller_port: 9093,
          controllers: [{host: a, id: 9, port: 9093, dir_id: d}], brokers: [{host: a, id: 1, port: 9092}],
          topics: [{name: t, partitions: 1, replication_factor: 1, config: {retention.ms: "1"}}], delete_topic_enable: true,
          min_insync_replicas: 1, offsets_topic_replication_factor: 1, transaction_state_log_replication_factor: 1,
          transaction_state_log_min_isr: 1,
          regional: [{region_id: r2, role: regional, cluster_id: id2, controller_port: 9093, controllers: [], brokers: [], topics: [],
                      delete_topic_enable: false, min_insync_replicas: 1, offsets_topic_replication_factor: 1,
                      transaction_state_log_replication_factor: 1, transaction_state_log_min_isr: 1, mirror_topics: [t]}],
          mirrormaker: {enabled: true, mode: native, host: a, hosts: [a], heap_opts: -Xmx1G, replicas: 1, task_count: 2}}
  clickhouse: {enabled: true, mode: native, version: "26.3", nodes: [{host: a, id: 1}], read_endpoint: a, write_endpoint: a,
               port: 9000, databases: [periscope], sql_access: direct}
services:
  foghorn-eu: {enabled: true, mode: native, version: v0.2.50, image: img, binary_url: u, deploy: foghorn, cluster: c, host: a,
               port: 18008, grpc_port: 18019, replicas: 1, env_file: f.env, depends_on: [quartermaster], public: true,
               config: {K: v}, update_strategy: {max_unavailable: 1, canary: 1, region_stagger: true, primary_last: true}}
  chandler: {clusters: [c]}
interfaces: {nginx: {enabled: true, host: a}}
observability: {grafana: {enabled: true, host: a}}
geoip: {enabled: true, source: file, file: ./GeoLite2.mmdb, remote_path: /usr/share/GeoIP/x.mmdb, services: [foghorn-eu]}
tls_bundles: {b: {cluster: c, domains: [a.test], issuer: letsencrypt, email: ops@example.test, metadata: {k: v}}}
ingress_sites: {s: {cluster: c, node: a, domains: [a.test], tls_bundle_id: b, kind: proxy, upstream: "127.0.0.1:1", metadata: {k: v}}}
`);
    expect(m.clusters.c!.s3_prefix).toBe('');
    expect(m.services['foghorn-eu']!.update_strategy).toEqual({
      max_unavailable: 1,
      canary: 1,
      region_stagger: true,
      primary_last: true,
    });
    expect(m.infrastructure.redis!.instances[0]!.password).toBe('${P}');
    expect(m.hosts.a!.wireguard_private_key_managed).toBe(false);
  });

  it('reports a duplicate key with both positions, at any depth', () => {
    expect(decodeIssues('version: v1\nversion: v2\n')).toEqual([
      { path: 'version', message: 'duplicate key at line 2:1 (first at line 1:1)' },
    ]);
    expect(issuePaths(inputError(() => parse('hosts:\n  a: {user: x, user: y}\n')))).toEqual(['hosts.a.user']);
  });

  it('reports every problem at once, each by key path', () => {
    const issues = decodeIssues(
      'foo: 1\nhosts: {a: {wireguard_port: "51820", bar: 2}}\nservices: {x: {enabled: maybe}}\n',
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      'foo',
      'hosts.a.bar',
      'hosts.a.wireguard_port',
      'services.x.enabled',
    ]);
    expect(inputError(() => parse('foo: 1\nbar: 2\n')).message).toMatch(/^clusters\/test\/cluster\.yaml: 2 problems/);
  });

  it.each([
    [
      'quoted text into an int',
      'hosts: {a: {wireguard_port: "51820"}}',
      'hosts.a.wireguard_port',
      /expected an integer/,
    ],
    ['a bool into an int', 'services: {x: {port: true}}', 'services.x.port', /expected an integer/],
    ['a timestamp into an int', 'services: {x: {port: 2026-01-01}}', 'services.x.port', /expected an integer/],
    ['a word into a bool', 'services: {x: {enabled: maybe}}', 'services.x.enabled', /expected true or false/],
    ['a scalar into a list', 'hosts: {a: {roles: services}}', 'hosts.a.roles', /expected a list/],
    ['a list into a map', 'hosts: {a: {labels: [region]}}', 'hosts.a.labels', /expected a mapping/],
    ['a list into the hosts map', 'hosts: [a, b]', 'hosts', /expected a mapping/],
    ['a mapping into a string', 'profile: {a: b}', 'profile', /expected string/],
    ['a list into a struct', 'infrastructure: [postgres]', 'infrastructure', /expected a mapping/],
  ])('refuses %s', (_what, yaml, path, message) => {
    const issue = decodeIssues(`version: v1\n${yaml}\n`).find((i) => i.path === path);
    expect(issue?.message).toMatch(message);
  });

  it('converts scalars as yaml.v3 does for Go string, int and bool fields', () => {
    const m = parse(`version: 1.10
type: cluster
profile: 2026-01-01
hosts:
  a: {wireguard_port: 0x1F90, labels: {n: 007, f: 1.50, b: true, z: ~}}
infrastructure:
  postgres: {enabled: yes, port: 5432.9, version: 18, replication_factor: 1_000}
  kafka: {enabled: "on", cluster_id: 12345}
services:
  x: {enabled: Off, public: Y, port: 0o17, config: {A: 3.10, B: false}}
`);
    expect(m.version).toBe('1.10');
    expect(m.profile).toBe('2026-01-01');
    expect(m.hosts.a!.wireguard_port).toBe(8080);
    expect(m.hosts.a!.labels).toEqual({ n: '007', f: '1.50', b: 'true', z: '' });
    expect(m.infrastructure.postgres).toMatchObject({
      enabled: true,
      port: 5432,
      version: '18',
      replication_factor: 1000,
    });
    expect(m.infrastructure.kafka).toMatchObject({ enabled: true, cluster_id: '12345' });
    expect(m.services.x).toMatchObject({ enabled: false, public: true, port: 15, config: { A: '3.10', B: 'false' } });
  });

  it('treats null as the Go zero value (nil for pointers)', () => {
    const m = parse(
      'version: ~\ntype:\nhosts: {a: ~}\nclusters: {c: {s3_prefix: ~, pricing: ~}}\ninfrastructure: {postgres: ~}\n',
    );
    expect(m.version).toBe('');
    expect(m.hosts.a).toMatchObject({ name: 'a', external_ip: '', roles: [] });
    expect(m.clusters.c!.s3_prefix).toBeUndefined();
    expect(m.clusters.c!.pricing).toBeUndefined();
    expect(m.infrastructure.postgres).toBeUndefined();
  });

  it('reads only the first YAML document, as Decoder.Decode does', () => {
    expect(parse('version: v1\ntype: cluster\n---\nnot: [valid\n').version).toBe('v1');
  });

  it('expands anchors, aliases and merge keys', () => {
    const m = parse(
      'version: v1\nservices:\n  a: &svc {enabled: true, mode: native, host: h}\n  b: {<<: *svc, host: g}\n  c: *svc\n',
    );
    expect(m.services.b).toMatchObject({ enabled: true, mode: 'native', host: 'g' });
    expect(m.services.c).toMatchObject({ host: 'h' });
  });

  it('refuses empty input and a document that is not a mapping', () => {
    expect(inputError(() => parse('')).message).toMatch(/empty document/);
    expect(inputError(() => parse('# only a comment\n')).message).toMatch(/empty document/);
    expect(inputError(() => parse('- a\n')).message).toMatch(/expected a mapping, got a list/);
    expect(inputError(() => parse('a: [\n')).message).toMatch(/YAML error at line/);
  });
});

describe('host inventory (hosts_file) and merge', () => {
  const INVENTORY = `hosts:
  core-1: {external_ip: 198.51.100.10, user: ops, wireguard_private_key: c2VjcmV0}
  db-1: {external_ip: 198.51.100.11}
  media-1: {external_ip: 198.51.100.12, wireguard_private_key_file: /etc/wg/key, wireguard_private_key_managed: false}
  edge-1: {external_ip: 198.51.100.13}
  retired-1: {external_ip: 198.51.100.99}
edge_nodes:
  edge-eu-1: {external_ip: 203.0.113.5, user: root}
`;
  const bare = () => parse(mk({ hosts: { 'core-1': { external_ip: undefined, user: undefined } } }));

  it('parses hosts and edge_nodes strictly', () => {
    const inv = parseHostInventory(INVENTORY, 'hosts.enc.yaml');
    expect(inv.edge_nodes['edge-eu-1']).toEqual({ external_ip: '203.0.113.5', user: 'root' });
    expect(issuePaths(inputError(() => parseHostInventory('hosts: {a: {ssh_port: 22}}\nbastion: x\n', 'h')))).toEqual([
      'hosts.a.ssh_port',
      'bastion',
    ]);
    expect(issuePaths(inputError(() => parseHostInventory('edge_nodes: {e: {ssh: root@x}}\n', 'h')))).toEqual([
      'edge_nodes.e.ssh',
    ]);
  });

  it('copies external_ip always, user and key-file fields only when set, never the private key', () => {
    const merged = mergeHostInventory(bare(), parseHostInventory(INVENTORY, 'h'), 'h');
    expect(merged.hosts['core-1']).toMatchObject({ external_ip: '198.51.100.10', user: 'ops' });
    expect(merged.hosts['db-1']).toMatchObject({ external_ip: '198.51.100.11', user: 'deploy' });
    expect(merged.hosts['media-1']).toMatchObject({
      wireguard_private_key_file: '/etc/wg/key',
      wireguard_private_key_managed: false,
    });
    expect(JSON.stringify(merged)).not.toContain('c2VjcmV0');
    expect(Object.keys(merged.hosts)).not.toContain('retired-1');
    expect(frameworksManifestProblems(merged)).toEqual([]);
  });

  it('overwrites external_ip even with an empty value, which validation then refuses', () => {
    const inv = parseHostInventory(INVENTORY.replace('198.51.100.11', '""'), 'h');
    const merged = mergeHostInventory(parse(mk({})), inv, 'h');
    expect(merged.hosts['db-1']!.external_ip).toBe('');
    expect(issuePaths(inputError(() => validateFrameworksManifest(merged, SRC)))).toEqual(['hosts.db-1.external_ip']);
  });

  it('refuses every manifest host missing from the inventory', () => {
    const inv = parseHostInventory('hosts:\n  core-1: {external_ip: 198.51.100.10}\n', 'hosts.enc.yaml');
    const err = inputError(() => mergeHostInventory(parse(mk({})), inv, 'hosts.enc.yaml'));
    expect(err.source).toBe('hosts.enc.yaml');
    expect(err.issues).toEqual([
      { path: 'hosts.db-1', message: "host 'db-1' not found in host inventory" },
      { path: 'hosts.media-1', message: "host 'media-1' not found in host inventory" },
      { path: 'hosts.edge-1', message: "host 'edge-1' not found in host inventory" },
    ]);
  });
});

describe('validation (Manifest.Validate)', () => {
  it('accepts the base manifest and variations the reference accepts', () => {
    for (const patch of [
      {},
      { type: 'edge', hosts: undefined, clusters: undefined, infrastructure: undefined, services: undefined },
      { clusters: { media: { s3_bucket: 'b', s3_prefix: '' } } },
      { clusters: { core: { owner_tenant: 'tenant-a' }, media: { owner_tenant: 'frameworks', default: true } } },
      { clusters: { media: { pricing: { model: 'metered' } } } },
      { services: { unknownthing: { enabled: true, deploy: 'bridge', host: 'core-1' } } },
      { services: { skipper: { enabled: false } } },
      { services: { 'foghorn-eu': { clusters: ['media'], cluster: undefined } } },
      {
        hosts: { 'core-1': { cluster: 'anything' } },
        clusters: undefined,
        services: { 'foghorn-eu': { cluster: undefined } },
      },
      { infrastructure: { postgres: { enabled: false, nodes: [{ host: 'nowhere', id: -1 }] } } },
      { infrastructure: { clickhouse: { enabled: true, nodes: [{ host: 'db-1', id: 1 }], read_endpoint: 'db-1' } } },
    ]) {
      expect(problems(mk(patch)), JSON.stringify(patch)).toEqual([]);
    }
  });

  it.each<[string, Json, string, RegExp]>([
    ['missing version', { version: undefined }, 'version', /version is required/],
    ['missing type', { type: undefined }, 'type', /type is required/],
    ['invalid type', { type: 'fleet' }, 'type', /must be 'cluster' or 'edge'/],
    [
      'a cluster with no hosts',
      { hosts: undefined, infrastructure: undefined, services: undefined },
      'hosts',
      /requires at least one host/,
    ],
    [
      'a host without external_ip',
      { hosts: { 'db-1': { external_ip: '' } } },
      'hosts.db-1.external_ip',
      /external_ip is required/,
    ],
    [
      'foghorn in two clusters',
      {
        clusters: { media2: { name: 'M2', type: 'edge' } },
        services: { 'foghorn-eu': { cluster: undefined, clusters: ['media', 'media2'] } },
      },
      'services.foghorn-eu.clusters',
      /exactly one cluster/,
    ],
    [
      's3_bucket without s3_prefix',
      { clusters: { media: { s3_bucket: 'b' } } },
      'clusters.media.s3_prefix',
      /no s3_prefix/,
    ],
    [
      'a postgres node host not in hosts',
      { infrastructure: { postgres: { nodes: [{ host: 'db-9', id: 1 }] } } },
      'infrastructure.postgres.nodes[0].host',
      /postgres host 'db-9' not found/,
    ],
    [
      'a vanilla postgres host not in hosts',
      { infrastructure: { postgres: { engine: 'postgres', nodes: undefined, host: 'db-9' } } },
      'infrastructure.postgres.host',
      /not found in hosts/,
    ],
    [
      'a non-positive postgres node id',
      { infrastructure: { postgres: { nodes: [{ host: 'db-1', id: 0 }] } } },
      'infrastructure.postgres.nodes',
      /positive integer, got 0/,
    ],
    [
      'duplicate postgres node ids',
      {
        infrastructure: {
          postgres: {
            nodes: [
              { host: 'db-1', id: 1 },
              { host: 'core-1', id: 1 },
            ],
          },
        },
      },
      'infrastructure.postgres.nodes',
      /duplicate postgres node id: 1/,
    ],
    [
      'two Yugabyte nodes on one host',
      {
        infrastructure: {
          postgres: {
            nodes: [
              { host: 'db-1', id: 1 },
              { host: 'db-1', id: 2 },
            ],
          },
        },
      },
      'infrastructure.postgres.nodes',
      /duplicate postgres node host: db-1/,
    ],
    [
      'a postgres instance without a name',
      { infrastructure: { postgres: { instances: [{ host: 'core-1' }] } } },
      'infrastructure.postgres.instances[0].name',
      /name is required/,
    ],
    [
      'duplicate postgres instances',
      {
        infrastructure: {
          postgres: {
            instances: [
              { name: 's', host: 'core-1' },
              { name: 's', host: 'media-1', port: 5434 },
            ],
          },
        },
      },
      'infrastructure.postgres.instances[1].name',
      /duplicate postgres instance 's'/,
    ],
    [
      'a postgres instance without a host',
      { infrastructure: { postgres: { instances: [{ name: 's' }] } } },
      'infrastructure.postgres.instances[0].host',
      /host is required/,
    ],
    [
      'the removed clickhouse.host',
      { infrastructure: { clickhouse: { enabled: true, host: 'db-1', nodes: [{ host: 'db-1', id: 1 }] } } },
      'infrastructure.clickhouse.host',
      /clickhouse\.host was removed/,
    ],
    [
      'clickhouse without nodes',
      { infrastructure: { clickhouse: { enabled: true } } },
      'infrastructure.clickhouse.nodes',
      /at least one entry/,
    ],
    [
      'more than one clickhouse node',
      {
        infrastructure: {
          clickhouse: {
            enabled: true,
            nodes: [
              { host: 'db-1', id: 1 },
              { host: 'core-1', id: 2 },
            ],
          },
        },
      },
      'infrastructure.clickhouse.nodes',
      /multi-node \(2 nodes\) is unsupported/,
    ],
    [
      'a clickhouse node host not in hosts',
      { infrastructure: { clickhouse: { enabled: true, nodes: [{ host: 'ch-9', id: 1 }] } } },
      'infrastructure.clickhouse.nodes[0].host',
      /not found in hosts/,
    ],
    [
      'a clickhouse endpoint not in hosts',
      { infrastructure: { clickhouse: { enabled: true, nodes: [{ host: 'db-1', id: 1 }], write_endpoint: 'ch-9' } } },
      'infrastructure.clickhouse.write_endpoint',
      /write_endpoint host 'ch-9' not found/,
    ],
    [
      'kafka without brokers',
      { infrastructure: { kafka: { enabled: true, cluster_id: 'k' } } },
      'infrastructure.kafka.brokers',
      /at least 1 broker/,
    ],
    [
      'kafka without cluster_id',
      { infrastructure: { kafka: { enabled: true, brokers: [{ host: 'core-1', id: 1 }] } } },
      'infrastructure.kafka.cluster_id',
      /cluster_id is required/,
    ],
    [
      'a kafka broker host not in hosts',
      { infrastructure: { kafka: { enabled: true, cluster_id: 'k', brokers: [{ host: 'k-9', id: 1 }] } } },
      'infrastructure.kafka.brokers[0].host',
      /kafka\.broker host 'k-9' not found/,
    ],
    [
      'fewer than 3 dedicated kafka controllers',
      {
        infrastructure: {
          kafka: {
            enabled: true,
            cluster_id: 'k',
            brokers: [{ host: 'core-1', id: 1 }],
            controllers: [{ host: 'db-1', id: 9, dir_id: 'd' }],
          },
        },
      },
      'infrastructure.kafka.controllers',
      /at least 3/,
    ],
    [
      'a kafka controller without dir_id',
      {
        infrastructure: {
          kafka: {
            enabled: true,
            cluster_id: 'k',
            brokers: [{ host: 'core-1', id: 1 }],
            controllers: [
              { host: 'db-1', id: 7, dir_id: 'a' },
              { host: 'media-1', id: 8, dir_id: 'b' },
              { host: 'edge-1', id: 9 },
            ],
          },
        },
      },
      'infrastructure.kafka.controllers[2].dir_id',
      /dir_id is required/,
    ],
    [
      'a kafka controller id equal to a broker id',
      {
        infrastructure: {
          kafka: {
            enabled: true,
            cluster_id: 'k',
            brokers: [{ host: 'core-1', id: 1 }],
            controllers: [
              { host: 'db-1', id: 1, dir_id: 'a' },
              { host: 'media-1', id: 8, dir_id: 'b' },
              { host: 'edge-1', id: 9, dir_id: 'c' },
            ],
          },
        },
      },
      'infrastructure.kafka.controllers[0].id',
      /conflicts with broker id/,
    ],
    [
      'a kafka topic replicated beyond the brokers',
      {
        infrastructure: {
          kafka: {
            enabled: true,
            cluster_id: 'k',
            brokers: [{ host: 'core-1', id: 1 }],
            topics: [{ name: 't', replication_factor: 2 }],
          },
        },
      },
      'infrastructure.kafka.topics[0].replication_factor',
      /exceeds broker count \(1\)/,
    ],
    [
      'min_insync_replicas above a topic replication factor',
      {
        infrastructure: {
          kafka: {
            enabled: true,
            cluster_id: 'k',
            min_insync_replicas: 2,
            brokers: [
              { host: 'core-1', id: 1 },
              { host: 'db-1', id: 2 },
            ],
            topics: [{ name: 't', replication_factor: 1 }],
          },
        },
      },
      'infrastructure.kafka.topics[0].replication_factor',
      /min_insync_replicas \(2\) exceeds/,
    ],
    [
      'an invalid kafka role',
      {
        infrastructure: {
          kafka: { enabled: true, cluster_id: 'k', role: 'leader', brokers: [{ host: 'core-1', id: 1 }] },
        },
      },
      'infrastructure.kafka.role',
      /must be 'aggregator' or 'regional'/,
    ],
    [
      'two kafka aggregators',
      {
        infrastructure: {
          kafka: {
            enabled: true,
            cluster_id: 'k',
            brokers: [{ host: 'core-1', id: 1 }],
            regional: [{ region_id: 'us', role: 'aggregator' }],
          },
        },
      },
      'infrastructure.kafka.role',
      /at most one cluster may have role 'aggregator'/,
    ],
    [
      'no kafka aggregator',
      {
        infrastructure: {
          kafka: { enabled: true, cluster_id: 'k', role: 'regional', brokers: [{ host: 'core-1', id: 1 }] },
        },
      },
      'infrastructure.kafka.role',
      /exactly one cluster must have role 'aggregator'/,
    ],
    [
      'a duplicate kafka region',
      {
        infrastructure: {
          kafka: {
            enabled: true,
            cluster_id: 'k',
            region_id: 'eu',
            brokers: [{ host: 'core-1', id: 1 }],
            regional: [{ region_id: 'eu' }],
          },
        },
      },
      'infrastructure.kafka.regional[0].region_id',
      /duplicate region_id/,
    ],
    [
      'a kafka regional cluster without region_id',
      {
        infrastructure: {
          kafka: {
            enabled: true,
            cluster_id: 'k',
            brokers: [{ host: 'core-1', id: 1 }],
            regional: [{ cluster_id: 'r' }],
          },
        },
      },
      'infrastructure.kafka.regional[0].region_id',
      /region_id is required/,
    ],
    ['a cluster without name', { clusters: { core: { name: '' } } }, 'clusters.core.name', /name is required/],
    ['a cluster without type', { clusters: { core: { type: undefined } } }, 'clusters.core.type', /type is required/],
    [
      'an invalid owner_tenant',
      { clusters: { core: { owner_tenant: 'Tenant_A' } } },
      'clusters.core.owner_tenant',
      /owner_tenant must be/,
    ],
    [
      'an owner_tenant over 64 characters',
      { clusters: { core: { owner_tenant: `a${'b'.repeat(64)}` } } },
      'clusters.core.owner_tenant',
      /owner_tenant/,
    ],
    [
      'pricing without model',
      { clusters: { media: { pricing: { allow_free_tier: true } } } },
      'clusters.media.pricing.model',
      /pricing\.model is required/,
    ],
    [
      'an unknown pricing model',
      { clusters: { media: { pricing: { model: 'yearly' } } } },
      'clusters.media.pricing.model',
      /must be one of/,
    ],
    [
      'two default clusters',
      { clusters: { core: { default: true }, media: { default: true } } },
      'clusters',
      /at most one cluster may have default: true \(found 2\)/,
    ],
    [
      'a host in an undefined cluster',
      { hosts: { 'db-1': { cluster: 'nowhere' } } },
      'hosts.db-1.cluster',
      /undefined cluster 'nowhere'/,
    ],
    [
      'a service key that is not a registry id',
      { services: { 'foghorn-us': { enabled: false } } },
      'services.foghorn-us',
      /not in service registry/,
    ],
    [
      'a name in services and interfaces',
      { services: { nginx: { enabled: false } }, interfaces: { nginx: { enabled: false } } },
      'services.nginx',
      /also defined in interfaces/,
    ],
    [
      'a name in services and observability',
      { services: { grafana: { enabled: false } }, observability: { grafana: { enabled: false } } },
      'services.grafana',
      /also defined in observability/,
    ],
    [
      'a name in interfaces and observability',
      { interfaces: { grafana: { enabled: false } }, observability: { grafana: { enabled: false } } },
      'interfaces.grafana',
      /also defined in observability/,
    ],
    [
      'an enabled service without placement',
      { services: { bridge: { enabled: true } } },
      'services.bridge',
      /no host or hosts/,
    ],
    [
      'both cluster and clusters',
      { services: { 'foghorn-eu': { clusters: ['media'] } } },
      'services.foghorn-eu.cluster',
      /sets both 'cluster' and 'clusters'/,
    ],
    [
      'a service in an undefined cluster',
      { services: { 'foghorn-eu': { cluster: 'nowhere' } } },
      'services.foghorn-eu.cluster',
      /undefined cluster/,
    ],
    [
      'a service in an undefined clusters entry',
      { services: { bridge: { enabled: false, clusters: ['nowhere'] } } },
      'services.bridge.clusters[0]',
      /undefined cluster 'nowhere' \(in clusters\)/,
    ],
    [
      'a media service pinned to a non-media cluster',
      { services: { 'foghorn-eu': { cluster: 'core' } } },
      'services.foghorn-eu.cluster',
      /media\/cluster-scoped and cannot be pinned to cluster 'core'/,
    ],
    [
      'a service host not in hosts',
      { services: { quartermaster: { host: 'q-9' } } },
      'services.quartermaster.host',
      /host 'q-9' not found/,
    ],
    [
      'a service hosts entry not in hosts',
      { services: { 'foghorn-eu': { hosts: ['media-1', 'm-9'] } } },
      'services.foghorn-eu.hosts[1]',
      /host 'm-9' not found/,
    ],
    [
      'an interface alias (interfaces need registry ids)',
      { interfaces: { 'nginx-eu': { deploy: 'nginx', host: 'core-1' } } },
      'interfaces.nginx-eu',
      /unknown interface/,
    ],
    [
      'an enabled interface without placement',
      { interfaces: { nginx: { enabled: true } } },
      'interfaces.nginx',
      /no host or hosts/,
    ],
    [
      'an interface host not in hosts',
      { interfaces: { chartroom: { host: 'w-9' } } },
      'interfaces.chartroom.host',
      /not found in hosts/,
    ],
    [
      'an unknown observability id',
      { observability: { loki: { enabled: false } } },
      'observability.loki',
      /unknown observability service/,
    ],
    [
      'enabled observability without placement',
      { observability: { grafana: { enabled: true } } },
      'observability.grafana',
      /no host or hosts/,
    ],
    [
      'an observability host not in hosts',
      { observability: { grafana: { hosts: ['g-9'] } } },
      'observability.grafana.hosts[0]',
      /not found in hosts/,
    ],
  ])('refuses %s', (_what, patch, path, message) => {
    const found = problems(mk(patch));
    expect(found.map((p) => p.path)).toContain(path);
    expect(found.find((p) => p.path === path)?.message).toMatch(message);
  });

  describe('port collisions per host', () => {
    it.each<[string, Json, RegExp]>([
      [
        'two services on one port',
        { services: { bridge: { enabled: true, host: 'core-1', port: 18002 } } },
        /port 18002 on host 'core-1' is used by service:bridge and service:quartermaster/,
      ],
      [
        'a registry gRPC default',
        { services: { navigator: { enabled: true, host: 'core-1', port: 19002 } } },
        /port 19002 on host 'core-1' is used by service:navigator and service:quartermaster-grpc/,
      ],
      [
        'a Yugabyte master web port',
        { observability: { grafana: { enabled: true, host: 'db-1', port: 7000 } } },
        /port 7000 on host 'db-1' is used by yugabyte-node-1-master-web and observability:grafana/,
      ],
      [
        'the Yugabyte YSQL port',
        { interfaces: { nginx: { enabled: true, host: 'db-1', port: 5433 } } },
        /used by postgres-node-1 and interface:nginx/,
      ],
      [
        'a ClickHouse HTTP port',
        {
          infrastructure: { clickhouse: { enabled: true, nodes: [{ host: 'core-1', id: 1 }] } },
          services: { bridge: { enabled: true, host: 'core-1', port: 8123 } },
        },
        /used by clickhouse-http and service:bridge/,
      ],
      [
        'the ClickHouse keeper port of a node',
        {
          infrastructure: { clickhouse: { enabled: true, nodes: [{ host: 'core-1', id: 1 }] } },
          observability: { vmagent: { enabled: true, host: 'core-1', port: 9181 } },
        },
        /used by clickhouse-keeper and observability:vmagent/,
      ],
      [
        'the Kafka combined-mode controller port',
        {
          infrastructure: { kafka: { enabled: true, cluster_id: 'k', brokers: [{ host: 'core-1', id: 1 }] } },
          services: { bridge: { enabled: true, host: 'core-1', port: 9093 } },
        },
        /used by kafka-broker-1-controller and service:bridge/,
      ],
      [
        'a second postgres instance on the default port',
        { infrastructure: { postgres: { instances: [{ name: 'support', host: 'db-1' }], port: 5432 } } },
        /port 5432 on host 'db-1' is used by postgres-node-1 and postgres-support/,
      ],
    ])('refuses %s', (_what, patch, message) => {
      expect(problems(mk(patch)).map((p) => p.message)).toEqual(
        expect.arrayContaining([expect.stringMatching(message)]),
      );
    });

    it('accepts an alias with no registry default next to its base service, and a host listed twice', () => {
      const patch = {
        services: {
          foghorn: { enabled: true, host: 'media-1' },
          bridge: { enabled: true, hosts: ['core-1', 'core-1'] },
        },
      };
      expect(problems(mk(patch))).toEqual([]);
    });

    it('places a service on `host` first when it sets both (the collision check reads host, not hosts)', () => {
      const patch = { services: { bridge: { enabled: true, host: 'media-1', hosts: ['core-1'], port: 18002 } } };
      expect(problems(mk(patch))).toEqual([]);
    });
  });

  it('collects every problem at once and throws them under the manifest path', () => {
    const err = inputError(() =>
      validateFrameworksManifest(
        parse(
          mk({ version: undefined, hosts: { 'db-1': { external_ip: '' } }, clusters: { media: { s3_bucket: 'b' } } }),
        ),
        SRC,
      ),
    );
    expect(err.source).toBe(SRC);
    expect(issuePaths(err)).toEqual(['version', 'hosts.db-1.external_ip', 'clusters.media.s3_prefix']);
  });
});

describe('placement', () => {
  const m = (patch: Json = {}): FrameworksManifest => parse(mk(patch));

  it('deploys an alias under its deploy name', () => {
    const base = m();
    expect(deployName('foghorn-eu', base.services['foghorn-eu']!)).toBe('foghorn');
    expect(deployName('quartermaster', base.services.quartermaster!)).toBe('quartermaster');
  });

  it('prefers hosts over host for deploy, and host over hosts for the probe', () => {
    const base = m({ services: { bridge: { enabled: true, host: 'core-1', hosts: ['media-1', 'db-1'] } } });
    expect(serviceHosts(base, 'bridge', base.services.bridge!)).toEqual(['media-1', 'db-1']);
    expect(probeHost(base.services.bridge!)).toBe('core-1');
    expect(serviceHosts(base, 'quartermaster', base.services.quartermaster!)).toEqual(['core-1']);
  });

  it('runs a disabled service nowhere', () => {
    const base = m({ services: { bridge: { enabled: false, host: 'core-1' } } });
    expect(serviceHosts(base, 'bridge', base.services.bridge!)).toEqual([]);
  });

  it('places privateer without placement on every non-edge host plus the metrics hosts', () => {
    const base = m({
      hosts: { 'vm-1': { external_ip: '192.0.2.20', roles: ['edge'] } },
      observability: { victoriametrics: { enabled: true, host: 'vm-1' }, vmauth: { enabled: false, host: 'edge-1' } },
    });
    expect(serviceHosts(base, 'privateer', base.services.privateer!)).toEqual(['core-1', 'db-1', 'media-1', 'vm-1']);
    const pinned = m({ services: { privateer: { hosts: ['core-1'] } } });
    expect(serviceHosts(pinned, 'privateer', pinned.services.privateer!)).toEqual(['core-1']);
  });

  it('places vmagent without placement on every host (so privateer follows it onto edge hosts)', () => {
    const base = m({ observability: { vmagent: { enabled: true } } });
    expect(serviceHosts(base, 'vmagent', base.observability.vmagent!)).toEqual(['core-1', 'db-1', 'edge-1', 'media-1']);
    expect(serviceHosts(base, 'privateer', base.services.privateer!)).toContain('edge-1');
  });

  it('expands Yugabyte databases per clustered alias and drops the logical one', () => {
    const t = databaseTargets(
      m({
        services: {
          'foghorn-us': { enabled: true, deploy: 'foghorn', cluster: 'media', hosts: ['media-1'] },
          'foghorn-test': { enabled: false, deploy: 'foghorn', cluster: 'media', host: 'media-1' },
          'foghorn-nocell': { enabled: true, deploy: 'foghorn', host: 'media-1' },
        },
      }),
    );
    expect(t).toEqual({
      engine: 'yugabyte',
      port: 5433,
      candidateHosts: ['db-1'],
      databases: [
        { name: 'quartermaster', owner: 'quartermaster', logical: 'quartermaster' },
        { name: 'foghorn_eu', owner: 'foghorn_eu', logical: 'foghorn' },
        { name: 'foghorn_us', owner: 'foghorn_us', logical: 'foghorn' },
      ],
    });
  });

  it('keeps vanilla Postgres databases as declared, with host, default port and the owner defaulting to the name', () => {
    const t = databaseTargets(
      m({
        infrastructure: {
          postgres: {
            engine: undefined,
            nodes: undefined,
            host: 'db-1',
            password: 'pw',
            databases: [{ name: 'foghorn' }, { name: 'q', owner: 'qo' }],
          },
        },
      }),
    );
    expect(t).toEqual({
      engine: 'postgres',
      port: 5432,
      candidateHosts: ['db-1'],
      password: 'pw',
      databases: [
        { name: 'foghorn', owner: 'foghorn', logical: 'foghorn' },
        { name: 'q', owner: 'qo', logical: 'q' },
      ],
    });
  });

  it('lists every Yugabyte node in order as a candidate host', () => {
    const t = databaseTargets(
      m({
        infrastructure: {
          postgres: {
            port: 15433,
            nodes: [
              { host: 'media-1', id: 2 },
              { host: 'db-1', id: 1 },
            ],
          },
        },
      }),
    );
    expect(t?.candidateHosts).toEqual(['media-1', 'db-1']);
    expect(t?.port).toBe(15433);
  });

  it('has no database targets when postgres is disabled or absent', () => {
    expect(databaseTargets(m({ infrastructure: { postgres: { enabled: false } } }))).toBeNull();
    expect(databaseTargets(m({ infrastructure: undefined }))).toBeNull();
  });

  it('picks the ClickHouse coordinator (lowest positive id) and single infrastructure hosts', () => {
    const base = m({
      infrastructure: {
        clickhouse: {
          enabled: true,
          nodes: [
            { host: 'media-1', id: 3 },
            { host: 'db-1', id: 2 },
            { host: 'core-1', id: 0 },
          ],
          databases: ['periscope'],
        },
        kafka: { enabled: true, brokers: [{ host: 'core-1', id: 1 }], controllers: [{ host: 'db-1', id: 9 }] },
        redis: { enabled: true, instances: [{ name: 'f', host: 'media-1' }] },
      },
    });
    expect(clickhouseTarget(base)).toEqual({ host: 'db-1', port: 9000, databases: ['periscope'] });
    expect(clickhouseTarget(m())).toBeNull();
    expect(
      ['postgres', 'yugabyte', 'kafka', 'kafka-controller', 'clickhouse', 'redis', 'bridge'].map((id) =>
        infrastructureHost(base, id),
      ),
    ).toEqual([undefined, 'db-1', 'core-1', 'db-1', 'db-1', 'media-1', undefined]);
  });

  it('resolves the database password as migrate does: Yugabyte needs one, vanilla Postgres uses none', () => {
    expect(resolveDatabasePassword(m(), { DATABASE_PASSWORD: 'from-env' })).toEqual({ ok: true, value: 'from-env' });
    expect(
      resolveDatabasePassword(m({ infrastructure: { postgres: { password: 'pinned' } } }), { DATABASE_PASSWORD: 'x' }),
    ).toEqual({
      ok: true,
      value: 'pinned',
    });
    const missing = resolveDatabasePassword(m(), { DATABASE_PASSWORD: '' });
    expect(missing.ok ? '' : missing.error).toMatch(/^DATABASE_PASSWORD missing/);
    expect(resolveDatabasePassword(m({ infrastructure: { postgres: { engine: 'postgres' } } }), {})).toEqual({
      ok: true,
      value: '',
    });
  });

  it('knows the dev profile, the channel default and a host cluster', () => {
    expect([isDevProfile('dev'), isDevProfile(' Development '), isDevProfile('staging'), isDevProfile('')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(resolvedChannel({ channel: '' })).toBe('stable');
    expect(resolvedChannel({ channel: 'v0.2.50' })).toBe('v0.2.50');
    const one = m({
      hosts: { 'core-1': { cluster: '' } },
      clusters: { media: undefined },
      services: { 'foghorn-eu': undefined },
    });
    expect(hostCluster(one, 'core-1')).toBe('core');
    expect(hostCluster(m({ hosts: { 'core-1': { cluster: '' } } }), 'core-1')).toBe('');
  });

  it('resolves redis password placeholders against the shared env only as whole values', () => {
    const base = m({
      infrastructure: {
        redis: {
          enabled: true,
          instances: [
            { name: 'a', host: 'core-1', password: '${REDIS_A}' },
            { name: 'b', host: 'core-1', password: 'literal-${X}' },
            { name: 'c', host: 'core-1', password: '${MISSING}' },
          ],
        },
      },
    });
    const r = resolveRedisPasswords(base, { REDIS_A: ' s3cret ', MISSING: '' });
    expect(r.passwords).toEqual(['s3cret', 'literal-${X}', '']);
    expect(r.problems).toEqual([
      { path: 'infrastructure.redis.instances[2].password', message: 'shared env placeholder MISSING is not set' },
    ]);
    expect(resolveSharedEnvPlaceholder('${ }', {})).toEqual({
      ok: false,
      error: 'empty shared env placeholder "${ }"',
    });
  });
});

describe('env files (the CLI line rules, not general dotenv)', () => {
  it.each<[string, string, Record<string, string>]>([
    ['plain pairs', 'A=1\nB=two\n', { A: '1', B: 'two' }],
    ['trims lines, keys and values', '  A  =  spaced value  \r\n', { A: 'spaced value' }],
    ['skips comments (incl. decrypted #ENC lines) and blank lines', '# c\n#ENC[AES256_GCM,data:x]\n\nA=1', { A: '1' }],
    ['skips lines without =', 'just words\nA=1', { A: '1' }],
    ['splits on the first = only', 'URL=postgres://u:p@h/db?a=b', { URL: 'postgres://u:p@h/db?a=b' }],
    ['keeps quotes', 'A="x"\nB=\'y\'', { A: '"x"', B: "'y'" }],
    ['does not understand export', 'export A=1', { 'export A': '1' }],
    ['does not process escapes', 'A=a\\nb', { A: 'a\\nb' }],
    ['gives empty values', 'A=\nB= ', { A: '', B: '' }],
    ['lets a later line win', 'A=1\nA=2', { A: '2' }],
    ['keeps an inline # as part of the value', 'A=x # not a comment', { A: 'x # not a comment' }],
    ['treats __proto__ as data', '__proto__=x', { ['__proto__']: 'x' }],
  ])('%s', (_what, text, expected) => {
    const env = parseDotenv(text);
    expect(Object.entries(env)).toEqual(Object.entries(expected));
  });
});
