// The synthetic cluster of the upgrade-noop benchmark, on the REAL lab hosts: N native services (default 100), each
// on h1, h2 and h3, installed at release v1.0.0 exactly as the upgrade would have left them (release folder,
// `current` link, rendered env file, installed.json with identity and config hash) and running under the lab's
// fw-svc supervisor, so `upgrade --all --version v1.0.0` finds every replica at target. Its own cluster name,
// catalog and release repository in the bench's work folder; the lab's own services are not touched.
//
// Everything on the hosts goes over SSH (one tar stream per host, unpacked at /): h1 is a systemd-nspawn host with
// its own root, so its files are not reachable from this namespace. The cluster's service manager is the `command`
// kind naming fw-svc (installed on every host, h1's systemd included): the lab cluster's own `systemd` manager
// cannot be used, because h2 and h3 run no systemd.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { loadClusterConfig } from '../src/activities/cluster-config';
import { configFor } from '../src/activities/hosts/upgrade';
import { HOSTS, type LabPaths } from '../lab/config';
import { SUPERVISOR, SUPERVISOR_RUN_DIR, nativePaths, type InstalledRecord } from '../lab/layout';
import { ssh, sshArgs } from '../lab/ssh';
import { supervisorScript } from '../lab/supervisor';
import { gzip, sha256Hex, tar } from '../lab/tar';

const execFileAsync = promisify(execFile);

export const BENCH_CLUSTER = 'bench-noop';
export const BENCH_VERSION = 'v1.0.0';
const ARCH = 'linux-amd64';
const FIRST_PORT = 31000;

/** orchestrator.yaml `service_manager`: the lab's fw-svc supervisor on every host (see the header). */
export const BENCH_SERVICE_MANAGER = {
  type: 'command',
  restart: `${SUPERVISOR} restart {service}`,
  stop: `${SUPERVISOR} stop {service}`,
  status: `${SUPERVISOR} status {service}`,
} as const;

export interface World {
  manifest: string;
  services: string[];
  hosts: string[];
  /** Lab paths (SSH keys) to reach the hosts. */
  paths: LabPaths;
}

export const serviceName = (i: number): string => `bench-svc-${String(i).padStart(3, '0')}`;

/** A program that only stays up: detection reads files and the supervisor's status, never the program. */
const PROGRAM = '#!/bin/sh\n# frameworks bench fixture: stays up until stopped\nexec sleep 2147483647\n';

