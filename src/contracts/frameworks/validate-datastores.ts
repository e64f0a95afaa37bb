// The datastore rules of Manifest.Validate (reference §1.9, `cli/pkg/inventory/parser.go`): PostgreSQL,
// ClickHouse and Kafka node ids, hosts and settings. Split from validate.ts, which runs them in the reference's order.
import type { FrameworksManifest } from './manifest';
import { formatPath } from '../parse';

const has = (o: object, k: string) => Object.hasOwn(o, k);
const p = (...keys: PropertyKey[]) => formatPath(keys);

export type Add = (path: string, message: string) => void;

function checkNodeIds(kind: string, ids: number[], path: string, add: Add): void {
  const seen = new Set<number>();
  for (const id of ids) {
    if (id <= 0) add(path, `${kind} node id must be a positive integer, got ${id}`);
    else if (seen.has(id)) add(path, `duplicate ${kind} node id: ${id}`);
    seen.add(id);
  }
}

function checkUniqueNodeHosts(kind: string, hosts: string[], path: string, add: Add): void {
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h)) add(path, `duplicate ${kind} node host: ${h}`);
    seen.add(h);
  }
}

export function checkPostgres(m: FrameworksManifest, add: Add): void {
  const pg = m.infrastructure.postgres;
  if (!pg?.enabled) return;
  const base = ['infrastructure', 'postgres'];
  // AllHosts: nodes' hosts, else `host`; then every instance host that is set.
  const hostRefs: Array<[string, string]> =
    pg.nodes.length > 0
      ? pg.nodes.map((n, i) => [p(...base, 'nodes', i, 'host'), n.host])
      : pg.host !== ''
        ? [[p(...base, 'host'), pg.host]]
        : [];
  pg.instances.forEach((inst, i) => {
    if (inst.host !== '') hostRefs.push([p(...base, 'instances', i, 'host'), inst.host]);
  });
  for (const [path, host] of hostRefs) {
    if (!has(m.hosts, host)) add(path, `postgres host '${host}' not found in hosts`);
  }
  if (pg.nodes.length > 0) {
    checkNodeIds(
      'postgres',
      pg.nodes.map((n) => n.id),
      p(...base, 'nodes'),
      add,
    );
    checkUniqueNodeHosts(
      'postgres',
      pg.nodes.map((n) => n.host),
      p(...base, 'nodes'),
      add,
    );
  }
  const seen = new Set<string>();
  pg.instances.forEach((inst, i) => {
    const path = p(...base, 'instances', i);
    if (inst.name.trim() === '') {
      add(p(...base, 'instances', i, 'name'), 'postgres instance name is required');
      return;
    }
    if (seen.has(inst.name)) add(p(...base, 'instances', i, 'name'), `duplicate postgres instance '${inst.name}'`);
    seen.add(inst.name);
    if (inst.host.trim() === '') add(`${path}.host`, `postgres instance '${inst.name}': host is required`);
  });
}

export function checkClickHouse(m: FrameworksManifest, add: Add): void {
  const ch = m.infrastructure.clickhouse;
  if (!ch?.enabled) return;
  const base = ['infrastructure', 'clickhouse'];
  if (ch.host !== '') {
    add(p(...base, 'host'), `clickhouse.host was removed; use clickhouse.nodes: [{host: "${ch.host}", id: 1}]`);
  }
  if (ch.nodes.length === 0) {
    add(p(...base, 'nodes'), "clickhouse: at least one entry in 'nodes' is required when enabled");
    return;
  }
  ch.nodes.forEach((n, i) => {
    if (!has(m.hosts, n.host))
      add(p(...base, 'nodes', i, 'host'), `clickhouse.node host '${n.host}' not found in hosts`);
  });
  checkNodeIds(
    'clickhouse',
    ch.nodes.map((n) => n.id),
    p(...base, 'nodes'),
    add,
  );
  checkUniqueNodeHosts(
    'clickhouse',
    ch.nodes.map((n) => n.host),
    p(...base, 'nodes'),
    add,
  );
  if (ch.nodes.length > 1) {
    add(
      p(...base, 'nodes'),
      `clickhouse: multi-node (${ch.nodes.length} nodes) is unsupported; declare exactly one node`,
    );
  }
  for (const field of ['read_endpoint', 'write_endpoint'] as const) {
    const host = ch[field];
    if (host !== '' && !has(m.hosts, host))
      add(p(...base, field), `clickhouse.${field} host '${host}' not found in hosts`);
  }
}

