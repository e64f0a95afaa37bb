// One health probe of a service on its host (SPEC §6 step 5), through the host's SSH connection: a direct-tcpip
// channel (ssh2 `forwardOut`) to 127.0.0.1:<port> ON THE HOST. Services bind loopback, the worker may not be
// able to route to the host's service port, and the tunnel reuses the pinned, authenticated connection.
//
// The probe never throws for an unhealthy service: it returns {healthy:false, error} so the workflow's loop
// (every 5 s, 90 s deadline) can keep the LAST error for the report. Only a bad request (port, path) throws.
// HTTP: GET <path> over HTTP/1.1 with `Connection: close`; exactly 200 is healthy (reference §6.3 step 7).
// No path: healthy as soon as the host's sshd has connected the channel, i.e. something accepts on the port.
import { request } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { failure } from '../failures';
import { FailureType } from '../../errors';
import type { SshConnection } from '../ssh/client';

export interface HealthTarget {
  port: number;
  /** HTTP path (`/health`, `/ready`); absent ⇒ TCP connect probe. */
  path?: string;
}

export interface HealthResult {
  healthy: boolean;
  /** HTTP status, when a response arrived. */
  status?: number;
  error?: string;
  elapsedMs: number;
}

// Enough of a body to explain a 503 in the report, not enough to matter if a service answers with megabytes.
const MAX_BODY_CHARS = 300;

function openTunnel(conn: SshConnection, port: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    conn.client.forwardOut('127.0.0.1', 0, '127.0.0.1', port, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}

function httpGet(channel: Duplex, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method: 'GET',
        host: '127.0.0.1',
        port,
        path,
        headers: { connection: 'close', 'user-agent': 'frameworks-orchestrator' },
        // No `agent` at all: with one (even `agent: false`, which makes a fresh Agent) Node ignores
        // createConnection and dials the port from the WORKER, bypassing the tunnel.
        createConnection: () => channel,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (body.length < MAX_BODY_CHARS) body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.slice(0, MAX_BODY_CHARS) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export async function probeHealth(conn: SshConnection, target: HealthTarget, timeoutMs: number): Promise<HealthResult> {
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    throw failure(FailureType.InvalidInput, `health probe: invalid port ${target.port}`);
  }
  // The path goes into a request line: anything beyond visible ASCII could split or forge the request.
  if (target.path !== undefined && !/^\/[\x21-\x7e]*$/.test(target.path)) {
    throw failure(FailureType.InvalidInput, `health probe: invalid path ${JSON.stringify(target.path)}`);
  }
  const started = Date.now();
  const where = `127.0.0.1:${target.port}${target.path ?? ''} on ${conn.target}`;
  let channel: ClientChannel | undefined;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const check = async (): Promise<HealthResult> => {
      channel = await openTunnel(conn, target.port);
      // The deadline may have won while the channel was opening: do not leave it open on the host.
      if (settled) channel.destroy();
      if (target.path === undefined) return { healthy: true, elapsedMs: Date.now() - started };
      const { status, body } = await httpGet(channel, target.port, target.path);
      const elapsedMs = Date.now() - started;
      if (status === 200) return { healthy: true, status, elapsedMs };
      return { healthy: false, status, error: `GET ${where}: HTTP ${status} ${body.trim()}`.trim(), elapsedMs };
    };
    return await Promise.race([check(), deadline]);
  } catch (err) {
    // ssh2 reports a refused forward as "(SSH) Channel open failure: Connection refused".
    const why = err instanceof Error ? err.message : String(err);
    return {
      healthy: false,
      error: `${target.path ? 'GET' : 'connect'} ${where}: ${why}`,
      elapsedMs: Date.now() - started,
    };
  } finally {
    settled = true;
    clearTimeout(timer);
    channel?.destroy();
  }
}

/** How often a polling probe asks again on the host (HTTP over the same SSH session). */
export const POLL_EVERY_MS = 50;
/** The longest poll one probe activity runs (a caller's larger `pollForMs` is cut to this). */
export const POLL_MAX_MS = 5_000;

/**
 * Probes, and while unhealthy probes again every POLL_EVERY_MS until healthy or `pollForMs` has passed since the
 * first probe (0: one probe, as before): the quick phase of a health wait watched from the host instead of by durable
 * timers between activities, so a replica is seen healthy within ~50 ms of becoming so. Stops polling when `signal`
 * aborts (the activity was cancelled). Every probe after the first gets the rest of the window as its timeout (at
 * least 250 ms), so a hung service cannot stretch the poll far past it. Returns the last probe's result.
 */
export async function probeHealthPolling(
  conn: SshConnection,
  target: HealthTarget,
  timeoutMs: number,
  pollForMs: number,
  signal?: AbortSignal,
): Promise<HealthResult & { probes: number }> {
  const until = Date.now() + Math.max(0, Math.min(pollForMs, POLL_MAX_MS));
  let probes = 1;
  let r = await probeHealth(conn, target, timeoutMs);
  while (!r.healthy && !signal?.aborted && Date.now() + POLL_EVERY_MS < until) {
    await new Promise((res) => setTimeout(res, POLL_EVERY_MS));
    probes++;
    r = await probeHealth(conn, target, Math.min(timeoutMs, Math.max(250, until - Date.now())));
  }
  return { ...r, probes };
}
