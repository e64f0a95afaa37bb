// The synthetic cluster of the upgrade-lab benchmark, on the REAL lab hosts: N native services, each on h1, h2 and
// h3, in dependency waves (every service of a wave depends on every service of the wave before), installed at
// v1.0.0 and running under the lab's fw-svc supervisor. Every release's program is the lab's Node fixture
// (lab/fixtures/native-program.ts) as a slow starter: /health answers 503 for `delayMs` after the process starts,
// then 200. Three releases (v1.0.0, v1.1.0, v1.2.0) with distinct tarballs, so one run upgrades v1.0.0 → v1.1.0
// and the next v1.1.0 → v1.2.0 on the same installs. Own cluster name, catalog and release repository in the
// bench's work folder; the lab's own services are not touched. Installed like the upgrade-noop world (one tar stream
// per host over SSH; fw-svc as the `command` service manager on every host, h1's systemd included).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { loadClusterConfig } from '../src/activities/cluster-config';
import { configFor } from '../src/activities/hosts/upgrade';
import { HOSTS, type LabPaths } from '../lab/config';
import { nativeProgram } from '../lab/fixtures/native-program';
import { SUPERVISOR, nativePaths, type InstalledRecord } from '../lab/layout';
import { sshArgs } from '../lab/ssh';
import { supervisorScript } from '../lab/supervisor';
import { gzip, sha256Hex, tar } from '../lab/tar';
import { BENCH_SERVICE_MANAGER, type World } from './upgrade-noop-world';

const execFileAsync = promisify(execFile);

export const LAB_CLUSTER = 'bench-upgrade';
export const VERSIONS = ['v1.0.0', 'v1.1.0', 'v1.2.0'] as const;
const ARCH = 'linux-amd64';
const FIRST_PORT = 32000;

export interface LabWorld extends World {
  /** Dependency waves, in order. */
  waves: string[][];
  ports: Record<string, number>;
  delayMs: number;
}

export const labServiceName = (i: number): string => `bench-up-${String(i).padStart(2, '0')}`;

interface Artifact {
  name: string;
  version: string;
  path: string;
  file: string;
  checksum: string;
  size: number;
  program: string;
}

export async function buildLabWorld(
  paths: LabPaths,
  dir: string,
  opts: { count: number; width: number; delayMs: number },
): Promise<LabWorld> {
  const services = Array.from({ length: opts.count }, (_, i) => labServiceName(i));
  const waves: string[][] = [];
  for (let i = 0; i < services.length; i += opts.width) waves.push(services.slice(i, i + opts.width));
  const dependsOn = (svc: string): string[] => {
    const w = waves.findIndex((wave) => wave.includes(svc));
    return w > 0 ? waves[w - 1]! : [];
  };
  const ports = Object.fromEntries(services.map((s, i) => [s, FIRST_PORT + i]));
  const hosts = HOSTS.map((h) => h.name);
  const repo = join(dir, 'releases');
  const catalog = join(dir, 'catalog');
  for (const d of [join(repo, 'releases'), join(repo, 'channels'), join(repo, 'artifacts'), catalog]) {
    mkdirSync(d, { recursive: true });
  }

  const artifacts = new Map<string, Artifact>();
  for (const version of VERSIONS) {
    for (const name of services) {
      const program = nativeProgram({
        service: name,
        version,
        port: ports[name]!,
        healthStatus: 200,
        dataMigrations: false,
        healthyAfterMs: opts.delayMs,
      });
      const body = gzip(tar([{ type: 'file', path: name, mode: 0o755, body: program }]));
      const file = `frameworks-${name}-${version}-${ARCH}.tar.gz`;
      const path = join(repo, 'artifacts', file);
      writeFileSync(path, body);
      artifacts.set(`${name}@${version}`, {
        name,
        version,
        path,
        file,
        checksum: `sha256:${sha256Hex(body)}`,
        size: body.length,
        program,
      });
    }
    const mine = services.map((s) => artifacts.get(`${s}@${version}`)!);
    writeFileSync(
      join(repo, 'releases', `${version}.yaml`),
      stringify(
        {
          platform_version: version,
          git_commit: createHash('sha1').update(`frameworks bench upgrade ${version}`).digest('hex'),
          release_date: '2025-11-01T00:00:00Z',
          services: mine.map((a) => ({
            name: a.name,
            service_version: version,
            image: `10.77.1.1:5000/frameworks/${a.name}:${version}`,
            digest: `sha256:${sha256Hex(`${a.name}${version}`)}`,
          })),
          native_binaries: mine.map((a) => ({
            name: a.name,
            artifacts: [
              { arch: ARCH, file: a.file, url: `file://${a.path}`, checksum: a.checksum, size_bytes: a.size },
            ],
          })),
        },
        { lineWidth: 0 },
      ),
    );
  }
  const last = VERSIONS[VERSIONS.length - 1];
  writeFileSync(
    join(repo, 'channels', 'stable.yaml'),
    stringify({ platform_version: last, manifest: `releases/${last}.yaml` }),
  );
  writeFileSync(join(catalog, 'releases.yaml'), stringify({ releases: VERSIONS.map((version) => ({ version })) }));
  writeFileSync(
    join(catalog, 'services.yaml'),
    stringify(
      Object.fromEntries(
        services.map((s) => [
          s,
          { role: 'api', port: ports[s], health: { path: '/health' }, depends_on: dependsOn(s), class: 'platform' },
        ]),
      ),
    ),
  );
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
      cluster: LAB_CLUSTER,
      ssh: { identity_file: paths.clientKey, known_hosts: paths.knownHosts },
      release_repositories: [repo],
      service_manager: { ...BENCH_SERVICE_MANAGER },
      catalog_dir: catalog,
      hosts: Object.fromEntries(HOSTS.map((h) => [h.name, { arch: ARCH }])),
    }),
  );

  // Install v1.0.0 as an upgrade leaves it, with the config the orchestrator renders (the config hash matches).
  const cluster = await loadClusterConfig(manifest);
  const stage = join(dir, 'hosts-stage');
  const rel = (inHost: string) => join(stage, inHost);
  const put = (file: string, body: string, mode: number) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body, { mode });
  };
  put(rel(SUPERVISOR), supervisorScript(), 0o755);
  const installedAt = new Date().toISOString();
  for (const name of services) {
    const a = artifacts.get(`${name}@${VERSIONS[0]}`)!;
    const config = configFor(cluster, name);
    const hex = a.checksum.slice('sha256:'.length);
    const p = nativePaths(name);
    const record: InstalledRecord = {
      identity: a.checksum,
      version: a.version,
      config_hash: config.hash,
      previous: null,
      artifact: { url: `file://${a.path}`, checksum: a.checksum, size_bytes: a.size },
      installed_at: installedAt,
    };
    put(rel(`${p.release(hex)}/${name}`), a.program, 0o755);
    symlinkSync(`releases/${hex}`, rel(p.current));
    put(rel(p.env), config.text, 0o644);
    put(rel(p.installed), `${JSON.stringify(record, null, 2)}\n`, 0o644);
  }
  const bundle = (
    await execFileAsync('tar', ['-C', stage, '-cf', '-', 'opt'], { encoding: 'buffer', maxBuffer: 1 << 30 })
  ).stdout;
  const onHosts = (command: string, stdin?: Buffer) =>
    Promise.all(
      HOSTS.map(
        (h) =>
          new Promise<void>((resolve, reject) => {
            const child = execFile(
              'ssh',
              [...sshArgs(paths, h.address), '--', command],
              { timeout: 600_000 },
              (err, _out, stderr) =>
                err ? reject(new Error(`${h.name}: ${err.message} ${String(stderr)}`)) : resolve(),
            );
            child.stdin?.end(stdin ?? '');
          }),
      ),
    );
  await onHosts(
    `for s in ${services.join(' ')}; do ${SUPERVISOR} stop "$s" >/dev/null 2>&1; done; ` +
      `rm -rf ${services.map((s) => nativePaths(s).dir).join(' ')}; tar -xf - -C /`,
    bundle,
  );
  await onHosts(`for s in ${services.join(' ')}; do ${SUPERVISOR} start "$s" >/dev/null || exit 1; done`);
  return { manifest, services, hosts, paths, waves, ports, delayMs: opts.delayMs };
}

