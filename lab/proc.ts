// Process plumbing for the lab: run a command and fail with its stderr, start a daemon detached (it must
// outlive the CLI that started it), and stop a process by pid only after checking /proc that the pid still
// belongs to what we started (a recycled pid must never be killed).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function tryRun(
  cmd: string,
  args: readonly string[],
  opts: { input?: string | Buffer; timeoutMs?: number } = {},
) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 60_000 });
  if (r.error) return { code: null, stdout: '', stderr: r.error.message } satisfies RunResult;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr } satisfies RunResult;
}

export function run(
  cmd: string,
  args: readonly string[],
  opts: { input?: string | Buffer; timeoutMs?: number } = {},
): string {
  const r = tryRun(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

/** Starts a daemon in its own session with output to `logFile`; returns its pid. */
export function spawnDaemon(cmd: string, args: readonly string[], logFile: string): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie answers kill(0) but is gone for every purpose that matters here.
  return !/^\S+ \(.*\) Z/.test(safeRead(`/proc/${pid}/stat`));
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The command line of a live pid, NULs as spaces ('' when gone). */
export function cmdlineOf(pid: number): string {
  return safeRead(`/proc/${pid}/cmdline`).replace(/\0/g, ' ').trim();
}

/** Is `pid` alive and still the process we recorded (its command line contains `marker`)? */
export function isOurs(pid: number, marker: string): boolean {
  return isAlive(pid) && cmdlineOf(pid).includes(marker);
}

/** SIGTERM (or `signal`), wait up to `timeoutMs`, then SIGKILL; resolves when the pid is gone. */
export async function stopPid(pid: number, timeoutMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
      await waitFor(() => !isAlive(pid), 5_000, `pid ${pid} to die after SIGKILL`);
      return;
    }
    await sleep(50);
  }
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      const subject = typeof what === 'function' ? what() : what;
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${subject}${lastError ? ` (last error: ${lastError})` : ''}`,
      );
    }
    await sleep(100);
  }
}

/** Resolves with the first bytes a TCP server sends (e.g. an SSH banner), or rejects. */
export function tcpBanner(host: string, port: number, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no banner from ${host}:${port}`));
    }, timeoutMs);
    sock.once('data', (d) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(d.toString('utf8'));
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** GET with a short timeout; resolves with status and body text. */
export async function httpGet(url: string, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}
