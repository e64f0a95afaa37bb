// withHostSsh against a REAL sshd on loopback, configured only through a FrameWorks cluster: address and user from
// the hosts file, port and user from an ssh_config alias, identity file / known_hosts from orchestrator.yaml (paths
// relative to its folder, `~` allowed).
// Unknown and changed host keys are refused before fn runs; settings problems name the key to fix; no error
// carries the private key.
import { ApplicationFailure } from '@temporalio/common';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadClusterConfig, type LoadedCluster } from '../../src/activities/cluster-config';
import { closeHostSessions, serviceHost, withHostSsh } from '../../src/activities/hosts/ssh-session';
import { idleSshCount, poolKey, setSshIdleMs, SSH_IDLE_ENV, sshIdleMs } from '../../src/activities/ssh/pool';
import { exec, type SshConnection } from '../../src/activities/ssh/client';
import { FailureType } from '../../src/errors';
import { writeFwCluster } from '../helpers/fixtures';
import { generateEd25519, startSshd, type TestSshd } from '../helpers/sshd';

let sshd: TestSshd;
let work: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'fw-ssh-session-'));
});
afterEach(async () => {
  setSshIdleMs(undefined);
  delete process.env[SSH_IDLE_ENV];
  await closeHostSessions();
});
afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface ClusterFiles {
  identityFile?: string;
  knownHosts?: string;
  /** Written to <dir>/keys/id_ed25519 unless null (a missing identity file). */
  privateKey?: string | null;
  /** Written to <dir>/known_hosts. */
  knownHostsText?: string;
}

/**
 * A FrameWorks cluster in a fresh folder whose hosts are the test sshd (reached through ssh_config aliases, as the
 * reference reaches a host on another port than 22); returns it loaded as the worker would.
 */
