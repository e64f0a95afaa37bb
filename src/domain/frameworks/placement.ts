// Where things run in a FrameWorks cluster manifest, decided as the reference CLI decides it (reference §1.7, §1.8):
// which hosts run a service, which name it is deployed under, and which database nodes and databases `migrate`
// works on. Pure functions over a decoded (and normally validated) manifest.
import type { FrameworksManifest, FrameworksService } from '../../contracts/frameworks/manifest';
import { effectivePostgresPort } from '../../contracts/frameworks/validate';
import { resolveSharedEnvPlaceholder } from '../../contracts/frameworks/dotenv';

/** The name a service is deployed under on its hosts: `deploy` when set (an alias), else its key. */
export function deployName(key: string, svc: Pick<FrameworksService, 'deploy'>): string {
  return svc.deploy !== '' ? svc.deploy : key;
}

/** `hosts` when non-empty, else `[host]`, else none (`serviceHosts` / `resolveHosts` upstream: hosts wins). */
export function explicitHosts(svc: Pick<FrameworksService, 'host' | 'hosts'>): string[] {
  if (svc.hosts.length > 0) return [...svc.hosts];
  if (svc.host !== '') return [svc.host];
  return [];
}

/**
 * The hosts that run a service on deploy/upgrade. `privateer` without placement runs on every host whose roles lack
 * `edge`, plus the hosts of enabled `vmagent` (itself: its hosts, else every host, plus Yugabyte and ClickHouse
 * nodes), `vmauth` and `victoriametrics`; `vmagent` without placement runs on every host plus those nodes. Both
 * derived lists are sorted, as upstream. Disabled services run nowhere.
 */
export function serviceHosts(manifest: FrameworksManifest, key: string, svc: FrameworksService): string[] {
  if (!svc.enabled) return [];
  if (key === 'privateer') return privateerHosts(manifest, svc);
  if (key === 'vmagent') return vmagentHosts(manifest, svc);
  return explicitHosts(svc);
}

function vmagentHosts(m: FrameworksManifest, svc: FrameworksService): string[] {
  const seen = new Set<string>();
  const explicit = explicitHosts(svc);
  if (explicit.length > 0) {
    for (const h of explicit) if (h.trim() !== '') seen.add(h.trim());
  } else {
    for (const h of Object.keys(m.hosts)) seen.add(h);
  }
  const pg = m.infrastructure.postgres;
  if (pg?.enabled && pg.engine === 'yugabyte') for (const n of pg.nodes) if (n.host !== '') seen.add(n.host);
  const ch = m.infrastructure.clickhouse;
  if (ch?.enabled) for (const n of ch.nodes) seen.add(n.host);
  return [...seen].sort();
}

function privateerHosts(m: FrameworksManifest, svc: FrameworksService): string[] {
  const explicit = explicitHosts(svc);
  const seen = new Set<string>();
  const base =
    explicit.length > 0 ? explicit : Object.entries(m.hosts).flatMap(([n, h]) => (h.roles.includes('edge') ? [] : [n]));
  for (const h of base) if (h !== '') seen.add(h);
  const vmagent = Object.hasOwn(m.observability, 'vmagent') ? m.observability.vmagent : undefined;
  if (vmagent?.enabled) for (const h of vmagentHosts(m, vmagent)) if (h !== '') seen.add(h);
  for (const id of ['vmauth', 'victoriametrics']) {
    const obs = Object.hasOwn(m.observability, id) ? m.observability[id] : undefined;
    if (obs?.enabled) for (const h of explicitHosts(obs)) if (h !== '') seen.add(h);
  }
  return [...seen].sort();
}

/** The one host `doctor` and `status` probe: `host`, else `hosts[0]` (note: the opposite preference of deploy). */
export function probeHost(svc: Pick<FrameworksService, 'host' | 'hosts'>): string | undefined {
  if (svc.host !== '') return svc.host;
  return svc.hosts[0];
}

export interface FrameworksDatabase {
  /** Physical database name (`foghorn_eu` for the per-cell copy of `foghorn`). */
  name: string;
  /** Owning role; defaults to the name when the manifest gives none. */
  owner: string;
  /** The logical database whose migrations apply to it: `name` itself unless this is a per-alias copy. */
  logical: string;
}

