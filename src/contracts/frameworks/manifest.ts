// The operator's FrameWorks cluster manifest (`clusters/<env>/cluster.yaml`) and its host inventory
// (`hosts_file`), read exactly as the FrameWorks CLI reads them (reference: frameworks-real-world.md §1; Go types
// `cli/pkg/inventory/types.go`). Same keys, same strictness: an unknown key anywhere is an error, duplicate keys are
// errors, only the first YAML document is read, scalars convert as yaml.v3 converts them. Absent fields take the Go
// zero value ("" / 0 / false / [] / {}), except the Go pointer fields, which stay undefined when absent.
//
// Validation (Manifest.Validate) is separate, in ./validate.ts, because the reference validates only after the
// host inventory is merged: a manifest without its hosts file parses but does not validate.
import { z } from 'zod';
import { InputError } from '../../errors';
import type { InputIssue } from '../../errors';
import { formatPath } from '../parse';
import {
  decodeGoYaml,
  goBool,
  goBoolPtr,
  goInt,
  goIntPtr,
  goList,
  goMap,
  goString,
  goStringPtr,
  goStruct,
  goStructPtr,
} from './go-yaml';

const stringList = goList(goString);
const stringMap = goMap(goString);

// ---- hosts ----

/**
 * `hosts.<name>`. `name` and `wireguard_private_key` are not YAML keys here (Go `yaml:"-"`), so writing them in
 * cluster.yaml is an unknown-key error; `name` is filled from the map key after decoding.
 */
const hostShape = {
  external_ip: goString,
  user: goString,
  cluster: goString,
  roles: stringList,
  labels: stringMap,
  wireguard_ip: goString,
  wireguard_public_key: goString,
  wireguard_port: goInt,
  wireguard_private_key_file: goString,
  wireguard_private_key_managed: goBoolPtr,
};
const HostInputSchema = goStruct(hostShape);
export type FrameworksHost = z.infer<typeof HostInputSchema> & { name: string };

// ---- clusters ----

const ClusterPricingSchema = goStructPtr({
  model: goString,
  required_tier_level: goIntPtr,
  allow_free_tier: goBoolPtr,
  default_quotas: goMap(goInt),
});

export const FrameworksClusterSchema = goStruct({
  name: goString,
  type: goString,
  region: goString,
  roles: stringList,
  default: goBool,
  platform_official: goBool,
  public_topology: goBool,
  owner_tenant: goString,
  pricing: ClusterPricingSchema,
  env_files: stringList,
  cell: goString,
  class: goString,
  control_cell: goString,
  eligible_serving_cells: stringList,
  s3_bucket: goString,
  s3_endpoint: goString,
  s3_region: goString,
  /** A pointer in Go: absent (or null) differs from `""`, and a bucket without a prefix is refused. */
  s3_prefix: goStringPtr,
  allow_private_pull_sources: goBool,
});
export type FrameworksCluster = z.infer<typeof FrameworksClusterSchema>;

// ---- wireguard ----

const WireGuardSchema = goStructPtr({
  enabled: goBool,
  interface: goString,
  manage_hosts_file: goBool,
  peers: goList(
    goStruct({
      name: goString,
      public_key: goString,
      endpoint: goString,
      allowed_ips: stringList,
    }),
  ),
  mesh_cidr: goString,
  listen_port: goInt,
});

// ---- infrastructure ----

const DatabaseSchema = goStruct({ name: goString, owner: goString });

export const PostgresSchema = goStructPtr({
  enabled: goBool,
  /** `postgres` (also when empty) or `yugabyte`; compared exactly, as IsYugabyte does. */
  engine: goString,
  mode: goString,
  version: goString,
  host: goString,
  nodes: goList(goStruct({ host: goString, id: goInt, rpc_port: goInt })),
  instances: goList(
    goStruct({
      name: goString,
      host: goString,
      port: goInt,
      version: goString,
      mode: goString,
      password: goString,
      databases: goList(DatabaseSchema),
      tuning: stringMap,
      config: stringMap,
    }),
  ),
  port: goInt,
  replication_factor: goInt,
  databases: goList(DatabaseSchema),
  tuning: stringMap,
  sql_access: goString,
  password: goString,
});
export type FrameworksPostgres = NonNullable<z.infer<typeof PostgresSchema>>;

