// Manifest.Validate of the FrameWorks CLI (reference §1.9, `cli/pkg/inventory/parser.go` and `ports.go`): the same
// rules in the same order, run after the host inventory is merged. The reference stops at the first problem (and
// walks Go maps in random order); here every problem is collected, in file order, so an operator fixes the file in
// one pass. A manifest is accepted exactly when the reference accepts it.
import { InputError } from '../../errors';
import type { InputIssue } from '../../errors';
import { isMediaScopedService, isRegistryId, registryDefaultGrpcPort, registryDefaultPort } from './registry';
import { formatPath } from '../parse';
import type { FrameworksManifest, FrameworksService } from './manifest';
import { checkClickHouse, checkKafka, checkPostgres } from './validate-datastores';

const OWNER_TENANT_ALIAS = /^[a-z][a-z0-9-]{0,63}$/;
const PRICING_MODELS = ['free_unmetered', 'metered', 'monthly', 'tier_inherit', 'custom'];
/** Services placed on hosts automatically when they name none (keyed by deploy name, as upstream). */
const AUTO_SCOPED = new Set(['privateer']);

const has = (o: object, k: string) => Object.hasOwn(o, k);
const p = (...keys: PropertyKey[]) => formatPath(keys);

/** Problems with `manifest`, in the reference's order of checking; empty when the reference would accept it. */
export function frameworksManifestProblems(m: FrameworksManifest): InputIssue[] {
  const out: InputIssue[] = [];
  const add = (path: string, message: string) => out.push({ path, message });

  if (m.version === '') add('version', 'version is required');
  if (m.type === '') add('type', 'type is required (cluster or edge)');
  else if (m.type !== 'cluster' && m.type !== 'edge') add('type', `type must be 'cluster' or 'edge', got: ${m.type}`);
  if (m.type === 'cluster' && Object.keys(m.hosts).length === 0) {
    add('hosts', 'cluster type requires at least one host');
  }
  for (const [name, host] of Object.entries(m.hosts)) {
    if (host.external_ip === '') {
      add(p('hosts', name, 'external_ip'), `host '${name}': external_ip is required (normally from the hosts_file)`);
    }
  }

  for (const [name, svc] of Object.entries(m.services)) {
    if (!svc.enabled) continue;
    const deploy = svc.deploy !== '' ? svc.deploy : name;
    if ((deploy === 'foghorn' || deploy === 'chandler') && svc.clusters.length > 1) {
      add(
        p('services', name, 'clusters'),
        `service '${name}' (deploy '${deploy}') declares ${svc.clusters.length} clusters; a credential-bearing media ` +
          'service must declare exactly one cluster (one alias per cell)',
      );
    }
  }

  for (const [id, cc] of Object.entries(m.clusters)) {
    if (cc.s3_bucket.trim() !== '' && cc.s3_prefix === undefined) {
      add(
        p('clusters', id, 's3_prefix'),
        `cluster '${id}' declares s3_bucket but no s3_prefix; declare it explicitly (s3_prefix: "" for an empty prefix)`,
      );
    }
  }

  checkPostgres(m, add);
  checkClickHouse(m, add);
  checkKafka(m, add);
  checkClusters(m, add);
  checkServiceMaps(m, add);
  checkPortCollisions(m, add);
  return out;
}

/** Manifest.Validate: throws one InputError listing every problem, named by `source` and key path. */
export function validateFrameworksManifest(manifest: FrameworksManifest, source: string): FrameworksManifest {
  const issues = frameworksManifestProblems(manifest);
  if (issues.length > 0) throw new InputError(source, issues);
  return manifest;
}

type Add = (path: string, message: string) => void;

function checkClusters(m: FrameworksManifest, add: Add): void {
  let defaults = 0;
  for (const [id, c] of Object.entries(m.clusters)) {
    const path = (k: string) => p('clusters', id, k);
    if (id === '') add('clusters', 'cluster ID must be non-empty');
    if (c.name === '') add(path('name'), `cluster '${id}': name is required`);
    if (c.type === '') add(path('type'), `cluster '${id}': type is required`);
    if (c.default) defaults++;
    if (c.owner_tenant !== '' && c.owner_tenant !== 'frameworks' && !OWNER_TENANT_ALIAS.test(c.owner_tenant)) {
      add(
        path('owner_tenant'),
        `cluster '${id}': owner_tenant must be 'frameworks' or a bootstrap tenant alias matching ^[a-z][a-z0-9-]*$, got "${c.owner_tenant}"`,
      );
    }
    if (c.pricing !== undefined) {
      if (c.pricing.model === '') {
        add(`${path('pricing')}.model`, `cluster '${id}': pricing.model is required when pricing block is present`);
      } else if (!PRICING_MODELS.includes(c.pricing.model)) {
        add(
          `${path('pricing')}.model`,
          `cluster '${id}': pricing.model must be one of ${PRICING_MODELS.join(', ')}; got "${c.pricing.model}"`,
        );
      }
    }
  }
  if (defaults > 1) add('clusters', `at most one cluster may have default: true (found ${defaults})`);
  const haveClusters = Object.keys(m.clusters).length > 0;
  for (const [name, host] of Object.entries(m.hosts)) {
    if (host.cluster !== '' && haveClusters && !has(m.clusters, host.cluster)) {
      add(p('hosts', name, 'cluster'), `host '${name}' references undefined cluster '${host.cluster}'`);
    }
  }
}

