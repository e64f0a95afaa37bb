// A REAL Debian sshd on 127.0.0.1 for integration tests (SPEC §11: no mocked SSH). Everything lives in one temp
// directory: a fresh ed25519 host key (so tests pin a known key), a client key in authorized_keys, a minimal
// sshd_config. sshd runs in the foreground (`-D -e`) as our child and is stopped by its pid, never by name.
//
// Recipe: reference/infra-recipes.md §1. `/run/sshd` must exist (sshd's privilege-separation directory);
// Debian's openssh-server package does not create it until the service first starts, and apt never starts it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';

export interface TestSshd {
  host: string;
  port: number;
  /** The current user: sshd without privilege can only log in the user it runs as; as root, root. */
  user: string;
  /** Client private key (OpenSSH format, no passphrase) authorized for `user`. */
  privateKey: string;
  /** `[127.0.0.1]:N ssh-ed25519 AAAA…` — the pinned host key line for a known_hosts file. */
  knownHostsLine: string;
  /** Host key type and base64 blob (for building other known_hosts variants). */
  hostKeyType: string;
  hostKeyBlob: string;
  /** The temp directory holding keys and config; removed by stop(). */
  dir: string;
  /** sshd's stderr so far (its -e log), for diagnosing a failed test. */
  log(): string;
  stop(): Promise<void>;
}

export interface KeyPair {
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment` */
  publicLine: string;
  type: string;
  blob: string;
}

/** A fresh passphrase-less ed25519 key pair written to `<dir>/<name>` by ssh-keygen. */
export function generateEd25519(dir: string, name: string): KeyPair {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file], { stdio: 'ignore' });
  const publicLine = readFileSync(`${file}.pub`, 'utf8').trim();
  const [type, blob] = publicLine.split(' ') as [string, string];
  return { privateKey: readFileSync(file, 'utf8'), publicLine, type, blob };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function waitForListening(child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`sshd did not start within ${timeoutMs} ms:\n${stderr()}`)),
      timeoutMs,
    );
    const onData = (): void => {
      if (/Server listening on/.test(stderr())) done();
    };
    const onExit = (code: number | null): void =>
      done(new Error(`sshd exited (${code}) before listening:\n${stderr()}`));
    function done(err?: Error): void {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    }
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid!, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

export async function startSshd(
  options: {
    readyTimeoutMs?: number;
    /** More sshd_config lines (e.g. `SetEnv PATH=…` to put a test's commands first on the sessions' PATH). */
    extraConfig?: string[];
  } = {},
): Promise<TestSshd> {
  if (!existsSync(SSHD)) {
    throw new Error(
      `${SSHD} not found: SSH integration tests need a real sshd. Install it with ` +
        '`apt-get install -y openssh-server` (.ci/run does this).',
    );
  }
  try {
    mkdirSync('/run/sshd', { recursive: true });
  } catch (err) {
    throw new Error(`cannot create /run/sshd (sshd's privilege-separation directory; run as root): ${String(err)}`, {
      cause: err,
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'fw-sshd-'));
  try {
    const hostKey = generateEd25519(dir, 'host_ed25519');
    const client = generateEd25519(dir, 'client_ed25519');
    writeFileSync(join(dir, 'authorized_keys'), `${client.publicLine}\n`, { mode: 0o600 });
    const user = userInfo().username;

    // A port can be taken between probing and binding; retry a few times on that race only.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const config = join(dir, 'sshd_config');
      writeFileSync(
        config,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${join(dir, 'host_ed25519')}`,
          `PidFile ${join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PermitRootLogin prohibit-password',
          'UsePAM no',
          // The temp dir is world-readable under /tmp; StrictModes would reject authorized_keys there.
          'StrictModes no',
          'Subsystem sftp internal-sftp',
          'LogLevel INFO',
          ...(options.extraConfig ?? []),
          '',
        ].join('\n'),
      );
      let stderr = '';
      const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        // Keep the log bounded: a long test run must not grow it without limit.
        stderr = (stderr + d).slice(-64_000);
      });
      try {
        await waitForListening(child, () => stderr, options.readyTimeoutMs ?? 10_000);
      } catch (err) {
        await stopChild(child);
        if (attempt < 3 && /Address already in use/.test(stderr)) continue;
        throw err;
      }
      // If the test process dies without calling stop(), do not leave an sshd behind.
      const onExit = (): void => {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      };
      process.once('exit', onExit);
      return {
        host: '127.0.0.1',
        port,
        user,
        privateKey: client.privateKey,
        knownHostsLine: `[127.0.0.1]:${port} ${hostKey.type} ${hostKey.blob}`,
        hostKeyType: hostKey.type,
        hostKeyBlob: hostKey.blob,
        dir,
        log: () => stderr,
        stop: async () => {
          process.off('exit', onExit);
          await stopChild(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