const RedisSchema = goStructPtr({
  enabled: goBool,
  engine: goString,
  mode: goString,
  version: goString,
  instances: goList(
    goStruct({
      name: goString,
      engine: goString,
      mode: goString,
      host: goString,
      port: goInt,
      /** May be a whole-string `${KEY}` placeholder resolved against the shared env (see resolveSharedEnvPlaceholder). */
      password: goString,
      cluster: goString,
      master_name: goString,
      replica_hosts: stringList,
      sentinels: goList(goStruct({ host: goString, port: goInt })),
      config: stringMap,
    }),
  ),
});

const KafkaControllerSchema = goStruct({ host: goString, id: goInt, port: goInt, dir_id: goString });
const KafkaBrokerSchema = goStruct({ host: goString, id: goInt, port: goInt });
const KafkaTopicSchema = goStruct({
  name: goString,
  partitions: goInt,
  replication_factor: goInt,
  config: stringMap,
});
const kafkaClusterShape = {
  cluster_id: goString,
  role: goString,
  controller_port: goInt,
  controllers: goList(KafkaControllerSchema),
  brokers: goList(KafkaBrokerSchema),
  topics: goList(KafkaTopicSchema),
  delete_topic_enable: goBoolPtr,
  min_insync_replicas: goInt,
  offsets_topic_replication_factor: goInt,
  transaction_state_log_replication_factor: goInt,
  transaction_state_log_min_isr: goInt,
};

const KafkaSchema = goStructPtr({
  enabled: goBool,
  mode: goString,
  version: goString,
  region_id: goString,
  ...kafkaClusterShape,
  regional: goList(goStruct({ region_id: goString, ...kafkaClusterShape, mirror_topics: stringList })),
  mirrormaker: goStructPtr({
    enabled: goBool,
    mode: goString,
    host: goString,
    hosts: stringList,
    heap_opts: goString,
    replicas: goInt,
    task_count: goInt,
  }),
});
export type FrameworksKafka = NonNullable<z.infer<typeof KafkaSchema>>;

const ClickHouseSchema = goStructPtr({
  enabled: goBool,
  mode: goString,
  version: goString,
  nodes: goList(goStruct({ host: goString, id: goInt })),
  read_endpoint: goString,
  write_endpoint: goString,
  /** Removed upstream and kept only as a tombstone: any value fails validation with the migration hint. */
  host: goString,
  port: goInt,
  databases: stringList,
  sql_access: goString,
});
export type FrameworksClickHouse = NonNullable<z.infer<typeof ClickHouseSchema>>;

const InfrastructureSchema = goStruct({
  postgres: PostgresSchema,
  redis: RedisSchema,
  kafka: KafkaSchema,
  clickhouse: ClickHouseSchema,
});

// ---- services / interfaces / observability ----

export const FrameworksServiceSchema = goStruct({
  enabled: goBool,
  /** `native` or `docker`; empty means docker when provisioning. Not checked by validation (as upstream). */
  mode: goString,
  version: goString,
  image: goString,
  binary_url: goString,
  /** The registry id this entry deploys when its key is an alias (`foghorn-eu` → `foghorn`). */
  deploy: goString,
  cluster: goString,
  clusters: stringList,
  host: goString,
  hosts: stringList,
  port: goInt,
  grpc_port: goInt,
  replicas: goInt,
  env_file: goString,
  depends_on: stringList,
  public: goBool,
  config: stringMap,
  update_strategy: goStructPtr({
    max_unavailable: goIntPtr,
    canary: goIntPtr,
    region_stagger: goBoolPtr,
    primary_last: goBoolPtr,
  }),
});
export type FrameworksService = z.infer<typeof FrameworksServiceSchema>;

// ---- the manifest ----

