// Hosts that boot REAL systemd as PID 1 (issue 14, SPEC §10): a Debian bookworm minbase rootfs built once with
// debootstrap and cached, booted by systemd-nspawn inside a network namespace (infra-recipes §1). The
// production `service_manager: systemd` path (systemctl restart/reload/show, journald, Restart=always) runs
// against these, which the lab's fw-svc supervisor cannot stand in for.
//
// Decisions:
// - ONE rootfs, shared read-only by every booted host (`--volatile=overlay`: writes go to a tmpfs upper layer
//   that dies with the container), so a boot never copies 270 MB and two hosts can boot from it at once.
// - The cache key is a hash of everything that shapes the rootfs (suite, packages, post-build files); a change
//   builds a new folder beside the old one instead of reusing a stale one. A build goes into a temp folder that
//   is renamed into place only when complete: a folder under rootfs/ is either whole or absent.
// - Per-host facts (pinned host key, authorized client key) are bound read-only onto /etc/ssh/fw, which a
//   drop-in baked into the rootfs names; nothing per host is written into the shared rootfs.
// - Node for the fixture programs is the machine's own executable bound read-only onto /usr/local/bin/node
//   (the rootfs only adds libstdc++6, which node links against); it is on systemd's default unit PATH.
// - `--register=no --keep-unit`: the machine has no systemd (no machined, no system bus); without them nspawn
//   fails with "Failed to open system bus". Stopped by its pid (SIGTERM = clean poweroff of the container).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './config';
import { keygen } from './hosts';
import { isOurs, run, spawnDaemon, stopPid, tcpBanner, tryRun, waitFor } from './proc';
import { linkExists, netnsExists } from './network';

export const SUITE = 'bookworm';
/** Debian packages of the machine that build and boot these hosts (scripts/deps). */
export const HOST_PACKAGES = ['debootstrap', 'systemd-container'] as const;
/** What the rootfs holds beyond minbase. libstdc++6: the bound-in node needs it. */
export const ROOTFS_PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'iproute2', 'libstdc++6'] as const;
export const DEFAULT_MIRROR = process.env.FW_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
export const DEFAULT_CACHE_DIR = join(PROJECT_ROOT, '.data', 'nspawn');

/** Where a booted host finds its own ssh material (bound read-only). */
const SSH_BIND = '/etc/ssh/fw';
const SSHD_DROPIN = [
  '# FrameWorks lab (lab/nspawn.ts): the host key and authorized keys are bound in per host.',
  `HostKey ${SSH_BIND}/host_ed25519`,
  `AuthorizedKeysFile ${SSH_BIND}/authorized_keys`,
  'PermitRootLogin prohibit-password',
  'PasswordAuthentication no',
  'KbdInteractiveAuthentication no',
  // The bound folder belongs to whoever runs the tests; sshd would judge its parents too open.
  'StrictModes no',
  'UseDNS no',
  // An upgrade opens several sessions at once (exec, SFTP, tunnels); the default 10:30:100 drops some.
  'MaxStartups 200',
  'MaxSessions 100',
  '',
].join('\n');
/** Post-build recipe version: bump when the files written after debootstrap change. */
const RECIPE = 1;

export interface RootfsInfo {
  dir: string;
  /** Seconds the build took (0 when the cache answered). */
  builtSeconds: number;
  cached: boolean;
}

export function rootfsKey(mirror = DEFAULT_MIRROR): string {
  const h = createHash('sha256').update(JSON.stringify({ SUITE, ROOTFS_PACKAGES, SSHD_DROPIN, RECIPE, mirror }));
  return `${SUITE}-${h.digest('hex').slice(0, 12)}`;
}

const MARKER = '.fw-rootfs.json';

function spawnLogged(cmd: string, args: string[], logFile: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    writeFileSync(logFile, `$ ${cmd} ${args.join(' ')}\n`, { flag: 'a' });
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    const keep = (d: Buffer) => {
      chunks.push(d);
      writeFileSync(logFile, d, { flag: 'a' });
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const tail = Buffer.concat(chunks).toString('utf8').slice(-2000);
      reject(new Error(`${cmd} failed (exit ${code ?? signal}); log ${logFile}:\n${tail}`));
    });
  });
}

