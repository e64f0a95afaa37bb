// Starts the Temporal dev server (with its Web UI) and waits until it answers, registering the search
// attributes of SPEC §4 at launch. Used by `npm run temporal` (foreground), the test suite (one server per
// run) and the demo.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import type { TemporalSource } from './locate';

export interface DevServerOptions {
  ip?: string;
  /** gRPC port; 0 picks a free one. */
  port?: number;
  /** Web UI port; 0 picks a free one; undefined = headless. */
  uiPort?: number;
  /** Persist runs across restarts; undefined = in memory. */
  dbFile?: string;
  /** Where the server's own output goes; undefined = inherit (foreground use). */
  logFile?: string;
  readyTimeoutMs?: number;
  /** Keep running after this process exits (the demo leaves the Web UI up); stop later by pid. */
  detached?: boolean;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  pid?: number;
  stop(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolveFree) => {
    const srv = createServer();
    srv.once('error', () => resolveFree(false));
    srv.listen(port, host, () => srv.close(() => resolveFree(true)));
  });
}

export async function waitForTemporal(address: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new Error(`temporal dev server exited with code ${child.exitCode} before it was ready`);
    }
    try {
      const conn = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await conn.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await conn.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal at ${address} did not become ready within ${timeoutMs} ms: ${String(lastError)}`);
}

function devServerArgs(ip: string, port: number, opts: DevServerOptions, uiPort: number | undefined): string[] {
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--log-level', 'warn'];
  if (uiPort !== undefined) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  // Updates (approve, pause, resume) are on by default in recent servers; keep them explicit for older binaries.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true');
  // A new timer fires no earlier than "now + this shift" (default 1 s): every 250 ms health backoff would wait a
  // whole second. 50 ms keeps sub-second durable timers near their duration (issue 12, health without idle waiting).
  args.push('--dynamic-config-value', 'history.timerProcessorMaxTimeShift="50ms"');
  return args;
}

export async function startDevServer(source: TemporalSource, opts: DevServerOptions = {}): Promise<DevServer> {
  if (source.type === 'address') {
    await waitForTemporal(source.address, opts.readyTimeoutMs ?? 15_000);
    return { address: source.address, stop: async () => {} };
  }
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port === undefined || opts.port === 0 ? await freePort(ip) : opts.port;
  const uiPort = opts.uiPort === 0 ? await freePort(ip) : opts.uiPort;
  if (opts.dbFile) mkdirSync(dirname(opts.dbFile), { recursive: true });

  if (source.type === 'sdk-download') {
    // Last resort where the internet is reachable: the SDK downloads and runs the same CLI.
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip,
        port,
        ui: uiPort !== undefined,
        uiPort,
        dbFilename: opts.dbFile,
        searchAttributes: Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => ({
          name,
          type: type === 'Keyword' ? 'KEYWORD' : 'KEYWORD_LIST',
        })) as never,
      },
    });
    return {
      address: `${ip}:${port}`,
      uiUrl: uiPort !== undefined ? `http://${ip}:${uiPort}` : undefined,
      stop: () => env.teardown(),
    };
  }

  let stdio: 'inherit' | ['ignore', number, number] = 'inherit';
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    const fd = openSync(opts.logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  const child = spawn(source.path, devServerArgs(ip, port, opts, uiPort), { stdio, detached: opts.detached ?? false });
  const address = `${ip}:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForTemporal(address, opts.readyTimeoutMs ?? 30_000, child);
  } catch (err) {
    await stop();
    throw err;
  }
  if (opts.detached) child.unref();
  return { address, uiUrl: uiPort !== undefined ? `http://${ip}:${uiPort}` : undefined, pid: child.pid, stop };
}
