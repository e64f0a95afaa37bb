// The SSH client against a REAL sshd on loopback (test/helpers/sshd.ts): pinned host keys, refusals of unknown
// and changed keys, exit codes reported (not thrown), hostile argv, atomic SFTP uploads, timeouts, secrets.
import { ApplicationFailure } from '@temporalio/common';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectSsh, exec, SshError, uploadFile, type SshConnection } from '../../src/activities/ssh/client';
import { FailureType } from '../../src/errors';
import { generateEd25519, startSshd, type TestSshd } from '../helpers/sshd';
import { waitFor } from '../helpers/wait';

let sshd: TestSshd;
let conn: SshConnection;
let work: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'fw-ssh-test-'));
  conn = await connect(sshd.knownHostsLine);
});
afterAll(async () => {
  await conn?.close();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function connect(knownHosts: string, privateKey = sshd.privateKey): Promise<SshConnection> {
  return connectSsh({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey,
    knownHosts,
    knownHostsFile: '/etc/frameworks/known_hosts',
    readyTimeoutMs: 10_000,
  });
}

async function refusal(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

/** The fingerprint as OpenSSH prints it, to prove ours is the same one an operator sees. */
function opensshFingerprint(line: string): string {
  const file = join(work, `fp-${Math.random().toString(16).slice(2)}.pub`);
  writeFileSync(file, `${line.split(' ').slice(1).join(' ')}\n`);
  return execFileSync('ssh-keygen', ['-lf', file], { encoding: 'utf8' }).split(' ')[1]!;
}

describe('host key pinning', () => {
  it('connects when known_hosts pins the host key', async () => {
    const r = await exec(conn, ['echo', 'hello'], { timeoutMs: 10_000 });
    expect(r).toEqual({ code: 0, signal: null, stdout: 'hello\n', stderr: '' });
  });

  it('turns Nagle off on the connection: a command is not held back waiting for a delayed ACK', async () => {
    // Measured in the lab: `true` on a kept session took ~48 ms with Nagle on, ~4 ms with TCP_NODELAY (bench
    // results, upgrade-lab). Node cannot read the socket option back, so the call itself is what is checked.
    const setNoDelay = vi.spyOn(Client.prototype, 'setNoDelay');
    try {
      const c = await connectSsh({
        host: sshd.host,
        port: sshd.port,
        username: sshd.user,
        privateKey: sshd.privateKey,
        knownHosts: sshd.knownHostsLine,
      });
      expect(setNoDelay.mock.calls).toEqual([[true]]);
      expect(setNoDelay.mock.contexts[0]).toBe(c.client);
      await c.close();
    } finally {
      setNoDelay.mockRestore();
    }
  });

  it('refuses an unknown host (empty known_hosts) with HostKeyMismatch naming key, fingerprint and fix', async () => {
    const f = await refusal(connect(''));
    expect(f.type).toBe(FailureType.HostKeyMismatch);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(`127.0.0.1:${sshd.port}`);
    expect(f.message).toContain('ssh-ed25519');
    expect(f.message).toContain(opensshFingerprint(sshd.knownHostsLine));
    expect(f.message).toContain('/etc/frameworks/known_hosts');
    expect(f.message).toContain('cluster.yaml');
    expect(f.message).toContain(sshd.knownHostsLine);
    expect(f.message).not.toContain('PRIVATE KEY');
  });

  it('refuses a changed host key, naming the pinned line and both fingerprints', async () => {
    const other = generateEd25519(work, 'impostor');
    const pinned = `[127.0.0.1]:${sshd.port} ${other.type} ${other.blob}`;
    const f = await refusal(connect(`# lab\n${pinned}\n`));
    expect(f.type).toBe(FailureType.HostKeyMismatch);
    expect(f.message).toMatch(/HOST KEY CHANGED/);
    expect(f.message).toContain('line 2');
    expect(f.message).toContain(opensshFingerprint(pinned));
    expect(f.message).toContain(opensshFingerprint(sshd.knownHostsLine));
  });

  it('refuses a host that offers no key of the pinned type (no silent fallback to another type)', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', join(work, 'ecdsa')]);
    const ecdsa = readFileSync(join(work, 'ecdsa.pub'), 'utf8').trim().split(' ');
    const f = await refusal(connect(`[127.0.0.1]:${sshd.port} ${ecdsa[0]} ${ecdsa[1]}\n`));
    expect(f.type).toBe(FailureType.HostKeyMismatch);
    expect(f.message).toMatch(/offers no key of the pinned type\(s\) ecdsa-sha2-nistp256/);
  });

  it('refuses a key pinned for another port of the same address', async () => {
    const f = await refusal(connect(`127.0.0.1 ${sshd.hostKeyType} ${sshd.hostKeyBlob}\n`));
    expect(f.type).toBe(FailureType.HostKeyMismatch);
    expect(f.message).toMatch(/unknown host/);
  });

  it('keeps the private key out of authentication errors', async () => {
    const stranger = generateEd25519(work, 'stranger');
    const err = await connect(sshd.knownHostsLine, stranger.privateKey).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshError);
    expect((err as Error).message).toContain(`127.0.0.1:${sshd.port}`);
    expect((err as Error).message).not.toContain(stranger.privateKey.split('\n')[1]!);

    const broken = `${sshd.privateKey.slice(0, 120)}garbage`;
    const err2 = await connect(sshd.knownHostsLine, broken).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(SshError);
    expect((err2 as Error).message).not.toContain(broken.split('\n')[1]!.slice(0, 40));
  });
});

describe('exec', () => {
  it('returns non-zero exit codes and stderr without throwing', async () => {
    expect((await exec(conn, ['sh', '-c', 'echo oops >&2; exit 3'], { timeoutMs: 10_000 })).code).toBe(3);
    const missing = await exec(conn, ['test', '-f', join(work, 'no-such-marker')], { timeoutMs: 10_000 });
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: '' });
    const notFound = await exec(conn, ['fw-no-such-command-xyz', 'data-migrations'], { timeoutMs: 10_000 });
    expect(notFound.code).toBe(127);
    expect(notFound.stderr).toMatch(/not found/);
    const err = await exec(conn, ['sh', '-c', 'echo oops >&2; exit 3'], { timeoutMs: 10_000 });
    expect(err.stderr).toBe('oops\n');
  });

  it('round-trips hostile argv exactly through the remote shell', async () => {
    const pwned = join(work, 'pwned');
    const hostile = [
      '',
      'two words',
      "it's",
      '"dq"',
      `$(touch ${pwned})`,
      `\`touch ${pwned}\``,
      '${HOME}',
      'a\\b',
      'line1\nline2',
      '*',
      '~',
      `; touch ${pwned}`,
      '|&<>',
      '-n',
      '--',
      'A=b',
      'ünïcødé ✓',
      `x'; touch ${pwned}; echo '`,
    ];
    const r = await exec(conn, ['printf', '%s\\0', ...hostile], { timeoutMs: 10_000 });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(hostile);
    expect(readdirSync(work)).not.toContain('pwned');
  });

  it('feeds stdin and always closes it', async () => {
    expect((await exec(conn, ['cat'], { timeoutMs: 10_000, stdin: 'piped' })).stdout).toBe('piped');
    expect((await exec(conn, ['cat'], { timeoutMs: 10_000 })).stdout).toBe('');
  });

  it('times out a slow command as a (retryable) transport error', async () => {
    const started = Date.now();
    await expect(exec(conn, ['sleep', '5'], { timeoutMs: 500 })).rejects.toThrow(/timed out after 500 ms/);
    expect(Date.now() - started).toBeLessThan(3_000);
    // The connection stays usable after a timed-out channel.
    expect((await exec(conn, ['true'], { timeoutMs: 10_000 })).code).toBe(0);
  });
});

