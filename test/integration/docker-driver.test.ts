// The docker host driver against a REAL dockerd (Debian docker.io 20.10) and a REAL registry (docker-registry),
// both started here in a private temp dir and stopped by pid (reference/infra-recipes.md §2). Images are made
// offline: `docker import` of a busybox-static rootfs, one per version, pushed to the registry and deleted
// locally, so every stage is a real pull by digest.
//
// Networking choice: dockerd runs with --bridge=none --iptables=false --ip6tables=false so it creates no bridge,
// no iptables rules and nothing that could collide with another dockerd on this machine (the lab's). Without a
// bridge, port publishing has nothing to forward to, so the test containers use `networkMode: 'host'`; the
// production default (publish <port>/tcp on the same host port) is checked by value in the unit tests.
import { ApplicationFailure } from '@temporalio/common';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import {
  activateDocker,
  detectDocker,
  dockerOverSocket,
  dockerOverSsh,
  finalizeDocker,
  previousContainerName,
  rollbackDocker,
  stageDocker,
  type DockerServiceConfig,
} from '../../src/activities/hosts/docker';
import { configHash, renderEnvFile } from '../../src/domain/hosts/commands';
import { FailureType } from '../../src/errors';
import { generateEd25519, startSshd, type TestSshd } from '../helpers/sshd';

const SVC = 'commodore';
let dir: string;
let sock: string;
let dockerd: ChildProcess | undefined;
let registry: ChildProcess | undefined;
let docker: Docker;
let registryAddr: string;
let port: number;
const images: Record<string, string> = {};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, log: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms:\n${log().slice(-3000)}`);
}

function startChild(cmd: string, args: string[], logFile: string): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d: Buffer) => appendFileSync(logFile, d));
  return child;
}

async function stopChild(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid!, 'SIGTERM');
  const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** dockerd leaves its netns bind mount behind under the exec root; unmount what it left under `dir`. */
function unmountUnder(root: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) execFileSync('umount', ['-l', m]);
}

const cli = (...args: string[]): string =>
  execFileSync('docker', ['-H', `unix://${sock}`, ...args], { encoding: 'utf8' });

/** An image whose /health answers with its version and the container's environment. */
function buildImage(version: string): string {
  const rootfs = join(dir, `rootfs-${version}`);
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'etc'));
  mkdirSync(join(rootfs, 'tmp'));
  execFileSync('cp', ['/bin/busybox', join(rootfs, 'bin', 'busybox')]);
  for (const a of ['sh', 'mkdir', 'cat', 'env', 'httpd', 'sleep']) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc', 'app-version'), `${version}\n`);
  const tar = join(dir, `rootfs-${version}.tar`);
  execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  const repoTag = `${registryAddr}/frameworks/${SVC}:${version}`;
  // sh stays PID 1 with a TERM trap: a PID 1 without a handler ignores SIGTERM, and every stop would take the
  // full 10 s grace period before the SIGKILL.
  const cmd =
    'mkdir -p /www; { cat /etc/app-version; env; } > /www/health; httpd -f -p "$PORT" -h /www & ' +
    "trap 'kill $!; exit 0' TERM; wait";
  cli('import', '--change', `CMD ["sh", "-c", ${JSON.stringify(cmd)}]`, tar, repoTag);
  cli('push', repoTag);
  const ref = cli('image', 'inspect', '--format', '{{index .RepoDigests 0}}', repoTag).trim();
  cli('image', 'rm', repoTag); // so that staging really pulls
  return ref;
}

beforeAll(async () => {
  dir = mkdtempSync('/tmp/fw-dockerd-'); // short: the socket path must fit in sun_path (108 bytes)
  sock = join(dir, 'docker.sock');
  const log = join(dir, 'dockerd.log');
  writeFileSync(log, '');
  dockerd = startChild(
    'dockerd',
    [
      `--data-root=${join(dir, 'data')}`,
      `--exec-root=${join(dir, 'exec')}`,
      `--pidfile=${join(dir, 'dockerd.pid')}`,
      `--host=unix://${sock}`,
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      '--storage-driver=overlay2',
      '--cgroup-parent=/fw-docker-driver-test',
    ],
    log,
  );
  docker = dockerOverSocket(sock);
  await until(
    'dockerd',
    async () => String(await docker.ping()) === 'OK',
    30_000,
    () => readFileSync(log, 'utf8'),
  );

  const regPort = await freePort();
  registryAddr = `127.0.0.1:${regPort}`;
  const regLog = join(dir, 'registry.log');
  writeFileSync(regLog, '');
  writeFileSync(
    join(dir, 'registry.yml'),
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\n` +
      `http:\n  addr: ${registryAddr}\n`,
  );
  registry = startChild('docker-registry', ['serve', join(dir, 'registry.yml')], regLog);
  await until(
    'registry',
    async () => (await fetch(`http://${registryAddr}/v2/`)).status === 200,
    15_000,
    () => readFileSync(regLog, 'utf8'),
  );
  for (const v of ['v0.1.0', 'v0.2.0']) images[v] = buildImage(v);
  port = await freePort();
}, 120_000);