/**
 * The replicas' own restart-to-healthy times, measured ON each host (no SSH in the timing): for every service,
 * `fw-svc restart`, then GET 127.0.0.1:<port>/health every 20 ms until 200. One SSH session per host, hosts one
 * after another, replicas one after another (nothing else of the bench runs meanwhile).
 */
export async function restartToHealthy(world: LabWorld): Promise<Record<string, Record<string, number>>> {
  const script = String.raw`
const { execFileSync } = require('node:child_process');
const http = require('node:http');
const [sup, list] = process.argv.slice(1);
const get = (port) => new Promise((ok) => {
  const req = http.get({ host: '127.0.0.1', port, path: '/health', timeout: 1000 }, (res) => { res.resume(); ok(res.statusCode); });
  req.on('error', () => ok(0)); req.on('timeout', () => { req.destroy(); ok(0); });
});
(async () => {
  const out = {};
  for (const item of list.split(',')) {
    const [svc, port] = item.split(':');
    const t0 = performance.now();
    execFileSync(sup, ['restart', svc], { stdio: 'ignore' });
    for (;;) {
      if ((await get(Number(port))) === 200) break;
      if (performance.now() - t0 > 60000) throw new Error(svc + ' not healthy in 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    out[svc] = Math.round((performance.now() - t0) * 10) / 10;
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e.message); process.exit(1); });
`;
  const list = world.services.map((s) => `${s}:${world.ports[s]}`).join(',');
  const out: Record<string, Record<string, number>> = {};
  for (const h of HOSTS) {
    const { stdout } = await execFileAsync(
      'ssh',
      [...sshArgs(world.paths, h.address), '--', `node -e ${shq(script)} ${SUPERVISOR} ${list}`],
      { timeout: 600_000 },
    );
    out[h.name] = JSON.parse(stdout.trim()) as Record<string, number>;
  }
  return out;
}

const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Waits until every replica answers /health 200 (after install or a run), polled on each host. */
export async function allHealthy(world: LabWorld, timeoutMs = 120_000): Promise<void> {
  const script =
    "const ports = process.argv.slice(1).map(Number); const http = require('node:http'); " +
    "Promise.all(ports.map((port) => new Promise((ok) => http.get({ host: '127.0.0.1', port, path: '/health' }, " +
    "(r) => { r.resume(); ok(r.statusCode === 200); }).on('error', () => ok(false))))).then((a) => process.exit(a.every(Boolean) ? 0 : 1));";
  const ports = world.services.map((s) => String(world.ports[s])).join(' ');
  const deadline = Date.now() + timeoutMs;
  for (const h of HOSTS) {
    for (;;) {
      try {
        await execFileAsync('ssh', [...sshArgs(world.paths, h.address), '--', `node -e ${shq(script)} ${ports}`], {
          timeout: 60_000,
        });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${h.name}: replicas not healthy: ${String(err)}`, { cause: err });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