async function cluster(files: ClusterFiles = {}): Promise<LoadedCluster> {
  const dir = mkdtempSync(join(work, 'cluster-'));
  mkdirSync(join(dir, 'keys'));
  if (files.privateKey !== null) {
    writeFileSync(join(dir, 'keys', 'id_ed25519'), files.privateKey ?? sshd.privateKey, { mode: 0o600 });
  }
  writeFileSync(join(dir, 'known_hosts'), files.knownHostsText ?? `${sshd.knownHostsLine}\n`);
  const host = { address: sshd.host, port: sshd.port, user: sshd.user };
  const manifest = writeFwCluster(dir, {
    name: 'ssh-session',
    hosts: { edge1: host, edge2: host },
    services: { foghorn: { mode: 'native', hosts: ['edge2', 'edge1'] }, bridge: { mode: 'native', hosts: ['edge1'] } },
    identityFile: files.identityFile ?? 'keys/id_ed25519',
    knownHosts: files.knownHosts ?? './known_hosts',
  });
  return loadClusterConfig(manifest);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

/** The client port sshd reports for the session a step runs on (same port: same TCP connection). */
async function clientPort(c: LoadedCluster): Promise<string> {
  const r = await withHostSsh(c, 'edge1', (conn) =>
    exec(conn, ['sh', '-c', 'echo "$SSH_CONNECTION"'], { timeoutMs: 10_000 }),
  );
  const port = r.stdout.trim().split(' ')[1];
  expect(port).toMatch(/^\d+$/);
  return port!;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(cond()).toBe(true);
}

const KEY_MATERIAL = /PRIVATE KEY|b3BlbnNzaC1rZXktdjE/;

describe('withHostSsh', () => {
  it('connects with the settings of cluster.yaml, runs fn, and keeps the session for the next step to the host', async () => {
    let kept: SshConnection | undefined;
    const out = await withHostSsh(await cluster(), 'edge1', async (conn) => {
      kept = conn;
      return exec(conn, ['echo', 'from', 'edge1'], { timeoutMs: 10_000 });
    });
    expect(out).toMatchObject({ code: 0, stdout: 'from edge1\n' });
    expect(idleSshCount()).toBe(1);
    // The next step (another activity, another cluster load of the same settings) runs on the same TCP connection:
    // sshd reports the same client port.
    const first = await clientPort(await cluster());
    expect(await clientPort(await cluster())).toBe(first);
    // The worker's shutdown closes what is idle: the session cannot start another command.
    await closeHostSessions();
    expect(idleSshCount()).toBe(0);
    await expect(exec(kept!, ['true'], { timeoutMs: 5_000 })).rejects.toThrow();
    expect(await clientPort(await cluster())).not.toBe(first);
  });

  it(`closes after every step when ${SSH_IDLE_ENV}=0 (no reuse)`, async () => {
    process.env[SSH_IDLE_ENV] = '0';
    let kept: SshConnection | undefined;
    await withHostSsh(await cluster(), 'edge1', (conn) => {
      kept = conn;
      return exec(conn, ['true'], { timeoutMs: 10_000 });
    });
    expect(idleSshCount()).toBe(0);
    await expect(exec(kept!, ['true'], { timeoutMs: 5_000 })).rejects.toThrow();
  });

  it('closes the session when fn throws, and passes the error through unchanged', async () => {
    let kept: SshConnection | undefined;
    const boom = new Error('fn failed');
    const err = await rejection(
      withHostSsh(await cluster(), 'edge1', (conn) => {
        kept = conn;
        return Promise.reject(boom);
      }),
    );
    expect(err).toBe(boom);
    expect(idleSshCount()).toBe(0);
    await expect(exec(kept!, ['true'], { timeoutMs: 5_000 })).rejects.toThrow();
  });

  it('closes an idle session after the idle time', async () => {
    setSshIdleMs(300);
    let kept: SshConnection | undefined;
    await withHostSsh(await cluster(), 'edge1', (conn) => {
      kept = conn;
      return exec(conn, ['true'], { timeoutMs: 10_000 });
    });
    expect(idleSshCount()).toBe(1);
    await until(() => idleSshCount() === 0);
    await expect(exec(kept!, ['true'], { timeoutMs: 5_000 })).rejects.toThrow();
  });

  it('never hands out a session whose transport ended while it was idle', async () => {
    let kept: SshConnection | undefined;
    await withHostSsh(await cluster(), 'edge1', (conn) => {
      kept = conn;
      return exec(conn, ['true'], { timeoutMs: 10_000 });
    });
    const before = await clientPort(await cluster());
    kept!.client.destroy(); // as when the host drops the connection (reboot, sshd restart, network cut)
    await until(() => idleSshCount() === 0);
    const after = await clientPort(await cluster());
    expect(after).not.toBe(before);
  });

  it('reuses nothing once known_hosts or the identity changed: the host key is verified again', async () => {
    const port = await clientPort(await cluster());
    expect(idleSshCount()).toBe(1);
    // A session is idle, yet known_hosts no longer pins the host: refused, fn never runs.
    let ran = false;
    const err = await rejection(
      withHostSsh(await cluster({ knownHostsText: '# nothing pinned yet\n' }), 'edge1', () => {
        ran = true;
        return Promise.resolve();
      }),
    );
    expect(ran).toBe(false);
    expect((err as ApplicationFailure).type).toBe(FailureType.HostKeyMismatch);
    // Edited (still pinning the host): a new connection, verified against the new text.
    const edited = await cluster({ knownHostsText: `# re-pinned\n${sshd.knownHostsLine}\n` });
    expect(await clientPort(edited)).not.toBe(port);
    expect(idleSshCount()).toBe(2);
    // The pool keeps digests of the settings, never the key itself.
    expect(poolKey({ host: 'h', port: 22, username: 'u', privateKey: sshd.privateKey, knownHosts: '' })).toMatch(
      /^[0-9a-f]{64}$/,
    );
  });

  it(`refuses a bad ${SSH_IDLE_ENV} with the setting named`, () => {
    process.env[SSH_IDLE_ENV] = 'soon';
    expect(() => sshIdleMs()).toThrow(`${SSH_IDLE_ENV}=soon: expected seconds from 0 (no reuse) to 3600`);
    process.env[SSH_IDLE_ENV] = '-1';
    expect(() => sshIdleMs()).toThrow(SSH_IDLE_ENV);
    process.env[SSH_IDLE_ENV] = '2.5';
    expect(sshIdleMs()).toBe(2500);
  });

  it('expands ~ in ssh.identity_file to the home directory of the worker', async () => {
    const home = mkdtempSync(join(work, 'home-'));
    writeFileSync(join(home, 'fw_key'), sshd.privateKey, { mode: 0o600 });
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      const r = await withHostSsh(await cluster({ identityFile: '~/fw_key' }), 'edge1', (c) =>
        exec(c, ['echo', 'ok'], { timeoutMs: 10_000 }),
      );
      expect(r.stdout).toBe('ok\n');
    } finally {
      process.env.HOME = saved;
    }
  });

  it('refuses a host whose key is not in known_hosts (HostKeyMismatch, fn never runs)', async () => {
    let ran = false;
    const err = await rejection(
      withHostSsh(await cluster({ knownHostsText: '# nothing pinned yet\n' }), 'edge1', () => {
        ran = true;
        return Promise.resolve();
      }),
    );
    expect(ran).toBe(false);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(FailureType.HostKeyMismatch);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect(err.message).toContain('unknown host');
    expect(err.message).toContain('known_hosts');
  });

  it('refuses a host that presents a different key than the pinned one', async () => {
    const other = generateEd25519(mkdtempSync(join(work, 'other-')), 'impostor');
    const pinned = `[${sshd.host}]:${sshd.port} ${other.type} ${other.blob}\n`;
    const err = await rejection(
      withHostSsh(await cluster({ knownHostsText: pinned }), 'edge1', () => Promise.resolve()),
    );
    expect((err as ApplicationFailure).type).toBe(FailureType.HostKeyMismatch);
    expect(err.message).toContain('HOST KEY CHANGED');
  });

  it('names the cluster.yaml key when the identity or known_hosts file is missing', async () => {
    const noKey = await rejection(withHostSsh(await cluster({ privateKey: null }), 'edge1', () => Promise.resolve()));
    expect((noKey as ApplicationFailure).type).toBe(FailureType.InvalidInput);
    expect(noKey.message).toMatch(/cannot read .*keys\/id_ed25519 \(.*ssh\.identity_file\): ENOENT/);

    const noKh = await rejection(
      withHostSsh(await cluster({ knownHosts: 'nowhere/known_hosts' }), 'edge1', () => Promise.resolve()),
    );
    expect(noKh.message).toMatch(/nowhere\/known_hosts \(.*ssh\.known_hosts\): ENOENT/);

    const noHost = await rejection(withHostSsh(await cluster(), 'edge9', () => Promise.resolve()));
    expect(noHost.message).toContain('host "edge9" is not declared');
  });

  it('never puts the private key into an error (unauthorized key, corrupt key)', async () => {
    const stranger = generateEd25519(mkdtempSync(join(work, 'stranger-')), 'stranger');
    const denied = await rejection(
      withHostSsh(await cluster({ privateKey: stranger.privateKey }), 'edge1', () => Promise.resolve()),
    );
    expect(denied.message).toMatch(/authentication/i);
    expect(denied.message).not.toMatch(KEY_MATERIAL);

    const lines = sshd.privateKey.split('\n');
    const corrupt = [lines[0], ...lines.slice(1, -3).map((l) => l.replace(/[A-M]/g, '#')), ...lines.slice(-3)].join(
      '\n',
    );
    const broken = await rejection(
      withHostSsh(await cluster({ privateKey: corrupt }), 'edge1', () => Promise.resolve()),
    );
    expect(broken.message).not.toMatch(KEY_MATERIAL);
    for (const line of lines.filter((l) => l.length > 20)) expect(broken.message).not.toContain(line);
  });
});

describe('serviceHost', () => {
  it('is the first host of the service in manifest order; undefined when the cluster does not deploy it', async () => {
    const c = await cluster();
    expect(serviceHost(c, 'foghorn')).toBe('edge2');
    expect(serviceHost(c, 'bridge')).toBe('edge1');
    expect(serviceHost(c, 'purser')).toBeUndefined();
    expect(serviceHost(c, 'constructor')).toBeUndefined();
  });
});