const ManifestInputSchema = goStruct({
  version: goString,
  type: goString,
  profile: goString,
  channel: goString,
  root_domain: goString,
  env_files: stringList,
  hosts_file: goString,
  bootstrap_overlay: goString,
  hosts: goMap(HostInputSchema),
  clusters: goMap(FrameworksClusterSchema),
  wireguard: WireGuardSchema,
  infrastructure: InfrastructureSchema,
  services: goMap(FrameworksServiceSchema),
  interfaces: goMap(FrameworksServiceSchema),
  observability: goMap(FrameworksServiceSchema),
  geoip: goStructPtr({
    enabled: goBool,
    source: goString,
    file: goString,
    remote_path: goString,
    services: stringList,
  }),
  tls_bundles: goMap(
    goStruct({
      cluster: goString,
      domains: stringList,
      issuer: goString,
      email: goString,
      metadata: stringMap,
    }),
  ),
  ingress_sites: goMap(
    goStruct({
      cluster: goString,
      node: goString,
      domains: stringList,
      tls_bundle_id: goString,
      kind: goString,
      upstream: goString,
      metadata: stringMap,
    }),
  ),
});

/** A decoded cluster manifest: JSON-plain, Go zero values filled in, each host carrying its map key as `name`. */
export type FrameworksManifest = Omit<z.infer<typeof ManifestInputSchema>, 'hosts'> & {
  hosts: Record<string, FrameworksHost>;
};

function withHostNames(m: z.infer<typeof ManifestInputSchema>): FrameworksManifest {
  const hosts: Record<string, FrameworksHost> = {};
  for (const [name, host] of Object.entries(m.hosts)) hosts[name] = { ...host, name };
  return { ...m, hosts };
}

/**
 * Decodes cluster.yaml text (ParseManifest: strict decode, no validation, no hosts file). Throws one InputError
 * naming `source` and every problem (unknown key, wrong type, duplicate key) by key path.
 */
export function parseFrameworksManifest(text: string, source: string): FrameworksManifest {
  return withHostNames(decodeGoYaml(text, ManifestInputSchema, source));
}

// ---- host inventory (hosts_file) ----

const HostConnectionSchema = goStruct({
  external_ip: goString,
  user: goString,
  wireguard_private_key: goString,
  wireguard_private_key_file: goString,
  wireguard_private_key_managed: goBoolPtr,
});
const HostInventorySchema = goStruct({
  hosts: goMap(HostConnectionSchema),
  edge_nodes: goMap(goStruct({ external_ip: goString, user: goString })),
});
/** The decrypted hosts file. It holds secrets (`wireguard_private_key`): keep it on the worker, never log it. */
export type FrameworksHostInventory = z.infer<typeof HostInventorySchema>;

/** Decodes a (decrypted) hosts file: `hosts` and `edge_nodes`, strict like the manifest. */
export function parseHostInventory(text: string, source: string): FrameworksHostInventory {
  return decodeGoYaml(text, HostInventorySchema, source);
}

/**
 * MergeHostInventory: every manifest host needs an inventory entry (inventory-only entries are ignored);
 * `external_ip` is always copied, even when empty; `user`, `wireguard_private_key_file` and
 * `wireguard_private_key_managed` only when set. Every missing host is reported at once.
 *
 * Deliberately NOT copied: `wireguard_private_key`. The reference keeps it on the host struct for provisioning a
 * mesh; the orchestrator never needs it, and a manifest value may end up in workflow history or a log.
 */
export function mergeHostInventory(
  manifest: FrameworksManifest,
  inventory: FrameworksHostInventory,
  source: string,
): FrameworksManifest {
  const issues: InputIssue[] = [];
  const hosts: Record<string, FrameworksHost> = {};
  for (const [name, host] of Object.entries(manifest.hosts)) {
    const conn = Object.hasOwn(inventory.hosts, name) ? inventory.hosts[name] : undefined;
    if (conn === undefined) {
      issues.push({ path: formatPath(['hosts', name]), message: `host '${name}' not found in host inventory` });
      continue;
    }
    hosts[name] = {
      ...host,
      name,
      external_ip: conn.external_ip,
      user: conn.user !== '' ? conn.user : host.user,
      wireguard_private_key_file:
        conn.wireguard_private_key_file !== '' ? conn.wireguard_private_key_file : host.wireguard_private_key_file,
      wireguard_private_key_managed: conn.wireguard_private_key_managed ?? host.wireguard_private_key_managed,
    };
  }
  if (issues.length > 0) throw new InputError(source, issues);
  return { ...manifest, hosts };
}