export function checkKafka(m: FrameworksManifest, add: Add): void {
  const k = m.infrastructure.kafka;
  if (!k?.enabled) return;
  const base = ['infrastructure', 'kafka'];
  k.brokers.forEach((b, i) => {
    if (!has(m.hosts, b.host))
      add(p(...base, 'brokers', i, 'host'), `kafka.broker host '${b.host}' not found in hosts`);
  });
  if (k.brokers.length < 1) add(p(...base, 'brokers'), 'kafka requires at least 1 broker');
  if (k.cluster_id === '') {
    add(p(...base, 'cluster_id'), 'kafka.cluster_id is required (generate with: kafka-storage.sh random-uuid)');
  }
  const brokerIds = new Set(k.brokers.map((b) => b.id));
  checkNodeIds(
    'kafka broker',
    k.brokers.map((b) => b.id),
    p(...base, 'brokers'),
    add,
  );
  if (k.controllers.length > 0) {
    if (k.controllers.length < 3) {
      add(p(...base, 'controllers'), 'kafka dedicated controllers require at least 3 for quorum fault tolerance');
    }
    k.controllers.forEach((c, i) => {
      const path = p(...base, 'controllers', i);
      if (!has(m.hosts, c.host)) add(`${path}.host`, `kafka.controller host '${c.host}' not found in hosts`);
      if (brokerIds.has(c.id)) add(`${path}.id`, `kafka controller id ${c.id} conflicts with broker id`);
      if (c.dir_id === '') add(`${path}.dir_id`, 'dir_id is required (generate with: kafka-storage.sh random-uuid)');
    });
    checkNodeIds(
      'kafka controller',
      k.controllers.map((c) => c.id),
      p(...base, 'controllers'),
      add,
    );
  }
  k.topics.forEach((t, i) => {
    if (t.replication_factor > k.brokers.length) {
      add(
        p(...base, 'topics', i, 'replication_factor'),
        `kafka topic "${t.name}": replication_factor (${t.replication_factor}) exceeds broker count (${k.brokers.length})`,
      );
    }
  });
  if (k.min_insync_replicas > 0) {
    k.topics.forEach((t, i) => {
      if (t.replication_factor > 0 && k.min_insync_replicas > t.replication_factor) {
        add(
          p(...base, 'topics', i, 'replication_factor'),
          `kafka topic "${t.name}": min_insync_replicas (${k.min_insync_replicas}) exceeds topic replication_factor (${t.replication_factor})`,
        );
      }
    });
  }
  const validRole = (r: string) => r === '' || r === 'aggregator' || r === 'regional';
  if (!validRole(k.role)) add(p(...base, 'role'), `kafka.role must be 'aggregator' or 'regional', got "${k.role}"`);
  let aggregators = (k.role === '' ? 'aggregator' : k.role) === 'aggregator' ? 1 : 0;
  const regions = new Set<string>();
  if (k.region_id !== '') regions.add(k.region_id);
  k.regional.forEach((rc, i) => {
    const path = p(...base, 'regional', i);
    if (rc.region_id === '') add(`${path}.region_id`, `kafka.regional[${i}]: region_id is required`);
    else if (regions.has(rc.region_id)) add(`${path}.region_id`, `duplicate region_id "${rc.region_id}"`);
    regions.add(rc.region_id);
    if (!validRole(rc.role)) add(`${path}.role`, `role must be 'aggregator' or 'regional', got "${rc.role}"`);
    if (rc.role === 'aggregator') aggregators++;
  });
  if (aggregators > 1) {
    add(p(...base, 'role'), `kafka: at most one cluster may have role 'aggregator' (found ${aggregators})`);
  } else if (aggregators === 0) {
    add(
      p(...base, 'role'),
      "kafka: exactly one cluster must have role 'aggregator' (top-level defaults to aggregator when role is unset)",
    );
  }
}
