// PostgreSQL for tests, the demo and local development (SPEC §10): DATABASE_URL when set; otherwise Debian's
// PostgreSQL initialised into a folder of ours on a free loopback port, started and stopped by pid.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../temporal-dev/server';

export interface PostgresHandle {
  /** Connection URL without a database name (SPEC §3.1 `url_env` convention). */
  url: string;
  pid?: number;
  dataDir?: string;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Data folder; created when absent. Must be reachable by the `postgres` user when running as root. */
  dataDir: string;
  port?: number;
  /** Tests trade durability for speed. */
  fast?: boolean;
  /** Remove the data folder on stop. */
  removeOnStop?: boolean;
}

function pgBinDir(): string {
  const override = process.env.PG_BIN_DIR;
  if (override) return override;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  }
  throw new Error(
    'PostgreSQL server binaries not found under /usr/lib/postgresql. Install them with ' +
      '`apt-get install -y postgresql`, or set DATABASE_URL to an existing server.',
  );
}

function postgresUserIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) {
    throw new Error('running as root but there is no `postgres` user to own the cluster (apt-get install postgresql)');
  }
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function runPg(bin: string, args: string[], asPostgres: boolean): void {
  const cmd = asPostgres ? 'runuser' : bin;
  const argv = asPostgres ? ['-u', 'postgres', '--', bin, ...args] : args;
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`${bin} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  }
}

/** Chooses a data folder the `postgres` user can reach: the preferred one, else a private folder under /tmp. */
export function reachableDataDir(preferred: string, fallbackName: string): string {
  if (process.getuid?.() !== 0) return preferred;
  const parent = dirname(preferred);
  mkdirSync(parent, { recursive: true });
  const r = spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-x', parent]);
  return r.status === 0 ? preferred : join(tmpdir(), fallbackName);
}

export async function startPostgres(opts: StartPostgresOptions): Promise<PostgresHandle> {
  const bin = pgBinDir();
  const ids = postgresUserIds();
  const asPostgres = ids !== undefined;
  mkdirSync(opts.dataDir, { recursive: true });
  if (ids) chownSync(opts.dataDir, ids.uid, ids.gid);
  const pgdata = join(opts.dataDir, 'data');
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    runPg(join(bin, 'initdb'), ['-D', pgdata, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], asPostgres);
  }
  const port = opts.port ?? (await freePort());
  const serverOpts = [`-p ${port}`, '-c listen_addresses=127.0.0.1', `-k ${opts.dataDir}`, '-c max_connections=200'];
  if (opts.fast) serverOpts.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
  runPg(
    join(bin, 'pg_ctl'),
    ['-D', pgdata, '-l', join(opts.dataDir, 'server.log'), '-w', '-t', '60', '-o', serverOpts.join(' '), 'start'],
    asPostgres,
  );
  const pidLine = readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0];
  const pid = Number(pidLine);
  const stop = async (): Promise<void> => {
    // Stop by the pid we started: a fast shutdown, then make sure it is gone.
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      return;
    }
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (opts.removeOnStop) rmSync(opts.dataDir, { recursive: true, force: true });
  };
  return { url: `postgres://postgres@127.0.0.1:${port}`, pid, dataDir: opts.dataDir, stop };
}

/** DATABASE_URL if set (nothing started), else a local Debian PostgreSQL. */
export async function ensurePostgres(opts: StartPostgresOptions): Promise<PostgresHandle> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    const url = new URL(fromEnv);
    url.pathname = '';
    return { url: url.toString().replace(/\/$/, ''), stop: async () => {} };
  }
  return startPostgres(opts);
}
