// A small promise wrapper over ssh2 for activities: connect with a PINNED host key, run argv, upload a file.
//
// Decisions:
// - Host keys are checked against the operator's known_hosts (cluster.yaml `ssh.known_hosts`) and unknown or
//   changed keys are refused with a non-retryable HostKeyMismatch: there is no trust-on-first-use, because the
//   worker is unattended and nobody could answer the question. Negotiation is restricted to the pinned key
//   types (as OpenSSH orders them), so a host pinned by its RSA key is not refused for offering ed25519 first.
// - `exec` reports the exit code and never throws for a non-zero one. The reference CLI turned every non-zero
//   exit into a transport error, which made "marker missing" (test -f ⇒ 1) and "command not found" (127)
//   indistinguishable from a dead host (reference §10 item 11). Only transport failures and timeouts throw.
// - argv is quoted by the one helper in ./quote; the remote login shell must be POSIX (sh, dash, bash, zsh).
// - A long command (`killOnClose`) dies with its channel: a timeout, the activity's cancellation or a dead worker
//   closes the channel, and a watcher on the host kills the command's process group, so it never runs on beside the
//   next attempt of its step.
// - Secrets (the private key text, a passphrase) are scrubbed from every message that leaves this module.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { Client, type ConnectConfig, type ServerHostKeyAlgorithm, type SFTPWrapper } from 'ssh2';
import { errorMessage, FailureType } from '../../errors';
import { failure } from '../failures';
import {
  keyTypeOfBlob,
  lookupHost,
  parseKnownHosts,
  sha256Fingerprint,
  verdictFor,
  type HostLookup,
  type KnownHosts,
} from './known-hosts';
import { shellCommand } from '../../domain/hosts/shell-quote';
import { reportProgress } from '../heartbeat';

export interface ConnectOptions {
  host: string;
  port: number;
  username: string;
  /** Private key text (OpenSSH or PEM). Never logged, never part of an error. */
  privateKey: string;
  passphrase?: string;
  knownHosts: string;
  /** Where the known_hosts text came from, named in refusals (the path from cluster.yaml `ssh.known_hosts`). */
  knownHostsFile?: string;
  readyTimeoutMs?: number;
}

export interface SshConnection {
  /** `host:port`, for messages. */
  readonly target: string;
  readonly client: Client;
  close(): Promise<void>;
}

export interface ExecResult {
  /** Remote exit status; null when the command ended by a signal or the channel closed without a status. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  timeoutMs: number;
  stdin?: string | Buffer;
  /** Cap per stream; exceeding it aborts the command (a runaway remote must not exhaust the worker). */
  maxOutputBytes?: number;
  /**
   * Kill the remote command (its whole process group) when the channel closes before it ends: a timeout here, the
   * activity's cancellation (withHostSsh tears the session down) or a dead worker (sshd drops the session). For
   * long commands (unpack, checksum) that must not run on beside the next attempt. Not with `stdin`: the channel's
   * stdin is what tells the host the channel closed.
   */
  killOnClose?: boolean;
}

/** A transport-level SSH failure (connect, channel, timeout): retryable, unlike HostKeyMismatch. */
export class SshError extends Error {
  override readonly name = 'SshError';
}

// ssh2 names RSA signature algorithms separately from the `ssh-rsa` key type they all use; the others match.
const RSA_ALGORITHMS: ServerHostKeyAlgorithm[] = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
const SAME_NAME = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521']);

function pinnedAlgorithms(found: HostLookup): ServerHostKeyAlgorithm[] | undefined {
  const algos = found.keys.flatMap(({ keyType: t }) =>
    t === 'ssh-rsa' ? RSA_ALGORITHMS : SAME_NAME.has(t) ? [t as ServerHostKeyAlgorithm] : [],
  );
  return algos.length > 0 ? [...new Set(algos)] : undefined;
}

function scrubber(secrets: (string | undefined)[]): (text: string) => string {
  const values = secrets.filter((s): s is string => !!s && s.length >= 4);
  return (text) => {
    let out = text;
    for (const s of values) out = out.split(s).join('[redacted]');
    // Belt and braces: never let a key block through, whatever produced it.
    return out.replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[redacted]');
  };
}

