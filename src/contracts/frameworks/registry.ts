// The FrameWorks service registry facts the cluster manifest is checked against (reference §3.1, compiled into the
// Go CLI as `pkg/servicedefs`): which ids exist, and their default HTTP and gRPC ports. Manifest validation needs
// them to know that `services` keys (without `deploy`) and every `interfaces`/`observability` key are real ids, and
// to find port collisions per host, and release manifests need them because the reference checks `rollback_disabled`
// names against this registry (not against the manifest's own entries), so a typo such as `chandlr` is refused in
// any manifest. Pure data, in contracts so the schemas can use it (contracts import nothing from domain).

/** Registry id → default port. */
export const FRAMEWORKS_DEFAULT_PORTS: Readonly<Record<string, number>> = Object.freeze({
  bridge: 18000,
  commodore: 18001,
  quartermaster: 18002,
  purser: 18003,
  'periscope-query': 18004,
  'periscope-ingest': 18005,
  'periscope-metering': 18021,
  decklog: 18006,
  signalman: 18009,
  foghorn: 18008,
  helmsman: 18007,
  'livepeer-gateway': 8935,
  'livepeer-signer': 18016,
  mistserver: 8080,
  navigator: 18010,
  privateer: 18012,
  chandler: 18020,
  skipper: 18018,
  deckhand: 18015,
  chatwoot: 18092,
  chartroom: 18030,
  foredeck: 18031,
  steward: 18032,
  logbook: 18033,
  postgres: 5432,
  kafka: 9092,
  clickhouse: 9000,
  listmonk: 9001,
  nginx: 18090,
  caddy: 18090,
  prometheus: 9090,
  victoriametrics: 8428,
  vmauth: 8427,
  vmagent: 8429,
  grafana: 3000,
  metabase: 3001,
});

/** Registry id → default gRPC port (only the services that have one). */
export const FRAMEWORKS_DEFAULT_GRPC_PORTS: Readonly<Record<string, number>> = Object.freeze({
  commodore: 19001,
  quartermaster: 19002,
  purser: 19003,
  'periscope-query': 19004,
  signalman: 19005,
  decklog: 18006,
  deckhand: 19006,
  skipper: 19007,
  navigator: 18011,
  foghorn: 18019,
});

export function isRegistryId(id: string): boolean {
  return Object.hasOwn(FRAMEWORKS_DEFAULT_PORTS, id);
}

export function registryDefaultPort(id: string): number | undefined {
  return Object.hasOwn(FRAMEWORKS_DEFAULT_PORTS, id) ? FRAMEWORKS_DEFAULT_PORTS[id] : undefined;
}

export function registryDefaultGrpcPort(id: string): number | undefined {
  return Object.hasOwn(FRAMEWORKS_DEFAULT_GRPC_PORTS, id) ? FRAMEWORKS_DEFAULT_GRPC_PORTS[id] : undefined;
}

/**
 * Service types whose logical cluster must be a media cluster (type `edge` or role `media`): the public DNS types
 * that are both Bunny-managed and cluster-scoped upstream (`pkg/dns`).
 */
export const MEDIA_SCOPED_SERVICE_TYPES: ReadonlySet<string> = new Set([
  'chandler',
  'edge',
  'edge-egress',
  'edge-ingest',
  'edge-storage',
  'edge-processing',
  'telemetry',
  'foghorn',
  'livepeer-gateway',
]);

/**
 * Whether a service entry is media-scoped: its key names such a type, else its `deploy` does — the precedence
 * upstream uses, so `foghorn-eu` with `deploy: foghorn` counts.
 */
export function isMediaScopedService(key: string, deploy: string): boolean {
  const type = MEDIA_SCOPED_SERVICE_TYPES.has(key.trim()) || deploy.trim() === '' ? key.trim() : deploy.trim();
  return MEDIA_SCOPED_SERVICE_TYPES.has(type);
}
