// The canonical service ids of the FrameWorks service registry (reference frameworks-real-world.md §3.1, the
// reference's compiled `servicedefs.Services` keys). The reference checks a release's `rollback_disabled` names
// against this registry — not against the manifest's own entries — so a manifest may disable rollback for a
// service it does not list, and a typo such as `chandlr` is refused in any manifest.
const REGISTRY_SERVICE_IDS: ReadonlySet<string> = new Set([
  'bridge',
  'commodore',
  'quartermaster',
  'purser',
  'periscope-query',
  'periscope-ingest',
  'periscope-metering',
  'decklog',
  'signalman',
  'foghorn',
  'helmsman',
  'livepeer-gateway',
  'livepeer-signer',
  'mistserver',
  'navigator',
  'privateer',
  'chandler',
  'skipper',
  'deckhand',
  'chatwoot',
  'chartroom',
  'foredeck',
  'steward',
  'logbook',
  'postgres',
  'kafka',
  'clickhouse',
  'listmonk',
  'nginx',
  'caddy',
  'prometheus',
  'victoriametrics',
  'vmauth',
  'vmagent',
  'grafana',
  'metabase',
]);

export function isRegistryServiceId(id: string): boolean {
  return REGISTRY_SERVICE_IDS.has(id);
}