describe('killOnClose (long remote commands)', () => {
  /** A remote command that records the pid of a long child, for the test to watch. */
  const slow = (pidFile: string): string[] => ['sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`];
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const pidIn = (file: string): Promise<number> =>
    waitFor(`${file}`, () => Number(readFileSync(file, 'utf8').trim()) || undefined);

  it('reports exit code and output as without it', async () => {
    const r = await exec(conn, ['sh', '-c', 'echo out; echo err >&2; exit 4'], {
      timeoutMs: 10_000,
      killOnClose: true,
    });
    expect(r).toEqual({ code: 4, signal: null, stdout: 'out\n', stderr: 'err\n' });
  });

  it('kills the remote command and its children when the command times out', async () => {
    const pidFile = join(work, 'slow-timeout.pid');
    const run = exec(conn, slow(pidFile), { timeoutMs: 1_500, killOnClose: true });
    const pid = await pidIn(pidFile);
    await expect(run).rejects.toThrow(/timed out/);
    await waitFor(`remote sleep ${pid} to be killed`, () => !alive(pid), { timeoutMs: 10_000 });
  });

  it('kills the remote command when the session is torn down (a cancelled activity, a dead worker)', async () => {
    const other = await connect(sshd.knownHostsLine);
    const pidFile = join(work, 'slow-drop.pid');
    const run = exec(other, slow(pidFile), { timeoutMs: 60_000, killOnClose: true });
    const pid = await pidIn(pidFile);
    other.client.destroy();
    await expect(run).rejects.toThrow(SshError);
    await waitFor(`remote sleep ${pid} to be killed`, () => !alive(pid), { timeoutMs: 10_000 });
  });
});

describe('uploadFile', () => {
  it('lands the file with the mode, replacing the old one atomically and leaving no temp file', async () => {
    const local = join(work, 'local.bin');
    const dest = join(work, 'remote-dir');
    execFileSync('mkdir', ['-p', dest]);
    const target = join(dest, 'svc.tar.gz');
    writeFileSync(target, 'old contents');
    // A second name for the old inode: after a rename-based replace it still holds the old bytes, whereas an
    // in-place rewrite (what a partial upload would look like to a reader) would change them.
    linkSync(target, join(dest, 'old-inode'));
    const payload = Buffer.alloc(300_000, 7);
    writeFileSync(local, payload);

    await uploadFile(conn, local, target, 0o640);

    expect(readFileSync(target).equals(payload)).toBe(true);
    expect(statSync(target).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(dest, 'old-inode'), 'utf8')).toBe('old contents');
    expect(readdirSync(dest).sort()).toEqual(['old-inode', 'svc.tar.gz']);

    await uploadFile(conn, local, join(dest, 'script.sh'), 0o755);
    expect(statSync(join(dest, 'script.sh')).mode & 0o777).toBe(0o755);
  });

  it('fails clearly and cleans up when the target directory does not exist', async () => {
    const local = join(work, 'local2.bin');
    writeFileSync(local, 'x');
    await expect(uploadFile(conn, local, join(work, 'missing-dir', 'f'), 0o644)).rejects.toThrow(
      /sftp 127\.0\.0\.1:\d+: upload/,
    );
  });
});
