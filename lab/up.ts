// `lab up` from nothing: network, hosts, infrastructure, builds, release repository, cluster.yaml, and
// v0.1.0 installed and healthy. The state file is written after every step that creates something, so an
// interrupted `up` is still fully removable by `down`. Slow starts overlap: the hosts (dockerd takes the
// longest) are spawned first and awaited only when images are needed.
import { existsSync, mkdirSync, readFileSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BRIDGE,
  HOSTS,
  INSTALLED_VERSION,
  PROJECT_ROOT,
  SERVICES,
  labPaths,
  type HostName,
  type HostSpec,
  type LabPaths,
} from './config';
import { DATABASE_URL_ENV, writeClusterFiles } from './cluster-file';
import { MOUNTPOINTS, knownHostsLine, startHost, waitHost, writeClientKey } from './hosts';
import { BUSYBOX, pushImage } from './images';
import {
  createDatabases,
  socketUrl,
  assertListenersFree,
  startArtifactServer,
  startLabPostgres,
  startRegistry,
  waitArtifactServer,
  waitRegistry,
} from './infra';
import { installDocker, installProvisioner, writeAdoptionMarker, writeSecrets } from './install';
import { createBridge, createHostNetwork } from './network';
import { httpGet, tryRun, waitFor } from './proc';
import { buildAll, imageOf, nativeOf, writeLabCatalog, writeReleaseRepository } from './releases';
import { emptyState, writeState, type LabState } from './state';
import { startSystemdLabHost } from './systemd-hosts';

export type Log = (line: string) => void;

const REQUIRED = [
  ['ip', 'iproute2'],
  ['nsenter', 'util-linux'],
  ['unshare', 'util-linux'],
  ['/usr/sbin/sshd', 'openssh-server'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['dockerd', 'docker.io'],
  ['docker', 'docker.io'],
  ['docker-registry', 'docker-registry'],
  ['busybox', 'busybox-static'],
  // h1 boots real systemd; debootstrap is needed only to build the cached rootfs (lab/nspawn.ts checks it then).
  ['systemd-nspawn', 'systemd-container'],
] as const;

export function checkPrerequisites(): void {
  if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces, mounts, dockerd)');
  const missing = REQUIRED.filter(([bin]) => tryRun('sh', ['-c', `command -v ${bin}`]).code !== 0);
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(([, p]) => p))].join(' ');
    throw new Error(
      `missing ${missing.map(([b]) => b).join(', ')}: apt-get install -y --no-install-recommends ${pkgs}`,
    );
  }
  if (!isStaticElf(BUSYBOX)) {
    throw new Error(
      `${BUSYBOX} is not statically linked; the images need busybox-static (apt-get install -y busybox-static)`,
    );
  }
}

/** An ELF64 file without a PT_INTERP program header runs without a dynamic loader (alone in an image). */
function isStaticElf(file: string): boolean {
  if (!existsSync(file)) return false;
  const b = readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const size = b.readUInt16LE(0x36);
  const count = b.readUInt16LE(0x38);
  for (let i = 0; i < count; i++) if (b.readUInt32LE(phoff + i * size) === 3) return false;
  return true;
}

/**
 * Problems of the service replicas: each must answer /health 200; with `initial`, also still run the version
 * and config `up` installed (the test for "this lab can be reused as freshly built").
 */
export async function servicesHealthy(initial?: {
  version: string;
  installed: LabState['installed'];
}): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all(
    SERVICES.flatMap((svc) =>
      svc.hosts.map(async (h) => {
        const address = HOSTS.find((x) => x.name === h)?.address ?? '';
        const url = `http://${address}:${svc.port}/health`;
        try {
          const res = await httpGet(url);
          const body = JSON.parse(res.body) as { version?: string; config_hash?: string };
          const hash = initial?.installed[svc.name]?.configHash;
          if (res.status !== 200) problems.push(`${svc.name} on ${h}: /health ${res.status}`);
          else if (initial && body.version !== initial.version) {
            problems.push(`${svc.name} on ${h}: runs ${body.version}, not ${initial.version}`);
          } else if (initial && body.config_hash !== hash) {
            problems.push(`${svc.name} on ${h}: config ${body.config_hash}, not the installed ${hash}`);
          }
        } catch (err) {
          problems.push(`${svc.name} on ${h}: ${url} ${err instanceof Error ? err.message : String(err)}`);
        }
      }),
    ),
  );
  return problems.sort();
}