afterAll(async () => {
  await stopChild(registry, 5_000);
  // dockerd stops its containers and its own containerd on SIGTERM.
  await stopChild(dockerd, 30_000);
  if (dir) {
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

const config = (v: string, greeting: string): DockerServiceConfig => {
  const env = { PORT: String(port), GREETING: greeting };
  return {
    imageRef: images[v]!,
    version: v,
    env,
    port,
    configHash: configHash(renderEnvFile(env)),
    networkMode: 'host',
  };
};

async function served(): Promise<string> {
  let text = '';
  await expect
    .poll(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        text = res?.status === 200 ? await res.text() : '';
        return text !== '';
        // A container start on a loaded machine can take seconds: wait up to 15 s, not the default 1 s.
      },
      { timeout: 15_000, interval: 100 },
    )
    .toBe(true);
  return text;
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

const digestOf = (ref: string): string => ref.split('@')[1]!;

describe('docker driver', () => {
  it('pulls by digest once, and refuses a digest the registry does not have', async () => {
    expect(await stageDocker(docker, images['v0.1.0']!)).toEqual({ action: 'pulled' });
    expect(await stageDocker(docker, images['v0.1.0']!)).toEqual({ action: 'present' });
    const bogus = `${images['v0.1.0']!.split('@')[0]}@sha256:${'0'.repeat(64)}`;
    const f = await failureOf(stageDocker(docker, bogus));
    expect(f.type).toBe(FailureType.DigestMismatch);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(`image ${bogus} is not in the registry`);
  });

  it('activates, and activating again with the same identity and config is a no-op', async () => {
    expect(await detectDocker(docker, SVC)).toMatchObject({ present: false, running: false, previous: null });
    const first = await activateDocker(docker, SVC, config('v0.1.0', 'hello'));
    expect(first).toMatchObject({ action: 'created', previous: null });
    expect(await served()).toMatch(/^v0\.1\.0\n[\s\S]*GREETING=hello/);
    expect(await detectDocker(docker, SVC)).toMatchObject({
      present: true,
      running: true,
      containerId: first.containerId,
      imageDigest: digestOf(images['v0.1.0']!),
      version: 'v0.1.0',
      configHash: config('v0.1.0', 'hello').configHash,
    });
    const again = await activateDocker(docker, SVC, config('v0.1.0', 'hello'));
    expect(again).toEqual({ action: 'none', containerId: first.containerId, previous: null });
  });

  it('replaces the container keeping the old one, and rolls back to it', async () => {
    const before = await detectDocker(docker, SVC);
    await stageDocker(docker, images['v0.2.0']!);
    const up = await activateDocker(docker, SVC, config('v0.2.0', 'hej'));
    expect(up.action).toBe('replaced');
    expect(up.previous).toMatchObject({ containerId: before.containerId, running: false, version: 'v0.1.0' });
    expect(await served()).toMatch(/^v0\.2\.0\n[\s\S]*GREETING=hej/);

    const back = await rollbackDocker(docker, SVC, { imageDigest: before.imageDigest! });
    expect(back).toMatchObject({ action: 'rolled-back', containerId: before.containerId, version: 'v0.1.0' });
    expect(await served()).toMatch(/^v0\.1\.0\n[\s\S]*GREETING=hello/);
    const now = await detectDocker(docker, SVC);
    expect(now).toMatchObject({ containerId: before.containerId, running: true, previous: null });
    expect((await docker.listContainers({ all: true })).map((c) => c.Names[0])).toEqual([`/frameworks-${SVC}`]);

    // Retried after it already happened: converges instead of failing; without a target it cannot know.
    expect((await rollbackDocker(docker, SVC, { imageDigest: before.imageDigest! })).action).toBe('none');
    expect((await failureOf(rollbackDocker(docker, SVC))).type).toBe(FailureType.RollbackUnavailable);
  });

  it('finalizes by removing the kept container', async () => {
    await activateDocker(docker, SVC, config('v0.2.0', 'hej'));
    expect((await detectDocker(docker, SVC)).previous).not.toBeNull();
    expect(await finalizeDocker(docker, SVC)).toEqual({ removed: true });
    expect(await finalizeDocker(docker, SVC)).toEqual({ removed: false });
    await expect(docker.getContainer(previousContainerName(SVC)).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('docker over ssh', () => {
  let sshd: TestSshd;
  let key: string;

  beforeAll(async () => {
    sshd = await startSshd();
    // The driver runs `docker system dial-stdio` on the host; this host's dockerd is the private one above, so
    // a forced command for a dedicated key points the docker CLI at its socket.
    const k = generateEd25519(sshd.dir, 'docker_client');
    const docker_ = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
    appendFileSync(
      join(sshd.dir, 'authorized_keys'),
      `command="${docker_} -H unix://${sock} system dial-stdio" ${k.publicLine}\n`,
    );
    key = k.privateKey;
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  const overSsh = (knownHosts: string): Docker =>
    dockerOverSsh({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: key, knownHosts });

  it('detects through the pinned SSH connection', async () => {
    const remote = overSsh(sshd.knownHostsLine);
    expect(await detectDocker(remote, SVC)).toMatchObject({
      present: true,
      running: true,
      version: 'v0.2.0',
      imageDigest: digestOf(images['v0.2.0']!),
    });
  });

  it('refuses a host whose key is not the pinned one', async () => {
    const other = generateEd25519(sshd.dir, 'not_the_host');
    const remote = overSsh(`[${sshd.host}]:${sshd.port} ${other.type} ${other.blob}`);
    const f = await failureOf(detectDocker(remote, SVC));
    expect(f.type).toBe(FailureType.HostKeyMismatch);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('which is not the pinned key');
  });
});
