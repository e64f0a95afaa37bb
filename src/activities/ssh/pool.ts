// Idle SSH connections kept between host steps (issue 12: a new connection per step cost ~200 ms, several times
// per replica). A connection is used by one activity at a time (checked out exclusively, so a cancelled step can
// tear its own connection down without touching another step's), returned only after a step that succeeded on it,
// and closed after FRAMEWORKS_SSH_IDLE_SECONDS (default 30; 0 = close after every step, as before) without use.
//
// The key is a digest of everything the connection was opened and verified with: address, port, user, the private
// key and the known_hosts text. A re-keyed identity or an edited known_hosts therefore never reuses a connection
// opened under the old ones, and the host key is verified again on the new connection. The digest, not the key,
// is what the pool holds beside the connections.
import { createHash } from 'node:crypto';
import type { Client } from 'ssh2';
import { connectSsh, type ConnectOptions, type SshConnection } from './client';

export const SSH_IDLE_ENV = 'FRAMEWORKS_SSH_IDLE_SECONDS';
const DEFAULT_IDLE_SECONDS = 30;
/** Idle connections kept per key: enough for the steps one host sees at once under --parallel. */
const MAX_IDLE_PER_KEY = 4;

interface Idle {
  conn: SshConnection;
  timer: NodeJS.Timeout;
}

const idle = new Map<string, Idle[]>();
/** Clients whose transport closed: never handed out again. */
const dead = new WeakSet<Client>();
let idleOverrideMs: number | undefined;

/** The idle time in ms, from the environment unless a test set it; a bad value is refused with the setting named. */
export function sshIdleMs(): number {
  if (idleOverrideMs !== undefined) return idleOverrideMs;
  const raw = process.env[SSH_IDLE_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_IDLE_SECONDS * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600) {
    throw new Error(`${SSH_IDLE_ENV}=${raw}: expected seconds from 0 (no reuse) to 3600`);
  }
  return Math.round(seconds * 1000);
}

/** Tests: the idle time to use instead of the environment's (undefined restores it). */
export function setSshIdleMs(ms: number | undefined): void {
  idleOverrideMs = ms;
}

export function poolKey(opts: ConnectOptions): string {
  const h = createHash('sha256');
  for (const part of [opts.host, String(opts.port), opts.username, opts.privateKey, opts.passphrase ?? '']) {
    h.update(part).update('\0');
  }
  h.update(opts.knownHosts);
  return h.digest('hex');
}

function alive(conn: SshConnection): boolean {
  return !dead.has(conn.client);
}

function forget(key: string, conn: SshConnection): void {
  const list = idle.get(key);
  if (!list) return;
  const i = list.findIndex((e) => e.conn === conn);
  if (i >= 0) {
    clearTimeout(list[i]!.timer);
    list.splice(i, 1);
  }
  if (list.length === 0) idle.delete(key);
}

/** An idle verified connection for these options, or a new one (connectSsh verifies the host key). */
export async function checkoutSsh(opts: ConnectOptions): Promise<{ conn: SshConnection; reused: boolean }> {
  const key = poolKey(opts);
  const list = idle.get(key);
  while (list && list.length > 0) {
    const entry = list.pop()!;
    clearTimeout(entry.timer);
    if (list.length === 0) idle.delete(key);
    if (alive(entry.conn)) return { conn: entry.conn, reused: true };
  }
  const conn = await connectSsh(opts);
  const markDead = (): void => {
    dead.add(conn.client);
    forget(key, conn);
  };
  conn.client.once('close', markDead);
  conn.client.once('end', markDead);
  return { conn, reused: false };
}

/**
 * Gives back a connection after a step that succeeded on it: kept for the idle time, or closed by `close` when
 * reuse is off, the transport already ended, or enough connections to this host are idle.
 */
export async function checkinSsh(
  opts: ConnectOptions,
  conn: SshConnection,
  close: (conn: SshConnection) => Promise<void>,
): Promise<void> {
  let ms: number;
  try {
    ms = sshIdleMs();
  } catch {
    ms = 0; // the worker refuses a bad value at start (src/worker/main.ts); never fail a finished step over it
  }
  const key = poolKey(opts);
  const list = idle.get(key) ?? [];
  if (!alive(conn)) {
    conn.client.destroy(); // its transport already ended: nothing to wait for
    return;
  }
  if (ms === 0 || list.length >= MAX_IDLE_PER_KEY) {
    await close(conn);
    return;
  }
  const timer = setTimeout(() => {
    forget(key, conn);
    void close(conn);
  }, ms);
  timer.unref();
  list.push({ conn, timer });
  idle.set(key, list);
}

/** How many idle connections the pool holds (for tests and the worker's shutdown log). */
export function idleSshCount(): number {
  let n = 0;
  for (const list of idle.values()) n += list.length;
  return n;
}

/** Closes every idle connection (worker shutdown, tests). */
export async function drainSshPool(close: (conn: SshConnection) => Promise<void>): Promise<void> {
  const all = [...idle.values()].flat();
  idle.clear();
  for (const e of all) clearTimeout(e.timer);
  await Promise.all(all.map((e) => close(e.conn)));
}