export interface DatabaseTargets {
  engine: 'postgres' | 'yugabyte';
  /** EffectivePort: `port`, else 5433 for Yugabyte and 5432 for Postgres. */
  port: number;
  /** Where migrate looks for a usable node, in order: every `nodes[].host`, else `[host]`. */
  candidateHosts: string[];
  databases: FrameworksDatabase[];
  /** `infrastructure.postgres.password` when set (it overrides `DATABASE_PASSWORD` for Yugabyte); else undefined. */
  password?: string;
}

/**
 * What `migrate` works on for the main PostgreSQL/YugabyteDB, or null when `infrastructure.postgres` is absent or
 * disabled. Yugabyte databases are expanded per cluster-scoped alias: for a logical database `foghorn`, each
 * enabled service with `deploy: foghorn` (or key `foghorn`), a `cluster:` and a key whose `-`→`_` form differs from
 * `foghorn` yields a physical database `<key with _>` owned by itself, and the logical one is then not listed on
 * its own. Entries are de-duplicated by name/owner (names and owners trimmed; empty names dropped).
 */
export function databaseTargets(manifest: FrameworksManifest): DatabaseTargets | null {
  const pg = manifest.infrastructure.postgres;
  if (!pg?.enabled) return null;
  const yugabyte = pg.engine === 'yugabyte';
  const candidateHosts = pg.nodes.length > 0 ? pg.nodes.map((n) => n.host) : pg.host !== '' ? [pg.host] : [];
  const databases: FrameworksDatabase[] = [];
  const seen = new Set<string>();
  const push = (name: string, owner: string, logical: string) => {
    const n = name.trim();
    if (n === '') return;
    const o = owner.trim() !== '' ? owner.trim() : n;
    const key = `${n}\u0000${o}\u0000${logical}`;
    if (seen.has(key)) return;
    seen.add(key);
    databases.push({ name: n, owner: o, logical });
  };
  for (const db of pg.databases) {
    const logical = db.name.trim();
    const aliases = yugabyte ? clusterScopedAliases(manifest, logical) : [];
    if (aliases.length === 0) push(db.name, db.owner, logical);
    else for (const alias of aliases) push(alias, alias, logical);
  }
  return {
    engine: yugabyte ? 'yugabyte' : 'postgres',
    port: effectivePostgresPort(pg.engine, pg.port),
    candidateHosts,
    databases,
    ...(pg.password !== '' ? { password: pg.password } : {}),
  };
}

function clusterScopedAliases(m: FrameworksManifest, logical: string): string[] {
  if (logical === '') return [];
  const keys: string[] = [];
  for (const [key, svc] of Object.entries(m.services)) {
    if (!svc.enabled || svc.cluster.trim() === '') continue;
    const deploy = svc.deploy.trim() !== '' ? svc.deploy.trim() : key;
    if (deploy !== logical || key.replaceAll('-', '_') === logical) continue;
    keys.push(key);
  }
  // Upstream orders by service key (byte order), then names each database after its key.
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((k) => k.replaceAll('-', '_'));
}

/** `dev` / `development` in any case: the reference relaxes production env checks for this profile. */
export function isDevProfile(profile: string): boolean {
  const p = profile.trim().toLowerCase();
  return p === 'dev' || p === 'development';
}

/** ResolvedChannel: `channel`, else `stable`. */
export function resolvedChannel(m: Pick<FrameworksManifest, 'channel'>): string {
  return m.channel !== '' ? m.channel : 'stable';
}

/** The cluster a host belongs to: `host.cluster`, else the only cluster when exactly one exists, else ''. */
export function hostCluster(m: FrameworksManifest, hostName: string): string {
  const host = Object.hasOwn(m.hosts, hostName) ? m.hosts[hostName] : undefined;
  if (!host) return '';
  if (host.cluster !== '') return host.cluster;
  const ids = Object.keys(m.clusters);
  return ids.length === 1 ? ids[0]! : '';
}

/** Every enabled entry of services, interfaces and observability, with its section, deploy name and hosts. */
export interface PlacedService {
  section: 'services' | 'interfaces' | 'observability';
  key: string;
  deploy: string;
  hosts: string[];
  service: FrameworksService;
}

