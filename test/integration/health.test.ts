// Health probes through a REAL sshd's direct-tcpip forwarding to a local HTTP server: 200 is healthy, anything
// else is reported (never thrown) with its status and body, a closed port and a silent server are errors.
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLL_EVERY_MS, probeHealth, probeHealthPolling } from '../../src/activities/hosts/health';
import { healthProbeTarget } from '../../src/domain/catalog';
import { connectSsh, type SshConnection } from '../../src/activities/ssh/client';
import { startSshd, type TestSshd } from '../helpers/sshd';

let sshd: TestSshd;
let conn: SshConnection;
let http: Server;
let httpPort: number;
let silent: TcpServer;
let silentPort: number;
let closedPort: number;
const seen: string[] = [];
const silentConnections = { total: 0, open: 0 };
const WARMING_MS = 300;
let warmingSince: number | undefined;

function listen(server: Server | TcpServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    }),
  );
}

beforeAll(async () => {
  sshd = await startSshd();
  conn = await connectSsh({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: sshd.privateKey,
    knownHosts: sshd.knownHostsLine,
  });
  http = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.host}`);
    if (req.url === '/health') res.writeHead(200).end('{"version":"v1"}');
    else if (req.url === '/warming') {
      // Healthy WARMING_MS after the first request of the current warm-up (warmingSince, reset by a test).
      warmingSince ??= Date.now();
      if (Date.now() - warmingSince >= WARMING_MS) res.writeHead(200).end('ok');
      else res.writeHead(503).end('warming up');
    } else if (req.url === '/ready') res.writeHead(503).end('warming up: 3 of 5 caches loaded');
    else res.writeHead(404).end();
  });
  httpPort = await listen(http);
  // Accepts and never answers: a hung service. Its connections are counted to prove each probe made exactly one
  // (through the tunnel) and that the host side is closed when the probe gives up.
  silent = createTcpServer((socket) => {
    silentConnections.total++;
    silentConnections.open++;
    socket.on('close', () => silentConnections.open--);
    socket.resume(); // read (and drop) the request, or the peer's close is never noticed
  });
  silentPort = await listen(silent);
  const probe = createTcpServer();
  closedPort = await listen(probe);
  await new Promise<void>((r) => probe.close(() => r()));
});
afterAll(async () => {
  await conn?.close();
  await sshd?.stop();
  http?.closeAllConnections();
  await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
  await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
});

describe('probeHealth', () => {
  it('is healthy on HTTP 200, asking the host-local address', async () => {
    const r = await probeHealth(conn, { port: httpPort, path: '/health' }, 5_000);
    expect(r).toMatchObject({ healthy: true, status: 200 });
    expect(seen).toContain(`GET /health 127.0.0.1:${httpPort}`);
  });

  it('reports a non-200 with its status and body', async () => {
    const r = await probeHealth(conn, { port: httpPort, path: '/ready' }, 5_000);
    expect(r.healthy).toBe(false);
    expect(r.status).toBe(503);
    expect(r.error).toContain('HTTP 503 warming up: 3 of 5 caches loaded');
  });

  it('reports a closed port as a refused connection', async () => {
    const r = await probeHealth(conn, { port: closedPort, path: '/health' }, 5_000);
    expect(r.healthy).toBe(false);
    expect(r.status).toBeUndefined();
    expect(r.error).toMatch(/refused|open fail/i);
  });

  it('times out a server that accepts but never answers', async () => {
    const r = await probeHealth(conn, { port: silentPort, path: '/health' }, 500);
    expect(r.healthy).toBe(false);
    expect(r.error).toContain('no answer within 500 ms');
    expect(r.elapsedMs).toBeLessThan(3_000);
    expect(silentConnections.total).toBe(1);
    await expect.poll(() => silentConnections.open, { timeout: 5_000 }).toBe(0);
  });

  it('without a path, probes TCP only', async () => {
    expect((await probeHealth(conn, { port: silentPort }, 5_000)).healthy).toBe(true);
    const closed = await probeHealth(conn, { port: closedPort }, 5_000);
    expect(closed.healthy).toBe(false);
    expect(closed.error).toMatch(/^connect 127\.0\.0\.1:\d+ on /);
  });

  it('a deploy probes the readiness path when the service declares one, else the health path (reference item 75)', async () => {
    // What probeOnHost asks (src/activities/hosts/upgrade.ts): the catalog definition's probe target.
    const both = healthProbeTarget({ port: httpPort, health: { path: '/health', ready_path: '/ready' } });
    expect(both).toEqual({ port: httpPort, path: '/ready' });
    const r = await probeHealth(conn, both, 5_000);
    // /health answers 200 here, /ready 503: healthy would mean the readiness path was not the one asked.
    expect(r).toMatchObject({ healthy: false, status: 503 });
    expect(seen.at(-1)).toBe(`GET /ready 127.0.0.1:${httpPort}`);
    const onlyHealth = healthProbeTarget({ port: httpPort, health: { path: '/health' } });
    expect(await probeHealth(conn, onlyHealth, 5_000)).toMatchObject({ healthy: true, status: 200 });
    expect(seen.at(-1)).toBe(`GET /health 127.0.0.1:${httpPort}`);
    expect(healthProbeTarget({ port: httpPort })).toEqual({ port: httpPort });
  });

  it('refuses paths that could forge a request', async () => {
    await expect(probeHealth(conn, { port: httpPort, path: '/h HTTP/1.1\r\nX: y' }, 1_000)).rejects.toThrow(
      /invalid path/,
    );
    await expect(probeHealth(conn, { port: 0 }, 1_000)).rejects.toThrow(/invalid port/);
  });
});

// The quick phase of a health wait (HEALTH_POLL_PATCH): one probe activity keeps asking on the host.
describe('probeHealthPolling', () => {
  const requests = (path: string) => seen.filter((l) => l.startsWith(`GET ${path} `)).length;

  it('keeps probing every 50 ms until healthy: a replica healthy after 300 ms is seen so in one call', async () => {
    warmingSince = undefined;
    const before = requests('/warming');
    const r = await probeHealthPolling(conn, { port: httpPort, path: '/warming' }, 5_000, 1_000);
    expect(r).toMatchObject({ healthy: true, status: 200 });
    // Several unhealthy answers before the healthy one, all in this one call (a single probe would have said 503).
    expect(r.probes).toBeGreaterThan(2);
    expect(requests('/warming') - before).toBe(r.probes);
  });

  it('without a poll window probes once (runs before the patch, the slow phase)', async () => {
    warmingSince = Date.now();
    const r = await probeHealthPolling(conn, { port: httpPort, path: '/warming' }, 5_000, 0);
    expect(r).toMatchObject({ healthy: false, status: 503, probes: 1 });
  });

  it('gives up at the end of the window with the last answer, and stops at once when aborted', async () => {
    const r = await probeHealthPolling(conn, { port: httpPort, path: '/ready' }, 5_000, 400);
    expect(r.healthy).toBe(false);
    expect(r.error).toContain('HTTP 503 warming up: 3 of 5 caches loaded');
    // ~400 ms / 50 ms (each probe also takes its round trip): more than one, never more than the window allows.
    expect(r.probes).toBeGreaterThan(1);
    expect(r.probes).toBeLessThanOrEqual(Math.ceil(400 / POLL_EVERY_MS));
    const aborted = new AbortController();
    aborted.abort();
    const once = await probeHealthPolling(conn, { port: httpPort, path: '/ready' }, 5_000, 2_000, aborted.signal);
    expect(once.probes).toBe(1);
  });
});
