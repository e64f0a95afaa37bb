// The catalog shipped in catalog/ is the real FrameWorks platform's (SPEC §3.3–3.4), loaded with the loader every
// gate uses. Expected values are the reference's facts (frameworks-real-world.md §3.1, §3.2, §4, §5.2;
// frameworks-cli-behaviour.md §3.1, §6.1), written out here so a drifting catalog fails by name.
import { describe, expect, it } from 'vitest';
import { loadCatalogDir } from '../../src/activities/catalog';
import { SHIPPED_CATALOG_DIR } from '../../src/activities/cluster-config';
import type { ReleaseCatalog, ServiceDefinitions } from '../../src/contracts/catalog';
import {
  checkCompatibilityFloor,
  checkRequiredStops,
  lookupRelease,
  minCliVersionFor,
  requiredTransitionIdsFor,
  rollbackDisabledFor,
  serviceDatabase,
  transitionsUpTo,
} from '../../src/domain/catalog';
import { planRollout } from '../../src/domain/planner';

function load(): { catalog: ReleaseCatalog; services: ServiceDefinitions } {
  const r = loadCatalogDir(SHIPPED_CATALOG_DIR);
  if (!r.ok) throw new Error(r.error);
  return r;
}
const { catalog, services } = load();

/** id → [port, health path, ready path] from the reference's service registry; undefined path = TCP probe. */
const PROBES: Record<string, [number, string | undefined, string | undefined]> = {
  bridge: [18000, '/health', undefined],
  commodore: [18001, '/health', undefined],
  quartermaster: [18002, '/health', undefined],
  purser: [18003, '/health', undefined],
  'periscope-query': [18004, '/health', undefined],
  'periscope-ingest': [18005, '/health', undefined],
  'periscope-metering': [18021, '/health', undefined],
  decklog: [18006, undefined, undefined],
  helmsman: [18007, '/health', undefined],
  foghorn: [18008, '/health', undefined],
  signalman: [18009, '/health', undefined],
  navigator: [18010, '/health', undefined],
  privateer: [18012, '/health', undefined],
  deckhand: [18015, '/health', undefined],
  'livepeer-signer': [18016, '/status', undefined],
  skipper: [18018, '/health', undefined],
  chandler: [18020, '/health', '/ready'],
  chartroom: [18030, '/health', undefined],
  foredeck: [18031, '/health', undefined],
  steward: [18032, '/health', undefined],
  logbook: [18033, '/health', undefined],
  'livepeer-gateway': [8935, '/healthz', undefined],
  mistserver: [8080, '/metrics', undefined],
  chatwoot: [18092, '/api', undefined],
  listmonk: [9001, '/health', undefined],
  nginx: [18090, undefined, undefined],
  caddy: [18090, undefined, undefined],
  prometheus: [9090, '/-/healthy', undefined],
  victoriametrics: [8428, '/health', undefined],
  vmauth: [8427, '/health', undefined],
  vmagent: [8429, '/health', undefined],
  grafana: [3000, '/api/health', undefined],
  metabase: [3001, '/api/health', undefined],
  postgres: [5432, undefined, undefined],
  kafka: [9092, undefined, undefined],
  clickhouse: [9000, undefined, undefined],
  yugabyte: [5433, undefined, undefined],
  'kafka-controller': [9093, undefined, undefined],
  'kafka-mirrormaker': [8083, undefined, undefined],
  redis: [6379, undefined, undefined],
};

const MANAGED = [
  'caddy',
  'chatwoot',
  'grafana',
  'listmonk',
  'livepeer-gateway',
  'livepeer-signer',
  'metabase',
  'mistserver',
  'nginx',
  'prometheus',
  'victoriametrics',
  'vmagent',
  'vmauth',
];
const HOST_INFRASTRUCTURE = ['clickhouse', 'kafka', 'kafka-controller', 'kafka-mirrormaker', 'postgres', 'redis'];
const SIGHUP = [
  'bridge',
  'chandler',
  'commodore',
  'deckhand',
  'decklog',
  'foghorn',
  'helmsman',
  'navigator',
  'periscope-ingest',
  'periscope-metering',
  'periscope-query',
  'purser',
  'quartermaster',
  'signalman',
  'skipper',
  'steward',
];

const names = (pred: (d: ServiceDefinitions[string]) => boolean) =>
  Object.keys(services)
    .filter((n) => pred(services[n]!))
    .sort();

