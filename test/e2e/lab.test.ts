// The lab of SPEC §10 against real components: namespaces, sshd, dockerd, registry, PostgreSQL. Brings the lab
// up (or reuses a healthy one at v0.1.0), checks every promise other features rely on, and tears it down,
// proving nothing is left behind.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLabForTest, releaseLabForTest } from '../../lab/lock';
import {
  parseChannelPointer,
  parseReleaseCatalog,
  parseReleaseManifest,
  parseServiceDefinitions,
} from '../../src/contracts';
import { HOSTS, INSTALLED_VERSION, SERVICES, hostSpec, labPaths } from '../../lab/config';
import { loadClusterConfig } from '../../src/activities/cluster-config';
import { validateServicesDefined } from '../../src/config/catalog';
import { labDown, labLeftovers, labStatus, labUp, type LabState } from '../../lab/lab';
import { SERVICE_MANAGER, containerName, LABELS, nativePaths } from '../../lab/layout';
import { provisionerPaths } from '../../lab/provisioner';
import { isAlive } from '../../lab/proc';
import { BAD_RELEASE, BAD_SERVICE, CARRIED_SERVICE, CHANNELS, RELEASE_PLAN } from '../../lab/releases';
import { sshTry } from '../../lab/ssh';

let state: LabState;
let down = false;
const paths = () => labPaths(state.root);
const address = (h: string) => HOSTS.find((x) => x.name === h)!.address;

beforeAll(async () => {
  await acquireLabForTest();
  const started = Date.now();
  state = await labUp({ log: (l) => console.error(`[lab] ${l}`) });
  console.error(`[lab] up (or reused) in ${Date.now() - started} ms`);
}, 150_000);

afterAll(async () => {
  try {
    if (!down) await labDown();
  } finally {
    releaseLabForTest();
  }
}, 120_000);