/**
 * The cached rootfs, built when absent (~40–60 s and ~270 MB: debootstrap from the Debian mirror; apt's
 * download cache is dropped afterwards). Needs root, debootstrap and the mirror.
 */
export async function ensureRootfs(
  opts: { cacheDir?: string; mirror?: string; log?: (line: string) => void } = {},
): Promise<RootfsInfo> {
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
  const mirror = opts.mirror ?? DEFAULT_MIRROR;
  const dir = join(cacheDir, 'rootfs', rootfsKey(mirror));
  if (existsSync(join(dir, MARKER))) return { dir, builtSeconds: 0, cached: true };
  for (const cmd of ['debootstrap', 'systemd-nspawn']) {
    if (tryRun('sh', ['-c', `command -v ${cmd}`]).code !== 0) {
      throw new Error(`${cmd} is missing: apt-get install -y --no-install-recommends ${HOST_PACKAGES.join(' ')}`);
    }
  }
  mkdirSync(join(cacheDir, 'rootfs'), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const logFile = join(cacheDir, `build-${rootfsKey(mirror)}.log`);
  const started = Date.now();
  opts.log?.(`building the ${SUITE} rootfs for systemd hosts (once; log ${logFile})`);
  try {
    await spawnLogged(
      'debootstrap',
      ['--variant=minbase', `--include=${ROOTFS_PACKAGES.join(',')}`, SUITE, tmp, mirror],
      logFile,
      15 * 60_000,
    );
    finishRootfs(tmp);
    const builtSeconds = Math.round((Date.now() - started) / 100) / 10;
    writeFileSync(
      join(tmp, MARKER),
      `${JSON.stringify({ suite: SUITE, packages: ROOTFS_PACKAGES, mirror, builtSeconds, builtAt: new Date().toISOString() }, null, 2)}\n`,
    );
    // Another process may have finished the same build meanwhile: its folder is as good as ours.
    if (existsSync(join(dir, MARKER))) rmSync(tmp, { recursive: true, force: true });
    else {
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    }
    opts.log?.(`rootfs ready in ${builtSeconds} s: ${dir}`);
    return { dir, builtSeconds, cached: false };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** The files that make the debootstrapped tree a lab host (see the header). */
function finishRootfs(root: string): void {
  // No /etc/hostname: the container then takes the machine name given with -M.
  rmSync(join(root, 'etc', 'hostname'), { force: true });
  // Host keys generated at install would be shared by every host; each boot binds its own pinned key instead.
  for (const f of tryRun('sh', ['-c', `ls ${join(root, 'etc', 'ssh')}`]).stdout.split('\n')) {
    if (f.startsWith('ssh_host_')) rmSync(join(root, 'etc', 'ssh', f), { force: true });
  }
  writeFileSync(join(root, 'etc', 'ssh', 'sshd_config.d', 'fw-lab.conf'), SSHD_DROPIN);
  mkdirSync(join(root, SSH_BIND.slice(1)), { recursive: true });
  // Bind-mount targets must exist in the (read-only lower) tree.
  writeFileSync(join(root, 'usr', 'local', 'bin', 'node'), '');
  rmSync(join(root, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
  mkdirSync(join(root, 'var', 'cache', 'apt', 'archives', 'partial'), { recursive: true });
}

// ---- network: a point-to-point veth (tests) — the lab attaches its hosts to its bridge instead ----

export interface PointToPoint {
  netns: string;
  veth: string;
  /** The host's address (inside the namespace). */
  address: string;
  /** The root namespace's end. */
  gateway: string;
}

/**
 * A network namespace `netns` with eth0 = 10.77.200.<4·slot+2>/30 and the root-side veth `veth` =
 * 10.77.200.<4·slot+1>/30 (slot 0–63; 10.77.0.0/16 is the project's range, the lab uses 10.77.1.x/10.77.10x.x).
 */
export function createPointToPoint(netns: string, veth: string, slot: number): PointToPoint {
  if (!Number.isInteger(slot) || slot < 0 || slot > 63) throw new Error(`slot ${slot} outside 0–63`);
  if (netnsExists(netns) || linkExists(veth)) throw new Error(`${netns} / ${veth} already exists`);
  const gateway = `10.77.200.${4 * slot + 1}`;
  const address = `10.77.200.${4 * slot + 2}`;
  run('ip', ['netns', 'add', netns]);
  try {
    run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    run('ip', ['addr', 'add', `${gateway}/30`, 'dev', veth]);
    run('ip', ['link', 'set', veth, 'up']);
    const inNs = (args: string[]) => run('ip', ['netns', 'exec', netns, 'ip', ...args]);
    inNs(['addr', 'add', `${address}/30`, 'dev', 'eth0']);
    inNs(['link', 'set', 'eth0', 'up']);
    inNs(['link', 'set', 'lo', 'up']);
    inNs(['route', 'add', 'default', 'via', gateway]);
  } catch (err) {
    deletePointToPoint({ netns, veth });
    throw err;
  }
  return { netns, veth, address, gateway };
}

export function deletePointToPoint(n: { netns: string; veth: string }): void {
  if (netnsExists(n.netns)) run('ip', ['netns', 'del', n.netns]);
  if (linkExists(n.veth)) run('ip', ['link', 'del', n.veth]);
}

// ---- booting a host ----

export interface NspawnHostOptions {
  /** Machine name = the host's hostname. */
  name: string;
  rootfs: string;
  /** An existing network namespace (/run/netns/<netns>) the container joins. */
  netns: string;
  /** The address sshd answers on (checked for readiness). */
  address: string;
  /** Folder for this host's keys and log (created). */
  dir: string;
  /** `ssh-ed25519 AAAA…` lines allowed to log in as root. */
  authorizedKeys: string[];
  /** Extra read-only binds `host:container`. */
  bindRo?: string[];
  bootTimeoutMs?: number;
}

export interface NspawnHost {
  name: string;
  address: string;
  pid: number;
  /** `ssh-ed25519 AAAA… comment` of the pinned host key. */
  hostKey: string;
  /** `<address> ssh-ed25519 AAAA…` for a known_hosts file. */
  knownHostsLine: string;
  logFile: string;
}

const marker = (name: string): string => `--machine=${name}`;

/** Boots the container and waits until sshd answers (systemd reached ssh.service). */
export async function bootNspawnHost(o: NspawnHostOptions): Promise<NspawnHost> {
  const sshDir = join(o.dir, 'ssh');
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  const keyFile = join(sshDir, 'host_ed25519');
  rmSync(keyFile, { force: true });
  rmSync(`${keyFile}.pub`, { force: true });
  const hostKey = keygen(keyFile, `fw-${o.name}`);
  writeFileSync(join(sshDir, 'authorized_keys'), `${o.authorizedKeys.join('\n')}\n`, { mode: 0o600 });
  const logFile = join(o.dir, 'nspawn.log');
  const args = [
    '--quiet',
    `--directory=${o.rootfs}`,
    '--boot',
    marker(o.name),
    '--register=no',
    '--keep-unit',
    `--network-namespace-path=/run/netns/${o.netns}`,
    '--volatile=overlay',
    '--console=read-only',
    `--bind-ro=${sshDir}:${SSH_BIND}`,
    `--bind-ro=${process.execPath}:/usr/local/bin/node`,
    ...(o.bindRo ?? []).map((b) => `--bind-ro=${b}`),
  ];
  const pid = spawnDaemon('systemd-nspawn', args, logFile);
  const [type, blob] = hostKey.split(' ');
  const host: NspawnHost = {
    name: o.name,
    address: o.address,
    pid,
    hostKey,
    knownHostsLine: `${o.address} ${type} ${blob}`,
    logFile,
  };
  try {
    await waitFor(
      async () => {
        if (!isOurs(pid, marker(o.name))) throw new Error('systemd-nspawn exited');
        return (await tcpBanner(o.address, 22)).startsWith('SSH-2.0');
      },
      o.bootTimeoutMs ?? 60_000,
      () => `sshd in the systemd host ${o.name} (${o.address}); nspawn log:\n${tail(logFile)}`,
    );
  } catch (err) {
    await stopNspawnHost(host);
    throw err;
  }
  return host;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-3000);
  } catch {
    return '(no log)';
  }
}

/** SIGTERM = poweroff inside the container (~2 s); SIGKILL after the timeout. Only our own pid is signalled. */
export async function stopNspawnHost(h: Pick<NspawnHost, 'pid' | 'name'>, timeoutMs = 20_000): Promise<void> {
  if (!isOurs(h.pid, marker(h.name))) return;
  await stopPid(h.pid, timeoutMs);
}