function checkHostRefs(
  m: FrameworksManifest,
  label: string,
  section: string,
  name: string,
  svc: FrameworksService,
  add: Add,
) {
  if (svc.host !== '' && !has(m.hosts, svc.host)) {
    add(p(section, name, 'host'), `${label} '${name}' host '${svc.host}' not found in hosts`);
  }
  svc.hosts.forEach((h, i) => {
    if (!has(m.hosts, h)) add(p(section, name, 'hosts', i), `${label} '${name}' host '${h}' not found in hosts`);
  });
}

function checkServiceMaps(m: FrameworksManifest, add: Add): void {
  const haveClusters = Object.keys(m.clusters).length > 0;
  for (const [name, svc] of Object.entries(m.services)) {
    const path = (...k: PropertyKey[]) => p('services', name, ...k);
    const deploy = svc.deploy !== '' ? svc.deploy : isRegistryId(name) ? name : undefined;
    if (deploy === undefined) {
      add(p('services', name), `unknown service '${name}' (not in service registry); set deploy: <id> for an alias`);
    }
    if (has(m.interfaces, name))
      add(p('services', name), `service '${name}' also defined in interfaces (duplicate name)`);
    if (has(m.observability, name)) {
      add(p('services', name), `service '${name}' also defined in observability (duplicate name)`);
    }
    if (
      svc.enabled &&
      svc.host === '' &&
      svc.hosts.length === 0 &&
      !(deploy !== undefined && AUTO_SCOPED.has(deploy))
    ) {
      add(p('services', name), `service '${name}' is enabled but has no host or hosts defined`);
    }
    if (svc.cluster !== '' && svc.clusters.length > 0) {
      add(path('cluster'), `service '${name}' sets both 'cluster' and 'clusters'; use one`);
    }
    if (svc.cluster !== '' && haveClusters && !has(m.clusters, svc.cluster)) {
      add(path('cluster'), `service '${name}' references undefined cluster '${svc.cluster}'`);
    }
    if (haveClusters) {
      svc.clusters.forEach((c, i) => {
        if (!has(m.clusters, c))
          add(path('clusters', i), `service '${name}' references undefined cluster '${c}' (in clusters)`);
      });
    }
    if (isMediaScopedService(name, svc.deploy) && haveClusters) {
      const pins = [...svc.clusters, ...(svc.cluster !== '' ? [svc.cluster] : [])];
      for (const c of pins) {
        const cfg = has(m.clusters, c) ? m.clusters[c] : undefined;
        if (cfg !== undefined && cfg.type !== 'edge' && !cfg.roles.includes('media')) {
          add(
            path(svc.cluster === c ? 'cluster' : 'clusters'),
            `service '${name}' is media/cluster-scoped and cannot be pinned to cluster '${c}' (cluster must be type=edge or have role=media)`,
          );
        }
      }
    }
    checkHostRefs(m, 'service', 'services', name, svc, add);
  }

  for (const [name, iface] of Object.entries(m.interfaces)) {
    if (!isRegistryId(name)) add(p('interfaces', name), `unknown interface '${name}' (not in service registry)`);
    if (has(m.observability, name)) {
      add(p('interfaces', name), `interface '${name}' also defined in observability (duplicate name)`);
    }
    if (iface.enabled && iface.host === '' && iface.hosts.length === 0) {
      add(p('interfaces', name), `interface '${name}' is enabled but has no host or hosts defined`);
    }
    checkHostRefs(m, 'interface', 'interfaces', name, iface, add);
  }

  for (const [name, obs] of Object.entries(m.observability)) {
    if (!isRegistryId(name)) {
      add(p('observability', name), `unknown observability service '${name}' (not in service registry)`);
    }
    if (obs.enabled && obs.host === '' && obs.hosts.length === 0) {
      add(p('observability', name), `observability '${name}' is enabled but has no host or hosts defined`);
    }
    checkHostRefs(m, 'observability', 'observability', name, obs, add);
  }
}

