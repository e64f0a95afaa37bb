// One SSH session to a cluster host, as the reference reaches it: the hosts file's external_ip and user on port 22,
// or the ssh_config alias named after the host (config/cluster.ts resolved which); the identity file and
// known_hosts from flags, environment or orchestrator.yaml. Both files are read by every step (not when the worker
// starts), so an operator who fixes a key or pins a re-keyed host needs no worker restart: a session kept from an
// earlier step is reused only while both are unchanged (src/activities/ssh/pool.ts).
//
// Paths were made absolute when the cluster was loaded. Settings problems are non-retryable InvalidInput failures
// that name the setting to fix; an unknown or
// changed host key is connectSsh's non-retryable HostKeyMismatch; transport failures stay retryable SshErrors.
// No message built here contains file contents, only paths and errno codes, so the private key cannot leak.
import { readFileSync } from 'node:fs';
import { FailureType } from '../../errors';
import type { LoadedCluster } from '../cluster-config';
import { failure } from '../failures';
import { activitySignal } from '../heartbeat';
import { type ConnectOptions, type SshConnection } from '../ssh/client';
import { checkinSsh, checkoutSsh, drainSshPool } from '../ssh/pool';

/** How long close() may wait for the peer: a connection that already died never emits 'close' again. */
const CLOSE_WAIT_MS = 5_000;

const SETTING: Record<'identity_file' | 'known_hosts', string> = {
  identity_file: '--ssh-key / FRAMEWORKS_SSH_KEY / orchestrator.yaml ssh.identity_file',
  known_hosts: 'FRAMEWORKS_KNOWN_HOSTS / orchestrator.yaml ssh.known_hosts',
};

function readSetting(
  cluster: LoadedCluster,
  key: 'identity_file' | 'known_hosts',
  override?: string,
): { path: string; text: string } {
  const path = override ?? cluster.manifest.ssh[key];
  try {
    return { path, text: readFileSync(path, 'utf8') };
  } catch (err) {
    // Only the errno code: a message from a partially read file must never carry its bytes.
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw failure(
      FailureType.InvalidInput,
      `cannot read ${path} (${SETTING[key]}): ${code}; the worker needs it to reach the hosts of ${cluster.manifest.name}`,
    );
  }
}

/** The first host of `service` in manifest order (where service-side commands run), or undefined if not deployed. */
export function serviceHost(cluster: LoadedCluster, service: string): string | undefined {
  const svc = Object.hasOwn(cluster.manifest.services, service) ? cluster.manifest.services[service] : undefined;
  return svc?.hosts[0];
}

/** Everything connectSsh needs for `hostName`, from the loaded cluster and the key files it names. */
export function hostConnectOptions(cluster: LoadedCluster, hostName: string): ConnectOptions {
  const host = Object.hasOwn(cluster.manifest.hosts, hostName) ? cluster.manifest.hosts[hostName] : undefined;
  if (!host) {
    throw failure(FailureType.InvalidInput, `host "${hostName}" is not declared in ${cluster.manifestPath} (hosts)`);
  }
  const identity = readSetting(cluster, 'identity_file', host.identityFile);
  const knownHosts = readSetting(cluster, 'known_hosts');
  return {
    host: host.address,
    port: host.port,
    username: host.user,
    privateKey: identity.text,
    knownHosts: knownHosts.text,
    knownHostsFile: knownHosts.path,
  };
}

async function closeBounded(conn: SshConnection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((done) => {
    timer = setTimeout(() => {
      conn.client.destroy();
      done();
    }, CLOSE_WAIT_MS);
    timer.unref();
  });
  try {
    await Promise.race([conn.close(), gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs fn on a session to `hostName` verified against its pinned host key: an idle one kept from an earlier step
 * (src/activities/ssh/pool.ts; same address, user, key and known_hosts) or a new one. After fn succeeds the session
 * goes back to the pool; after fn fails it is closed. When the activity is cancelled (the run was cancelled, or the
 * server gave up on this attempt) the session is torn down at once: every command and upload on it fails, so a
 * cancelled step stops instead of running on beside the next attempt.
 */
export async function withHostSsh<T>(
  cluster: LoadedCluster,
  hostName: string,
  fn: (conn: SshConnection) => Promise<T>,
): Promise<T> {
  const signal = activitySignal();
  const opts = hostConnectOptions(cluster, hostName);
  const { conn } = await checkoutSsh(opts);
  const cancel = (): void => {
    conn.client.destroy();
  };
  if (signal.aborted) cancel();
  signal.addEventListener('abort', cancel);
  let ok = false;
  try {
    const out = await fn(conn);
    ok = !signal.aborted;
    return out;
  } finally {
    signal.removeEventListener('abort', cancel);
    if (ok) await checkinSsh(opts, conn, closeBounded);
    else await closeBounded(conn);
  }
}

/** Closes the idle host sessions (worker shutdown). */
export function closeHostSessions(): Promise<void> {
  return drainSshPool(closeBounded);
}
