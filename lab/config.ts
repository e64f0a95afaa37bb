// The lab's fixed topology (SPEC §10): names, addresses, ports and folders. Everything the lab creates on the
// machine is named here, so `down` can remove exactly that and a reader can see the whole footprint at once.
// Addresses stay inside 10.77.0.0/16, a range nothing else on the build machines uses.
import { join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(__dirname, '..');
/** The lab's schema and data migrations (its fixture SQL); used only because the lab's orchestrator.yaml names it. */
export const LAB_MIGRATIONS_DIR = join(__dirname, 'migrations');
/** Default lab folder; FW_LAB_DIR overrides it (e.g. a second checkout). */
export const DEFAULT_LAB_DIR = process.env.FW_LAB_DIR ?? join(PROJECT_ROOT, '.data', 'lab');
/**
 * The lab's own release catalog and service definitions (its fixture releases and services). The orchestrator's
 * shipped catalog/ describes the real FrameWorks platform, so the lab never relies on it: `up` copies this folder
 * into the lab (adding the bad release) and the generated cluster files name that copy as their catalog.
 */
export const LAB_CATALOG_DIR = join(PROJECT_ROOT, 'lab', 'catalog');

export const BRIDGE = { name: 'fwlab0', address: '10.77.1.1', prefix: 24 } as const;
export const REGISTRY = `${BRIDGE.address}:5000`;
/** busybox httpd serving the release repository (and the native artifacts inside it). */
export const ARTIFACT_PORT = 8088;
export const ARTIFACT_BASE_URL = `http://${BRIDGE.address}:${ARTIFACT_PORT}`;

export type HostName = 'h1' | 'h2' | 'h3';

export interface HostSpec {
  name: HostName;
  address: string;
  /** Network namespace (and root-side veth) name: prefixed so it never collides with anyone else's. */
  netns: string;
  veth: string;
  /** dockerd's bridge for this host's containers; absent = no dockerd. */
  dockerBip?: string;
  /**
   * Boots real systemd (lab/nspawn.ts) instead of the namespace-with-sshd host: its native services are installed
   * the way the FrameWorks provisioner installs them and run under `service_manager: systemd` (issue 14).
   */
  systemd?: true;
}

export const HOSTS: readonly HostSpec[] = [
  { name: 'h1', address: '10.77.1.11', netns: 'fwlab-h1', veth: 'fwlab-h1', systemd: true },
  { name: 'h2', address: '10.77.1.12', netns: 'fwlab-h2', veth: 'fwlab-h2', dockerBip: '10.77.102.1/24' },
  { name: 'h3', address: '10.77.1.13', netns: 'fwlab-h3', veth: 'fwlab-h3', dockerBip: '10.77.103.1/24' },
];

export type ServiceName = 'quartermaster' | 'commodore' | 'purser' | 'foghorn' | 'bridge';

export interface ServiceSpec {
  name: ServiceName;
  /** catalog/services.yaml port; the fixture programs bake it in (the rendered env carries only config). */
  port: number;
  mode: 'native' | 'docker';
  hosts: HostName[];
  /** Non-secret config written into cluster.yaml and rendered into the service's env. */
  env?: Record<string, string>;
}

export const SERVICES: readonly ServiceSpec[] = [
  { name: 'quartermaster', port: 18001, mode: 'native', hosts: ['h1'], env: { QUARTERMASTER_LOG_LEVEL: 'info' } },
  { name: 'commodore', port: 18002, mode: 'docker', hosts: ['h2', 'h3'] },
  { name: 'purser', port: 18003, mode: 'native', hosts: ['h1'], env: { PURSER_RATING: 'v1' } },
  { name: 'foghorn', port: 18004, mode: 'docker', hosts: ['h2'], env: { FOGHORN_REGION: 'lab-1' } },
  { name: 'bridge', port: 18005, mode: 'docker', hosts: ['h3'] },
];

export const DATABASES = ['quartermaster', 'purser', 'commodore', 'foghorn'] as const;

/** What `up` installs on the hosts. */
export const INSTALLED_VERSION = 'v0.1.0';

export function hostSpec(name: HostName): HostSpec {
  const h = HOSTS.find((x) => x.name === name);
  if (!h) throw new Error(`unknown lab host ${name}`);
  return h;
}

/** Every folder and file of one lab, derived from its root. */
export function labPaths(root: string) {
  const hostDir = (h: HostName) => join(root, 'hosts', h);
  return {
    root,
    state: join(root, 'state.json'),
    ssh: join(root, 'ssh'),
    clientKey: join(root, 'ssh', 'id_ed25519'),
    knownHosts: join(root, 'ssh', 'known_hosts'),
    hostDir,
    /** Bound on /run, /opt/frameworks and /etc/frameworks inside the host's own mount namespace. */
    hostRun: (h: HostName) => join(hostDir(h), 'run'),
    hostOpt: (h: HostName) => join(hostDir(h), 'opt'),
    hostEtc: (h: HostName) => join(hostDir(h), 'etc'),
    dockerSocket: (h: HostName) => join(hostDir(h), 'run', 'docker.sock'),
    releases: join(root, 'releases'),
    catalog: join(root, 'catalog'),
    cluster: join(root, 'cluster.yaml'),
    clusterConfigChange: join(root, 'cluster.config-change.yaml'),
    envFile: join(root, 'lab.env'),
    registry: join(root, 'registry'),
    build: join(root, 'build'),
    logs: join(root, 'logs'),
    postgres: join(root, 'pg'),
  };
}
export type LabPaths = ReturnType<typeof labPaths>;

/** Lock shared by `up` and `down` of any process on this checkout; outside the lab folder that `down` deletes. */
export function lockPath(root: string): string {
  return `${root}.lock`;
}