/**
 * Per-host port collisions (`ports.go`). Each listener is claimed by an owner; a second, different owner of the
 * same host:port is a problem. Services use `port`/`grpc_port`, else the registry default of their KEY (an alias
 * such as `foghorn-eu` has none, so it claims no default port — as upstream), on `host` if set, else `hosts`.
 */
function checkPortCollisions(m: FrameworksManifest, add: Add): void {
  const claims = new Map<string, Map<number, string>>();
  const claim = (path: string, host: string, port: number, owner: string) => {
    if (host === '' || port === 0) return;
    let ports = claims.get(host);
    if (!ports) claims.set(host, (ports = new Map<number, string>()));
    const existing = ports.get(port);
    if (existing !== undefined && existing !== owner) {
      add(path, `port ${port} on host '${host}' is used by ${existing} and ${owner}`);
      return;
    }
    ports.set(port, owner);
  };

  const pg = m.infrastructure.postgres;
  if (pg?.enabled) {
    const base = ['infrastructure', 'postgres'];
    const port = effectivePostgresPort(pg.engine, pg.port);
    claim(p(...base, 'host'), pg.host, port, 'postgres');
    pg.nodes.forEach((n, i) => claim(p(...base, 'nodes', i), n.host, port, `postgres-node-${n.id}`));
    pg.instances.forEach((inst, i) =>
      claim(p(...base, 'instances', i), inst.host, inst.port !== 0 ? inst.port : 5432, `postgres-${inst.name}`),
    );
    if (pg.engine === 'yugabyte') {
      pg.nodes.forEach((n, i) => {
        const path = p(...base, 'nodes', i);
        const owner = `yugabyte-node-${n.id}`;
        claim(path, n.host, n.rpc_port !== 0 ? n.rpc_port : 7100, `${owner}-master-rpc`);
        claim(path, n.host, 7000, `${owner}-master-web`);
        claim(path, n.host, 9100, `${owner}-tserver-rpc`);
        claim(path, n.host, 11000, `${owner}-tserver-web`);
        claim(path, n.host, 9042, `${owner}-ycql`);
      });
    }
  }

  const ch = m.infrastructure.clickhouse;
  if (ch?.enabled) {
    const clustered = ch.nodes.length > 0;
    const ports: Array<[string, number]> = [
      ['clickhouse-native', ch.port !== 0 ? ch.port : 9000],
      ['clickhouse-http', 8123],
      ['clickhouse-interserver', 9009],
      ...(clustered
        ? ([
            ['clickhouse-keeper', 9181],
            ['clickhouse-keeper-raft', 9234],
          ] as Array<[string, number]>)
        : []),
    ];
    ch.nodes.forEach((n, i) => {
      for (const [owner, port] of ports) claim(p('infrastructure', 'clickhouse', 'nodes', i), n.host, port, owner);
    });
  }

  const k = m.infrastructure.kafka;
  if (k?.enabled) {
    const base = ['infrastructure', 'kafka'];
    k.brokers.forEach((b, i) =>
      claim(p(...base, 'brokers', i), b.host, b.port !== 0 ? b.port : 9092, `kafka-broker-${b.id}`),
    );
    k.controllers.forEach((c, i) =>
      claim(p(...base, 'controllers', i), c.host, c.port !== 0 ? c.port : 9093, `kafka-controller-${c.id}`),
    );
    if (k.controllers.length === 0) {
      const ctrlPort = k.controller_port !== 0 ? k.controller_port : 9093;
      k.brokers.forEach((b, i) => claim(p(...base, 'brokers', i), b.host, ctrlPort, `kafka-broker-${b.id}-controller`));
    }
  }

  const sections = [
    ['services', 'service', m.services],
    ['interfaces', 'interface', m.interfaces],
    ['observability', 'observability', m.observability],
  ] as const;
  for (const [section, label, map] of sections) {
    // Upstream visits each map in sorted key order, which decides which owner a collision names first.
    for (const id of Object.keys(map).sort()) {
      const cfg = map[id]!;
      if (!cfg.enabled) continue;
      const hosts = cfg.host !== '' ? [cfg.host] : cfg.hosts;
      const port = cfg.port !== 0 ? cfg.port : (registryDefaultPort(id) ?? 0);
      const grpc = cfg.grpc_port !== 0 ? cfg.grpc_port : (registryDefaultGrpcPort(id) ?? 0);
      for (const host of hosts) {
        claim(p(section, id), host, port, `${label}:${id}`);
        if (grpc !== 0 && grpc !== port) claim(p(section, id), host, grpc, `${label}:${id}-grpc`);
      }
    }
  }
}

/** EffectivePort: the configured port, else 5433 for Yugabyte and 5432 otherwise. */
export function effectivePostgresPort(engine: string, port: number): number {
  if (port !== 0) return port;
  return engine === 'yugabyte' ? 5433 : 5432;
}
