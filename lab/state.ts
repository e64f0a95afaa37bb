// `.data/lab/state.json`: everything `up` created, written after EACH step, so `down` (from any process, even
// after a failed or interrupted `up`) removes exactly what exists, by recorded pid and by recorded name.
// Plus a cross-process lock, because `up` and `down` from two terminals (or two test files) must not interleave.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostName, ServiceName } from './config';
import { isAlive } from './proc';

/** A daemon we started: its pid and a string its /proc cmdline must contain for `down` to kill it. */
export interface Daemon {
  pid: number;
  marker: string;
}

export interface HostState {
  name: HostName;
  address: string;
  netns: string;
  veth: string;
  /** Root-namespace folders bound on /run, /opt/frameworks and /etc/frameworks inside the host. */
  dir: string;
  runDir: string;
  optDir: string;
  etcDir: string;
  /** `ssh-ed25519 AAAA… fwlab-hN` */
  hostKey: string;
  sshd?: Daemon;
  /** systemd hosts: the systemd-nspawn process (stopping it powers the host off). */
  nspawn?: Daemon;
  dockerd?: Daemon;
  /** dockerd's unix socket as seen from the root namespace (docker hosts). */
  dockerSocket?: string;
  /** cgroup parent of this host's containers (removed by down). */
  cgroupParent?: string;
}

export interface InstalledService {
  service: ServiceName;
  mode: 'native' | 'docker';
  hosts: HostName[];
  version: string;
  port: number;
  /** native: `sha256:<tarball>`; docker: the image digest. */
  identity: string;
  configHash: string;
  /** docker: the `image@digest` reference the containers run. */
  imageRef?: string;
}

export interface LabState {
  version: 1;
  root: string;
  startedAt: string;
  /** Set once `up` finished every step. */
  ready: boolean;
  bridge?: { name: string; address: string; prefix: number };
  /** Empty mountpoints `up` had to create on the machine (rmdir'd by down). */
  createdMountpoints: string[];
  hosts: Partial<Record<HostName, HostState>>;
  ssh?: { user: 'root'; identityFile: string; knownHosts: string };
  postgres?: Daemon & { url: string; dataDir: string; socketDir: string; port: number };
  registry?: Daemon & { address: string; dir: string };
  artifactServer?: Daemon & { url: string };
  releaseRepository?: string;
  catalogDir?: string;
  clusterFile?: string;
  /** Same cluster with one config value changed (for a config-only upgrade). */
  clusterConfigChangeFile?: string;
  /** Shell file exporting FRAMEWORKS_DATABASE_URL for a worker. */
  envFile?: string;
  /** `<service>@<version>` → pushed image. */
  images: Record<string, { image: string; digest: string }>;
  installed: Partial<Record<ServiceName, InstalledService>>;
}

export function emptyState(root: string): LabState {
  return {
    version: 1,
    root,
    startedAt: new Date().toISOString(),
    ready: false,
    createdMountpoints: [],
    hosts: {},
    images: {},
    installed: {},
  };
}

export function readState(file: string): LabState | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabState;
}

export function writeState(file: string, state: LabState): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

function lockAge(lock: string): number {
  try {
    return statSync(lock).mtimeMs;
  } catch {
    return Date.now();
  }
}

/** Runs `fn` holding the lab lock (a directory: mkdir is atomic); a lock whose owner pid is dead is taken over. */
export async function withLabLock<T>(lock: string, fn: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  mkdirSync(dirname(lock), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'owner'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'owner'), 'utf8'));
      } catch {
        // the owner is between mkdir and writing its pid; give it a moment
      }
      // A dead owner, or one that never wrote its pid (crashed right after mkdir), no longer holds the lock.
      const orphaned = Number.isNaN(owner) && Date.now() - lockAge(lock) > 10_000;
      if ((Number.isInteger(owner) && !isAlive(owner)) || orphaned) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lab is locked by pid ${owner} (${lock})`, { cause: err });
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