describe('lab hosts', () => {
  it('each host answers SSH with its pinned key, its own hostname and its own /opt/frameworks', () => {
    for (const h of HOSTS) {
      const r = sshTry(paths(), h.address, 'hostname; ls /opt/frameworks');
      expect(r.code, r.stderr).toBe(0);
      const [hostname, ...entries] = r.stdout.trim().split('\n');
      expect(hostname).toBe(h.name);
      // Every service of the host has its folder: natives their binary, docker services their compose stack.
      const mine = SERVICES.filter((s) => s.hosts.includes(h.name)).map((s) => s.name);
      expect(entries.filter((e) => e !== 'bin').sort()).toEqual(mine.sort());
    }
    const pinned = readFileSync(paths().knownHosts, 'utf8').trim().split('\n');
    expect(pinned.map((l) => l.split(' ')[0])).toEqual(HOSTS.map((h) => h.address));
  });

  it('refuses a host whose key does not match known_hosts, and an unknown host', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwlab-kh-'));
    try {
      const lines = readFileSync(paths().knownHosts, 'utf8').trim().split('\n');
      // h1's address pinned to h2's key: a changed host key.
      const wrong = join(dir, 'wrong');
      writeFileSync(wrong, `${HOSTS[0]!.address} ${lines[1]!.split(' ').slice(1).join(' ')}\n`);
      const mismatch = sshTry(paths(), HOSTS[0]!.address, 'true', wrong);
      expect(mismatch.code).toBe(255);
      expect(mismatch.stderr).toMatch(/host key|Host key verification failed/i);
      const empty = join(dir, 'empty');
      writeFileSync(empty, '');
      const unknown = sshTry(paths(), HOSTS[0]!.address, 'true', empty);
      expect(unknown.code).toBe(255);
      expect(unknown.stderr).toMatch(/Host key verification failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lab services at v0.1.0', () => {
  it('every replica answers GET /health from the root namespace with its version and config hash', async () => {
    for (const svc of SERVICES) {
      for (const h of svc.hosts) {
        const res = await fetch(`http://${address(h)}:${svc.port}/health`);
        expect(res.status, `${svc.name} on ${h}`).toBe(200);
        const body = (await res.json()) as { service: string; version: string; config_hash: string };
        expect(body).toMatchObject({ service: svc.name, version: INSTALLED_VERSION });
        expect(body.config_hash).toBe(state.installed[svc.name]!.configHash);
      }
    }
  });

  it('native services on h1 (real systemd): the provisioner layout, MainPID serves /health, restart changes it', async () => {
    const host = address('h1');
    const p = provisionerPaths('quartermaster');
    const on = (command: string) => sshTry(paths(), host, command);
    // As the FrameWorks provisioner leaves it: no installed.json, binary and env file at its paths, its unit.
    expect(on(`test -e ${nativePaths('quartermaster').installed}`).code).toBe(1);
    expect(`sha256:${on(`sha256sum < ${p.binary} | cut -c1-64`).stdout.trim()}`).toBe(
      state.installed.quartermaster!.identity,
    );
    expect(on(`sha256sum < ${p.env} | cut -c1-64`).stdout.trim()).toBe(state.installed.quartermaster!.configHash);
    const unit = on(`cat ${p.unitFile}`).stdout;
    expect(unit).toContain(`ExecStart=${p.binary}\n`);
    expect(unit).toContain(`EnvironmentFile=${p.env}\n`);
    expect(unit).toContain('Restart=always\n');
    const mainPid = () => on(`systemctl show --property=MainPID --value ${p.unit}`).stdout.trim();
    const pid = mainPid();
    expect(Number(pid)).toBeGreaterThan(1);
    const served = (await (await fetch(`http://${host}:18001/health`)).json()) as { pid: number };
    expect(String(served.pid)).toBe(pid);

    expect(on(`systemctl is-active --quiet ${p.unit}`).code).toBe(0);
    const restarted = on(`systemctl restart ${p.unit}`);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(mainPid()).not.toBe(pid);
    expect(on(`systemctl stop ${p.unit}`).code).toBe(0);
    expect(on(`systemctl is-active --quiet ${p.unit}`).code).toBe(3);
    expect(on(`systemctl start ${p.unit}`).code).toBe(0);
  });

  it('docker on h2 lists the service containers through dockerode over SSH (docker system dial-stdio)', async () => {
    const pinned = readFileSync(paths().knownHosts, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${address('h2')} `));
    const blob = Buffer.from(pinned!.split(' ')[2]!, 'base64');
    const docker = new Docker({
      protocol: 'ssh',
      host: address('h2'),
      port: 22,
      username: 'root',
      sshOptions: { privateKey: readFileSync(paths().clientKey), hostVerifier: (key: Buffer) => key.equals(blob) },
    });
    const containers = await docker.listContainers();
    const byName = new Map(containers.map((c) => [c.Names[0]?.slice(1), c]));
    for (const svc of SERVICES.filter((s) => s.mode === 'docker' && s.hosts.includes('h2'))) {
      const c = byName.get(containerName(svc.name));
      expect(c, svc.name).toBeDefined();
      // The provisioner's compose stack (reference §6.3): compose's own labels name the project in the service
      // folder; the image is `<repository>:<version>@<digest>`, so the tag is the version and the digest the bytes.
      expect(state.installed[svc.name]!.imageRef).toMatch(new RegExp(`:${INSTALLED_VERSION}@sha256:[0-9a-f]{64}$`));
      expect(c!.Image).toBe(state.installed[svc.name]!.imageRef);
      expect(c!.Labels).toMatchObject({
        'com.docker.compose.project': svc.name,
        'com.docker.compose.service': svc.name,
        'com.docker.compose.project.working_dir': `/opt/frameworks/${svc.name}`,
      });
      expect(c!.Labels[LABELS.configHash]).toBeUndefined();
    }
  });

  it('purser speaks data-migrations on h1 and its adoption marker is in h1 only', () => {
    const bin = provisionerPaths('purser').binary;
    const r = sshTry(
      paths(),
      address('h1'),
      `test -f /etc/frameworks/data-migrations/purser.enabled && ${bin} data-migrations status invoice-line-items --json`,
    );
    expect(r.code, r.stderr).toBe(0);
    // v0.1.0 predates the migration (introduced in v0.2.0).
    expect(JSON.parse(r.stdout)).toEqual({ id: 'invoice-line-items', status: 'not_registered', not_registered: true });
    expect(sshTry(paths(), address('h2'), 'test -e /etc/frameworks/data-migrations/purser.enabled').code).toBe(1);
  });
});

describe('lab release repository', () => {
  it('the registry serves every image by digest', async () => {
    for (const [key, img] of Object.entries(state.images)) {
      const repo = img.image.slice(0, img.image.lastIndexOf(':'));
      const [registry, ...name] = repo.split('/');
      const res = await fetch(`http://${registry}/v2/${name.join('/')}/manifests/${img.digest}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      expect(res.status, key).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(img.digest);
    }
  });

  it('channels, manifests, lab catalog and cluster.yaml parse with the project parsers', async () => {
    const repo = state.releaseRepository!;
    for (const [channel, version] of Object.entries(CHANNELS)) {
      const text = readFileSync(join(repo, 'channels', `${channel}.yaml`), 'utf8');
      expect(parseChannelPointer(text, channel)).toMatchObject({ platform_version: version });
    }
    const files = readdirSync(join(repo, 'releases')).sort();
    expect(files).toEqual(RELEASE_PLAN.map((p) => `${p.version}.yaml`).sort());
    const manifests = Object.fromEntries(
      files.map((f) => [
        f.replace(/\.yaml$/, ''),
        parseReleaseManifest(readFileSync(join(repo, 'releases', f), 'utf8'), f),
      ]),
    );
    const carried = manifests['v0.2.0']!.services.find((s) => s.name === CARRIED_SERVICE)!;
    const original = manifests['v0.1.0']!.services.find((s) => s.name === CARRIED_SERVICE)!;
    expect(carried).toMatchObject({ carried_from: 'v0.1.0', service_version: 'v0.1.0', digest: original.digest });
    const bad = manifests[BAD_RELEASE]!.services.find((s) => s.name === BAD_SERVICE)!;
    expect(bad.service_version).toBe(BAD_RELEASE);
    // Every native artifact downloads from the artifact server with the declared size and checksum.
    for (const m of Object.values(manifests)) {
      for (const a of m.native_binaries.flatMap((n) => n.artifacts)) {
        const bytes = Buffer.from(await (await fetch(a.url!)).arrayBuffer());
        expect(bytes.length).toBe(a.size_bytes);
        expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(a.checksum);
      }
    }
    const catalog = parseReleaseCatalog(readFileSync(join(state.catalogDir!, 'releases.yaml'), 'utf8'), 'catalog');
    expect(catalog.releases.map((r) => r.version)).toContain(BAD_RELEASE);
    const defs = parseServiceDefinitions(readFileSync(join(state.catalogDir!, 'services.yaml'), 'utf8'), 'services');
    // The lab's cluster is in FrameWorks' format: the worker's loader reads it (hosts file merged, validated as the
    // reference validates) and every service it deploys has a definition in the lab catalog.
    for (const file of [state.clusterFile!, state.clusterConfigChangeFile!]) {
      const cluster = await loadClusterConfig(file);
      validateServicesDefined(Object.keys(cluster.manifest.services), defs, file, state.catalogDir!);
      expect(cluster.name).toBe('lab');
      expect(cluster.manifest.service_manager).toEqual(SERVICE_MANAGER);
      expect(cluster.manifest.hosts.h1).toMatchObject({ address: hostSpec('h1').address, port: 22, user: 'root' });
    }
  });
});

describe('lab down', () => {
  it('leaves no namespace, bridge, process or folder behind', async () => {
    const before = JSON.parse(JSON.stringify(state)) as LabState;
    const report = await labDown();
    down = true;
    expect(report.leftovers).toEqual([]);
    expect(labLeftovers(before)).toEqual([]);
    const pids = [
      before.registry?.pid,
      before.artifactServer?.pid,
      before.postgres?.pid,
      ...HOSTS.flatMap((h) => [
        before.hosts[h.name]?.sshd?.pid,
        before.hosts[h.name]?.nspawn?.pid,
        before.hosts[h.name]?.dockerd?.pid,
      ]),
    ].filter((p): p is number => p !== undefined);
    expect(pids.length).toBe(8);
    expect(pids.filter((p) => isAlive(p))).toEqual([]);
    expect((await labStatus()).exists).toBe(false);
  }, 120_000);
});