function hostKeyRefusal(opts: ConnectOptions, kh: KnownHosts, found: HostLookup, presented?: Buffer): Error {
  const where = `${opts.knownHostsFile ?? 'the known_hosts file'} (ssh.known_hosts in cluster.yaml)`;
  const target = `${opts.host}:${opts.port}`;
  const refuse = (message: string): Error => failure(FailureType.HostKeyMismatch, message);
  if (!presented) {
    const pinned = [...new Set(found.keys.map((k) => k.keyType))].join(', ');
    return refuse(
      `host key verification failed for ${target}: the host offers no key of the pinned type(s) ${pinned} ` +
        `(${where}). If the host was re-keyed, replace its line(s) for ${found.name} with the host's current key.`,
    );
  }
  const type = keyTypeOfBlob(presented) ?? 'unknown-type';
  const fp = sha256Fingerprint(presented);
  const line = `${found.name} ${type} ${presented.toString('base64')}`;
  const onHost = `ssh-keygen -lf /etc/ssh/ssh_host_${type.replace(/^ssh-|-.*$/g, '')}_key.pub`;
  const revoked = found.revoked.find((e) => e.key.equals(presented));
  if (revoked) {
    return refuse(
      `host key verification failed for ${target}: the presented ${type} key ${fp} is marked @revoked at line ` +
        `${revoked.line} of ${where}. Refusing to connect; re-key the host and pin its new key.`,
    );
  }
  if (found.keys.length > 0) {
    const pinned = found.keys.map((k) => `line ${k.line}: ${k.keyType} ${sha256Fingerprint(k.key)}`).join('; ');
    return refuse(
      `HOST KEY CHANGED for ${target}: presented ${type} ${fp}, but ${where} pins ${pinned}. This may be a ` +
        `man-in-the-middle. If the host was legitimately re-keyed, check the fingerprint on the host (${onHost}), ` +
        `then replace those line(s) with:\n${line}`,
    );
  }
  const notes = [
    ...(found.certAuthorities.length > 0
      ? [
          `only @cert-authority lines cover it (line ${found.certAuthorities[0]!.line}); host certificates are not accepted`,
        ]
      : []),
    ...(kh.issues.length > 0
      ? [`${kh.issues.length} malformed line(s) skipped, first: line ${kh.issues[0]!.line}`]
      : []),
  ];
  return refuse(
    `host key verification failed for ${target}: unknown host, presented ${type} ${fp}; no key for ${found.name} in ` +
      `${where}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}. Check the fingerprint on the host (${onHost}), ` +
      `then add this line:\n${line}`,
  );
}

export function connectSsh(opts: ConnectOptions): Promise<SshConnection> {
  const target = `${opts.host}:${opts.port}`;
  const scrub = scrubber([opts.privateKey, opts.passphrase]);
  const kh = parseKnownHosts(opts.knownHosts);
  const found = lookupHost(kh, opts.host, opts.port);
  let refusal: Error | undefined;

  const client = new Client();
  const config: ConnectConfig = {
    host: opts.host,
    port: opts.port,
    username: opts.username,
    privateKey: opts.privateKey,
    ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}),
    readyTimeout: opts.readyTimeoutMs ?? 20_000,
    // Detect a dead peer during long commands instead of waiting for the activity timeout.
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    hostVerifier: (key: Buffer): boolean => {
      const type = keyTypeOfBlob(key) ?? '';
      if (verdictFor(found, type, key) === 'match') return true;
      refusal = hostKeyRefusal(opts, kh, found, key);
      return false;
    },
  };
  const algorithms = pinnedAlgorithms(found);
  if (algorithms) config.algorithms = { serverHostKey: algorithms };

  return new Promise((resolve, reject) => {
    let settled = false;
    const onError = (err: Error): void => {
      // A refused handshake can raise a second error (e.g. ECONNRESET as the socket closes); only the first
      // one settles, the rest must still have a listener or they would crash the process.
      if (settled) return;
      settled = true;
      client.end();
      if (refusal) reject(refusal);
      else if (algorithms && /no matching host key/i.test(err.message)) reject(hostKeyRefusal(opts, kh, found));
      else reject(new SshError(`ssh ${opts.username}@${target}: ${scrub(err.message)}`));
    };
    client.on('error', onError);
    client.once('ready', () => {
      settled = true;
      client.off('error', onError);
      // Commands are short request/response exchanges: with Nagle's algorithm on, a small write waiting for the
      // peer's delayed ACK cost ~40 ms per exec on a kept session (48 ms against 4 ms for `true` in the lab).
      client.setNoDelay(true);
      // A later connection error (peer gone) surfaces on the open channels; keep it from crashing the process.
      client.on('error', () => undefined);
      resolve({
        target,
        client,
        close: () =>
          new Promise<void>((done) => {
            client.once('close', () => done());
            client.end();
          }),
      });
    });
    try {
      client.connect(config);
    } catch (err) {
      // ssh2 parses the private key synchronously; its message never includes the key, but scrub anyway.
      reject(new SshError(`ssh ${opts.username}@${target}: ${scrub(errorMessage(err))}`));
    }
  });
}

/**
 * Runs "$@" in its own session (setsid, where the host has it), with the channel's stdin held by a watcher: when
 * sshd closes the channel, the watcher reads EOF and TERMs the command's process group. Remote signals are no way
 * to do this (ssh2 sends none after stdin EOF, sshd refuses them for non-privsep sessions). `kill -TERM -<pgid>`
 * without `--`: dash's kill does not take it. Async lists get /dev/null as stdin in a shell without job control,
 * hence stdin handed to the watcher on fd 3.
 */