export async function buildWorld(paths: LabPaths, dir: string, count: number): Promise<World> {
  const services = Array.from({ length: count }, (_, i) => serviceName(i));
  const hosts = HOSTS.map((h) => h.name);
  const repo = join(dir, 'releases');
  const catalog = join(dir, 'catalog');
  for (const d of [join(repo, 'releases'), join(repo, 'channels'), join(repo, 'artifacts'), catalog]) {
    mkdirSync(d, { recursive: true });
  }

  // One tarball per service (distinct identities, as in a real release).
  const artifacts = services.map((name) => {
    const body = gzip(tar([{ type: 'file', path: name, mode: 0o755, body: `${PROGRAM}# ${name}\n` }]));
    const file = `frameworks-${name}-${BENCH_VERSION}-${ARCH}.tar.gz`;
    const path = join(repo, 'artifacts', file);
    writeFileSync(path, body);
    return { name, path, file, checksum: `sha256:${sha256Hex(body)}`, size: body.length };
  });

  writeFileSync(
    join(repo, 'releases', `${BENCH_VERSION}.yaml`),
    stringify(
      {
        platform_version: BENCH_VERSION,
        git_commit: createHash('sha1').update('frameworks bench noop').digest('hex'),
        release_date: '2025-11-01T00:00:00Z',
        services: artifacts.map((a) => ({
          name: a.name,
          service_version: BENCH_VERSION,
          // Native services still carry an image entry in the manifest format; it is never pulled here.
          image: `10.77.1.1:5000/frameworks/${a.name}:${BENCH_VERSION}`,
          digest: `sha256:${sha256Hex(a.name)}`,
        })),
        native_binaries: artifacts.map((a) => ({
          name: a.name,
          artifacts: [{ arch: ARCH, file: a.file, url: `file://${a.path}`, checksum: a.checksum, size_bytes: a.size }],
        })),
      },
      { lineWidth: 0 },
    ),
  );
  writeFileSync(
    join(repo, 'channels', 'stable.yaml'),
    stringify({ platform_version: BENCH_VERSION, manifest: `releases/${BENCH_VERSION}.yaml` }),
  );
  writeFileSync(join(catalog, 'releases.yaml'), stringify({ releases: [{ version: BENCH_VERSION }] }));
  writeFileSync(
    join(catalog, 'services.yaml'),
    stringify(
      Object.fromEntries(
        services.map((s, i) => [
          s,
          { role: 'api', port: FIRST_PORT + i, health: { path: '/health' }, depends_on: [], class: 'platform' },
        ]),
      ),
    ),
  );
  // The FrameWorks manifest (synthetic services are not registry ids, so each names itself as its `deploy`), its
  // hosts file and the orchestrator settings beside them.
  const manifest = join(dir, 'cluster.yaml');
  writeFileSync(
    manifest,
    stringify({
      version: 'v1',
      type: 'cluster',
      channel: 'stable',
      hosts_file: 'hosts.yaml',
      hosts: Object.fromEntries(HOSTS.map((h) => [h.name, { roles: ['services'] }])),
      services: Object.fromEntries(services.map((s) => [s, { enabled: true, mode: 'native', deploy: s, hosts }])),
    }),
  );
  writeFileSync(
    join(dir, 'hosts.yaml'),
    stringify({ hosts: Object.fromEntries(HOSTS.map((h) => [h.name, { external_ip: h.address, user: 'root' }])) }),
  );
  writeFileSync(
    join(dir, 'orchestrator.yaml'),
    stringify({
      cluster: BENCH_CLUSTER,
      ssh: { identity_file: paths.clientKey, known_hosts: paths.knownHosts },
      release_repositories: [repo],
      service_manager: { ...BENCH_SERVICE_MANAGER },
      catalog_dir: catalog,
      hosts: Object.fromEntries(HOSTS.map((h) => [h.name, { arch: ARCH }])),
    }),
  );

  // Install every replica at target, with the config the orchestrator renders (so the config hash matches): one
  // tar stream unpacked at / on each host (paths inside the tar are the host's, without the leading slash).
  const cluster = await loadClusterConfig(manifest);
  // Staged locally and packed with GNU tar (the lab's own tar writer is plain ustar: names ≤ 100 bytes).
  const stage = join(dir, 'hosts-stage');
  const rel = (inHost: string) => join(stage, inHost);
  const put = (file: string, body: string, mode: number) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body, { mode });
  };
  put(rel(SUPERVISOR), supervisorScript(), 0o755);
  const installedAt = new Date().toISOString();
  for (const a of artifacts) {
    const config = configFor(cluster, a.name);
    const hex = a.checksum.slice('sha256:'.length);
    const p = nativePaths(a.name);
    const record: InstalledRecord = {
      identity: a.checksum,
      version: BENCH_VERSION,
      config_hash: config.hash,
      previous: null,
      artifact: { url: `file://${a.path}`, checksum: a.checksum, size_bytes: a.size },
      installed_at: installedAt,
    };
    put(rel(`${p.release(hex)}/${a.name}`), `${PROGRAM}# ${a.name}\n`, 0o755);
    symlinkSync(`releases/${hex}`, rel(p.current));
    put(rel(p.env), config.text, 0o644);
    put(rel(p.installed), `${JSON.stringify(record, null, 2)}\n`, 0o644);
  }
  const bundle = (
    await execFileAsync('tar', ['-C', stage, '-cf', '-', 'opt'], { encoding: 'buffer', maxBuffer: 1 << 30 })
  ).stdout;
  await Promise.all(
    HOSTS.map(
      (h) =>
        new Promise<void>((resolve, reject) => {
          const child = execFile(
            'ssh',
            [
              ...sshArgs(paths, h.address),
              '--',
              `rm -rf ${services.map((s) => nativePaths(s).current).join(' ')}; tar -xf - -C /`,
            ],
            { timeout: 600_000 },
            (err, _out, stderr) =>
              err ? reject(new Error(`installing on ${h.name}: ${err.message} ${String(stderr)}`)) : resolve(),
          );
          child.stdin?.end(bundle);
        }),
    ),
  );
  // Start them: one SSH session per host, hosts in parallel.
  await Promise.all(
    HOSTS.map((h) =>
      execFileAsync(
        'ssh',
        [
          ...sshArgs(paths, h.address),
          '--',
          `for s in ${services.join(' ')}; do ${SUPERVISOR} start "$s" >/dev/null || exit 1; done`,
        ],
        { timeout: 600_000 },
      ),
    ),
  );
  return { manifest, services, hosts, paths };
}

/** Every replica's service pid (fw-svc's pid file), host by host, service by service: proves nothing restarted. */
export async function readPids(world: World): Promise<string[]> {
  const per = await Promise.all(
    HOSTS.map(async (h) => {
      const { stdout } = await execFileAsync(
        'ssh',
        [
          ...sshArgs(world.paths, h.address),
          '--',
          `for s in ${world.services.join(' ')}; do echo "$s $(cat ${SUPERVISOR_RUN_DIR}/$s.pid 2>/dev/null)"; done`,
        ],
        { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      );
      return stdout
        .trim()
        .split('\n')
        .map((l) => `${h.name} ${l}`);
    }),
  );
  return per.flat();
}

/** Stops the synthetic services and removes their folders from every host. */
export function removeWorld(paths: LabPaths, services: string[]): void {
  for (const h of HOSTS) {
    try {
      ssh(
        paths,
        h.address,
        `for s in ${services.join(' ')}; do ${SUPERVISOR} stop "$s" >/dev/null 2>&1; done; ` +
          `rm -rf ${services.map((s) => nativePaths(s).dir).join(' ')}`,
      );
    } catch {
      // The lab may already be gone, and its hosts' folders with it.
    }
  }
}