export async function upFromScratch(root: string, log: Log): Promise<LabState> {
  const paths = labPaths(root);
  const state = emptyState(root);
  const save = () => writeState(paths.state, state);
  mkdirSync(paths.logs, { recursive: true });
  save();

  for (const m of MOUNTPOINTS) {
    if (!existsSync(m)) {
      mkdirSync(m);
      state.createdMountpoints.push(m);
    }
  }
  const clientPub = writeClientKey(paths);
  state.ssh = { user: 'root', identityFile: paths.clientKey, knownHosts: paths.knownHosts };
  save();

  log(
    `network: bridge ${BRIDGE.name} ${BRIDGE.address}/${BRIDGE.prefix}, namespaces ${HOSTS.map((h) => h.netns).join(' ')}`,
  );
  state.bridge = { ...BRIDGE };
  save();
  createBridge();
  for (const h of HOSTS) {
    state.hosts[h.name] = {
      name: h.name,
      address: h.address,
      netns: h.netns,
      veth: h.veth,
      dir: paths.hostDir(h.name),
      runDir: paths.hostRun(h.name),
      optDir: paths.hostOpt(h.name),
      etcDir: paths.hostEtc(h.name),
      hostKey: '',
      ...(h.dockerBip ? { dockerSocket: paths.dockerSocket(h.name), cgroupParent: `/${h.netns}` } : {}),
    };
    save();
    createHostNetwork(h);
  }

  log('hosts: starting sshd and dockerd in the namespaces of h2, h3');
  for (const h of HOSTS.filter((x) => !x.systemd)) {
    const started = startHost(paths, h);
    const hs = state.hosts[h.name]!;
    hs.sshd = { pid: started.sshdPid, marker: paths.hostDir(h.name) };
    hs.hostKey = started.hostKey;
    save();
  }

  log('infrastructure: registry, artifact server, PostgreSQL');
  await assertListenersFree();
  state.registry = startRegistry(paths);
  save();
  state.artifactServer = startArtifactServer(paths);
  save();
  state.postgres = await startLabPostgres(paths);
  save();
  await createDatabases(state.postgres.url);

  // After PostgreSQL: its socket folder is bound into the systemd host (purser's data migrations connect there).
  for (const h of HOSTS.filter((x) => x.systemd)) {
    log(`hosts: booting systemd on ${h.name} (systemd-nspawn; the rootfs is built once into .data/nspawn)`);
    await bootSystemdHost(paths, state, h, clientPub);
    save();
  }
  writeFileSync(paths.knownHosts, HOSTS.map((h) => `${knownHostsLine(h, state.hosts[h.name]!.hostKey)}\n`).join(''));

  log('builds: fixture images and native tarballs');
  const builds = buildAll(paths);
  await Promise.all([waitRegistry(), waitArtifactServer()]);
  for (const [key, img] of builds.images) {
    await pushImage(state.registry.address, img);
    state.images[key] = { image: `${img.repository}:${img.tag}`, digest: img.digest };
  }
  save();
  writeReleaseRepository(paths, builds);
  writeLabCatalog(paths);
  writeClusterFiles(paths);
  writeFileSync(paths.envFile, `export ${DATABASE_URL_ENV}=${state.postgres.url}\n`);
  Object.assign(state, {
    releaseRepository: paths.releases,
    catalogDir: paths.catalog,
    clusterFile: paths.cluster,
    clusterConfigChangeFile: paths.clusterConfigChange,
    envFile: paths.envFile,
  });
  save();

  await Promise.all(
    HOSTS.filter((x) => !x.systemd).map(async (h) => {
      const dockerdPid = await waitHost(paths, h);
      if (dockerdPid) state.hosts[h.name]!.dockerd = { pid: dockerdPid, marker: `${paths.hostDir(h.name)}/docker` };
    }),
  );
  save();

  log(`install: ${INSTALLED_VERSION} on the hosts`);
  installVersion(paths, state, builds, INSTALLED_VERSION);
  let unhealthy: string[] = [];
  await waitFor(
    async () =>
      (unhealthy = await servicesHealthy({ version: INSTALLED_VERSION, installed: state.installed })).length === 0,
    60_000,
    () => `every service to answer /health with ${INSTALLED_VERSION}: ${unhealthy.join('; ')}`,
  );
  state.ready = true;
  save();
  return state;
}

/**
 * Boots `h` with real systemd in its (already created) network namespace. Bound in read-only: PostgreSQL's socket
 * folder (purser's data migrations connect through it) and this checkout's node_modules (the fixture's
 * data-migrations.js requires `pg` by its absolute path), each at the path it has on the machine.
 */
async function bootSystemdHost(paths: LabPaths, state: LabState, h: HostSpec, clientPub: string): Promise<void> {
  const modules = realpathSync(join(PROJECT_ROOT, 'node_modules'));
  const socketDir = state.postgres!.socketDir;
  const booted = await startSystemdLabHost({
    paths,
    host: h,
    clientPub,
    bindRo: [`${socketDir}:${socketDir}`, `${modules}:${modules}`],
  });
  const hs = state.hosts[h.name]!;
  // The nspawn command line names the host's own folder (its ssh bind), so the marker is unique to this lab.
  hs.nspawn = { pid: booted.pid, marker: join(paths.hostDir(h.name), 'nspawn') };
  hs.hostKey = booted.hostKey;
}

function installVersion(paths: LabPaths, state: LabState, builds: ReturnType<typeof buildAll>, version: string): void {
  const pgState = state.postgres!;
  for (const svc of SERVICES) {
    if (svc.mode !== 'native') continue;
    for (const h of svc.hosts) writeSecrets(paths, h, svc.name, { DATABASE_URL: socketUrl(pgState, svc.name) });
  }
  // purser speaks the data-migrations protocol; the marker goes in h1's own /etc/frameworks.
  writeAdoptionMarker(paths, 'h1' satisfies HostName, 'purser');
  for (const svc of SERVICES) {
    if (svc.mode === 'native') {
      state.installed[svc.name] = installProvisioner(paths, svc, version, nativeOf(builds, svc.name, version));
    } else {
      const img = imageOf(builds, svc.name, version);
      state.installed[svc.name] = installDocker(paths, svc, version, img.repository, img.digest);
    }
  }
}

/** Removes an empty mountpoint the lab created (never one that existed before). */
export function removeMountpoint(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty or still mounted somewhere: leave it rather than guess
  }
}