describe('shipped service definitions', () => {
  it('define every service id of the registry, and nothing else', () => {
    expect(Object.keys(services).sort()).toEqual(Object.keys(PROBES).sort());
  });

  it.each(Object.entries(PROBES))('%s: port and probe as the registry says', (id, [port, path, ready]) => {
    const d = services[id]!;
    expect(d.port).toBe(port);
    expect(d.health?.path).toBe(path);
    expect(d.health?.ready_path).toBe(ready);
  });

  it('classify managed dependencies and host infrastructure out of releases; privateer (the mesh) too', () => {
    expect(names((d) => d.class === 'managed')).toEqual(MANAGED);
    expect(names((d) => d.class === 'infrastructure')).toEqual(
      [...HOST_INFRASTRUCTURE, 'privateer', 'yugabyte'].sort(),
    );
    expect(names((d) => d.class === 'platform')).toHaveLength(19);
  });

  it('reload on SIGHUP exactly where the service wired a reload callback', () => {
    expect(names((d) => d.reload_on_sighup)).toEqual(SIGHUP);
  });

  it('name the owning database wherever the release catalog does, and agree with it', () => {
    expect(names((d) => d.database !== undefined)).toEqual(Object.keys(catalog.service_databases).sort());
    for (const [svc, db] of Object.entries(catalog.service_databases)) expect(services[svc]!.database).toBe(db);
    expect(serviceDatabase(catalog, 'periscope-metering')).toEqual({ database: 'periscope', declared: true });
    expect(serviceDatabase(catalog, 'decklog')).toEqual({ database: '', declared: false });
  });

  it('plan a whole cluster as the reference orders it: quartermaster first, interfaces last, no cycle', () => {
    const cluster = Object.fromEntries(Object.keys(services).map((n) => [n, { hosts: ['h1'] }]));
    const plan = planRollout({ services: cluster, definitions: services });
    expect(plan.batches[0]).toEqual(['quartermaster']);
    expect(plan.batches.at(-1)).toEqual(['chartroom', 'foredeck', 'logbook']);
    const at = (s: string) => plan.order.indexOf(s);
    expect(at('chandler')).toBeGreaterThan(at('foghorn'));
    expect(at('skipper')).toBeGreaterThan(at('bridge'));
    expect(plan.order).toHaveLength(19);
    expect(plan.order).not.toContain('privateer');
    expect(plan.excluded.map((e) => e.service).sort()).toEqual(
      [...MANAGED, ...HOST_INFRASTRUCTURE, 'privateer', 'yugabyte'].sort(),
    );
  });
});

describe('shipped release catalog', () => {
  it('declares the published stable line v0.2.7 … v0.2.96 and v0.3.0, one entry each', () => {
    const expected = [...Array.from({ length: 90 }, (_, i) => `v0.2.${i + 7}`), 'v0.3.0'];
    expect(catalog.releases.map((r) => r.version)).toEqual(expected);
    expect(lookupRelease(catalog, 'v0.2.50')?.version).toBe('v0.2.50');
    expect(lookupRelease(catalog, 'v0.2.96-rc1')?.version).toBe('v0.2.96');
    // Release candidates the reference rejects, and releases nobody has published, are not targets.
    for (const v of ['v0.2.6-rc1', 'v0.2.2-rc3', 'v0.3.1', 'v0.4.0']) expect(lookupRelease(catalog, v)).toBeUndefined();
  });

  it('carries v0.2.96’s published policy: rc tooling floor, chandler never rolled back, a required stop', () => {
    expect(minCliVersionFor(catalog, 'v0.2.96')).toBe('v0.2.96-rc1');
    expect(rollbackDisabledFor(catalog, 'v0.2.96')).toEqual(['chandler']);
    expect(rollbackDisabledFor(catalog, 'v0.2.96-rc2')).toEqual(['chandler']);
    expect(lookupRelease(catalog, 'v0.2.96')?.required_stop).toBe(true);
    expect(rollbackDisabledFor(catalog, 'v0.2.95')).toEqual([]);
    expect(minCliVersionFor(catalog, 'v0.2.95')).toBeUndefined();
    expect(minCliVersionFor(catalog, 'v0.3.0')).toBe('v0.3.0-rc1');
  });

  it('requires storage-descriptor-adoption from v0.2.96 on, as its manifest does', () => {
    expect(requiredTransitionIdsFor(catalog, 'v0.2.96')).toEqual(['storage-descriptor-adoption']);
    expect(requiredTransitionIdsFor(catalog, 'v0.2.96-rc1')).toEqual(['storage-descriptor-adoption']);
    expect(transitionsUpTo(catalog, 'v0.2.95')).toEqual([]);
    expect(transitionsUpTo(catalog, 'v0.3.0')).toEqual([
      { id: 'storage-descriptor-adoption', introduced_in: 'v0.2.96' },
    ]);
  });

  it('reaches v0.3.0 only through v0.2.96', () => {
    const runs = (version: string) => [{ service: 'purser', host: 'db1', version }];
    expect(checkCompatibilityFloor(catalog, 'v0.3.0', runs('v0.2.96'))).toEqual({ ok: true });
    const below = checkCompatibilityFloor(catalog, 'v0.3.0', runs('v0.2.95'));
    expect(below.ok).toBe(false);
    expect(!below.ok && below.reason).toContain('deploy v0.2.96 first');
    const jump = checkRequiredStops(catalog, 'v0.3.0', runs('v0.2.90'));
    expect(!jump.ok && jump.fix).toBe('frameworks cluster upgrade --all --version v0.2.96');
    expect(checkRequiredStops(catalog, 'v0.2.95', runs('v0.2.90'))).toEqual({ ok: true });
  });

  it('folds below v0.3.0 and parses the six sentinels of the v0.2.96 stepping stone', () => {
    expect(catalog.schema_migration_floor).toBe('v0.3.0');
    const keys = catalog.schema_migration_sentinels.map(
      (s) => `${s.engine}/${s.database}/${s.version}/${s.phase}/${s.sequence}`,
    );
    expect(keys).toEqual([
      'postgres/commodore/v0.2.96/contract/2',
      'postgres/foghorn/v0.2.96/postdeploy/5',
      'postgres/quartermaster/v0.2.96/expand/2',
      'postgres/navigator/v0.2.80/expand/1',
      'postgres/purser/v0.2.82/contract/1',
      'clickhouse/periscope/v0.2.96/contract/2',
    ]);
    expect(catalog.schema_migration_sentinels[0]!.checksum).toBe(
      '72485f193158c1d75237b77400898e9e1d82de94a746ae484ba4629939cf5287',
    );
  });
});