export function placedServices(m: FrameworksManifest): PlacedService[] {
  const out: PlacedService[] = [];
  for (const section of ['services', 'interfaces', 'observability'] as const) {
    for (const [key, svc] of Object.entries(m[section])) {
      if (!svc.enabled) continue;
      out.push({ section, key, deploy: deployName(key, svc), hosts: serviceHosts(m, key, svc), service: svc });
    }
  }
  return out;
}

/**
 * The fields the reference resolves `${KEY}` placeholders in against the shared env: `infrastructure.redis
 * .instances[].password`. Returns the resolved passwords by instance index, or the problems (naming keys, never
 * values).
 */
export function resolveRedisPasswords(
  m: FrameworksManifest,
  sharedEnv: Readonly<Record<string, string>>,
): { passwords: string[]; problems: Array<{ path: string; message: string }> } {
  const passwords: string[] = [];
  const problems: Array<{ path: string; message: string }> = [];
  (m.infrastructure.redis?.instances ?? []).forEach((inst, i) => {
    const r = resolveSharedEnvPlaceholder(inst.password, sharedEnv);
    if (r.ok) passwords.push(r.value);
    else {
      passwords.push('');
      problems.push({ path: `infrastructure.redis.instances[${i}].password`, message: r.error });
    }
  });
  return { passwords, problems };
}

export interface ClickHouseTarget {
  /** CoordinatorHost: the node with the lowest positive id ('' when none). */
  host: string;
  /** EffectivePort: `port`, else 9000. */
  port: number;
  databases: string[];
}

/** What `migrate` and `doctor` use for ClickHouse, or null when it is absent or disabled. */
export function clickhouseTarget(manifest: FrameworksManifest): ClickHouseTarget | null {
  const ch = manifest.infrastructure.clickhouse;
  if (!ch?.enabled) return null;
  let best: { id: number; host: string } | undefined;
  for (const n of ch.nodes) {
    if (n.id <= 0) continue;
    if (best === undefined || n.id < best.id) best = { id: n.id, host: n.host };
  }
  return { host: best?.host ?? '', port: ch.port !== 0 ? ch.port : 9000, databases: [...ch.databases] };
}

/**
 * The single host an infrastructure "service" of `upgrade` resolves to (reference §1.8): postgres → `host`,
 * yugabyte → first node, kafka → first broker, kafka-controller → first controller, clickhouse → coordinator,
 * redis → first instance's host. Undefined when the manifest names none.
 */
export function infrastructureHost(manifest: FrameworksManifest, id: string): string | undefined {
  const infra = manifest.infrastructure;
  const nonEmpty = (h: string | undefined) => (h !== undefined && h !== '' ? h : undefined);
  switch (id) {
    case 'postgres':
      return nonEmpty(infra.postgres?.host);
    case 'yugabyte':
      return nonEmpty(infra.postgres?.nodes[0]?.host);
    case 'kafka':
      return nonEmpty(infra.kafka?.brokers[0]?.host);
    case 'kafka-controller':
      return nonEmpty(infra.kafka?.controllers[0]?.host);
    case 'clickhouse':
      return nonEmpty(clickhouseTarget(manifest)?.host);
    case 'redis':
      return nonEmpty(infra.redis?.instances[0]?.host);
    default:
      return undefined;
  }
}

/**
 * The database password `migrate` and `doctor` use (resolveYugabytePassword upstream): for Yugabyte,
 * `postgres.password` as written, else the shared env's `DATABASE_PASSWORD`, else an error naming the fix; for
 * vanilla Postgres none (the reference works as the local `postgres` OS user there). Errors never hold a value.
 */
export function resolveDatabasePassword(
  manifest: FrameworksManifest,
  sharedEnv: Readonly<Record<string, string>>,
): { ok: true; value: string } | { ok: false; error: string } {
  const pg = manifest.infrastructure.postgres;
  if (pg?.engine !== 'yugabyte') return { ok: true, value: '' };
  if (pg.password !== '') return { ok: true, value: pg.password };
  const fromEnv = Object.hasOwn(sharedEnv, 'DATABASE_PASSWORD') ? sharedEnv.DATABASE_PASSWORD! : '';
  if (fromEnv !== '') return { ok: true, value: fromEnv };
  return {
    ok: false,
    error:
      'DATABASE_PASSWORD missing from manifest env_files: add it to your gitops secrets (or set infrastructure.postgres.password)',
  };
}