const KILL_ON_CLOSE = [
  'exec 3<&0',
  'if command -v setsid >/dev/null 2>&1; then setsid "$@" </dev/null 3<&- & else "$@" </dev/null 3<&- & fi',
  'c=$!',
  '{ cat <&3 >/dev/null 2>&1; kill -TERM -"$c" 2>/dev/null; kill -TERM "$c" 2>/dev/null; } &',
  'w=$!',
  'exec 3<&-',
  'wait "$c"; s=$?',
  'kill "$w" 2>/dev/null',
  'exit "$s"',
].join('\n');

export function exec(conn: SshConnection, argv: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  if (opts.killOnClose && opts.stdin !== undefined) throw new Error('exec: killOnClose cannot be combined with stdin');
  const command = shellCommand(opts.killOnClose ? ['sh', '-c', KILL_ON_CLOSE, 'sh', ...argv] : argv);
  const max = opts.maxOutputBytes ?? 32 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    conn.client.exec(command, (err, stream) => {
      if (err) {
        reject(new SshError(`ssh ${conn.target}: cannot start ${argv[0]}: ${err.message}`));
        return;
      }
      let code: number | null = null;
      let signal: string | null = null;
      let failed: Error | undefined;
      const abort = (e: Error): void => {
        if (failed) return;
        failed = e;
        clearTimeout(timer);
        // Settle now: sshd keeps the channel open until the command exits, so waiting for 'close' would wait
        // for the very command that overran. Remote signals are not an option (ssh2 sends none after stdin EOF
        // and sshd refuses them for non-privsep sessions), so the command may run on until it next writes to
        // its closed pipes, unless it was started with `killOnClose` (then closing the channel kills it).
        stream.close();
        reject(e);
      };
      const timer = setTimeout(
        () => abort(new SshError(`ssh ${conn.target}: ${argv[0]} timed out after ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
      const collect = (from: Readable, name: string): (() => string) => {
        const chunks: Buffer[] = [];
        let size = 0;
        from.on('data', (d: Buffer) => {
          size += d.length;
          if (size > max) abort(new SshError(`ssh ${conn.target}: ${argv[0]} wrote more than ${max} bytes to ${name}`));
          else chunks.push(d);
        });
        return () => Buffer.concat(chunks).toString('utf8');
      };
      const stdout = collect(stream, 'stdout');
      const stderr = collect(stream.stderr, 'stderr');
      stream.on('exit', (c: number | null, s?: string) => {
        code = typeof c === 'number' ? c : null;
        signal = s ?? null;
      });
      stream.on('close', () => {
        clearTimeout(timer);
        if (failed) return;
        if (code === null && signal === null) {
          // Neither exit-status nor exit-signal: the channel died under the command (connection lost).
          reject(new SshError(`ssh ${conn.target}: ${argv[0]} ended without an exit status (connection lost?)`));
        } else {
          resolve({ code, signal, stdout: stdout(), stderr: stderr() });
        }
      });
      // Always close stdin, so a remote command that reads it does not wait forever; with killOnClose the
      // watcher holds it (the command itself reads /dev/null) until the channel closes.
      if (opts.stdin !== undefined) stream.end(opts.stdin);
      else if (!opts.killOnClose) stream.end();
    });
  });
}

function openSftp(conn: SshConnection): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    conn.client.sftp((err, sftp) =>
      err ? reject(new SshError(`sftp ${conn.target}: ${err.message}`)) : resolve(sftp),
    );
  });
}

function step(what: string, run: (cb: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) =>
    run((err) => (err ? reject(new SshError(`${what}: ${err.message}`)) : resolve())),
  );
}

/**
 * Uploads a local file so that `remotePath` is either the old file or the complete new one, never a partial:
 * write a temp name in the same directory (same filesystem), set the mode, then POSIX-rename over the target
 * (`posix-rename@openssh.com`; plain SFTP rename refuses to replace an existing file).
 */
export async function uploadFile(
  conn: SshConnection,
  localPath: string,
  remotePath: string,
  mode: number,
): Promise<void> {
  const dir = posix.dirname(remotePath);
  const tmp = posix.join(dir, `.${posix.basename(remotePath)}.fw-upload-${randomBytes(6).toString('hex')}`);
  const where = `sftp ${conn.target}`;
  const sftp = await openSftp(conn);
  try {
    try {
      // Progress goes to the activity's heartbeat details (a no-op outside an activity).
      const progress = (bytes: number, _chunk: number, totalBytes: number): void =>
        reportProgress({ step: 'upload', bytes, totalBytes });
      await step(`${where}: upload ${remotePath}`, (cb) => sftp.fastPut(localPath, tmp, { mode, step: progress }, cb));
      // The server applies its umask to the open mode; set it explicitly.
      await step(`${where}: chmod ${remotePath}`, (cb) => sftp.chmod(tmp, mode, cb));
      await step(`${where}: rename into ${remotePath}`, (cb) => sftp.ext_openssh_rename(tmp, remotePath, cb));
    } catch (err) {
      await new Promise<void>((done) => sftp.unlink(tmp, () => done()));
      throw err;
    }
  } finally {
    sftp.end();
  }
}
