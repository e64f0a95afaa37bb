// Connections to the cluster's databases: through an SSH tunnel to a healthy database node (tunnel.ts), or directly
// to the server URL in the worker environment variable orchestrator.yaml names (databases.url_env). Never from
// workflow input, so credentials stay out of history; every error message leaving here has the password removed.
import pg from 'pg';
import { SQL_IDENTIFIER } from '../../contracts/migrations';
import { FailureType } from '../../errors';
import type { LoadedCluster } from '../cluster-config';
import { failure } from '../failures';
import { tunnelFor } from './tunnel';

export type Engine = 'postgres' | 'yugabyte';

export interface DatabaseTarget {
  database: string;
  engine: Engine;
  /** Full connection URL including the database; never logged or returned. */
  url: string;
  /** Strings that must never appear in an error message (password, the raw URL). */
  secrets: string[];
}

export async function databaseTarget(
  cluster: LoadedCluster,
  database: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DatabaseTarget> {
  const dbs = cluster.manifest.databases;
  if (!dbs) {
    throw failure(
      FailureType.InvalidInput,
      `cluster ${cluster.manifest.name} declares no databases (${cluster.manifestPath}: infrastructure.postgres)`,
    );
  }
  if (!SQL_IDENTIFIER.test(database)) {
    throw failure(
      FailureType.InvalidInput,
      `database name "${database}" is not an SQL identifier ([A-Za-z_][A-Za-z0-9_]*)`,
    );
  }
  if (!dbs.names.includes(database)) {
    throw failure(
      FailureType.InvalidInput,
      `database "${database}" is not declared in ${cluster.manifestPath} (infrastructure.postgres.databases)`,
    );
  }
  let base: string;
  let secrets: string[];
  if (dbs.url_env) {
    const value = env[dbs.url_env];
    if (!value) {
      throw failure(
        FailureType.InvalidInput,
        `the worker has no ${dbs.url_env} in its environment (orchestrator.yaml databases.url_env): set it to the server URL, e.g. postgres://user:password@host:5432`,
      );
    }
    base = value;
    secrets = [value];
  } else {
    const t = await tunnelFor(cluster, database);
    base = t.base;
    secrets = [...t.secrets];
  }
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw failure(FailureType.InvalidInput, `${dbs.url_env ?? 'the database URL'} is not a valid URL`);
  }
  url.pathname = `/${database}`;
  secrets.push(base, url.toString());
  if (url.password) secrets.push(url.password, decodeURIComponent(url.password));
  return { database, engine: dbs.engine, url: url.toString(), secrets };
}

export function redact(message: string, secrets: string[]): string {
  let out = message;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

/** Runs fn with a dedicated client (not a pool: locks and autocommit DDL need one session). */
export async function withClient<T>(target: DatabaseTarget, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: target.url,
    application_name: 'frameworks-worker',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client whose server goes away emits 'error'; without a listener that would crash the worker.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    // No `cause`: the driver's error object can carry connection parameters, and causes get serialised.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(redact(`cannot connect to database ${target.database}: ${(err as Error).message}`, target.secrets));
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

// One small pool per database URL for the worker's short, frequent units of work (a transactional migration,
// a data-migration batch): opening a connection costs more than the work itself, and a used backend has its
// catalog caches warm. Anything that may change session state runs with `reset`, which DISCARDs ALL before the
// connection goes back; a connection whose work failed is destroyed rather than reused.
const pools = new Map<string, pg.Pool>();

function poolFor(target: DatabaseTarget): pg.Pool {
  let pool = pools.get(target.url);
  if (!pool) {
    pool = new pg.Pool({
      connectionString: target.url,
      application_name: 'frameworks-worker',
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      max: 4,
      allowExitOnIdle: true,
    });
    // An idle pooled client whose server goes away emits 'error' on the pool; the pool drops it.
    pool.on('error', () => {});
    pools.set(target.url, pool);
  }
  return pool;
}

/**
 * Asks the server to cancel whatever backend `pid` is running (pg_cancel_backend), from a connection of its own: the
 * busy one cannot take another query until its current one ends. Best effort; a failure only means the query runs
 * on until it ends by itself.
 */
export async function cancelBackend(target: DatabaseTarget, pid: number): Promise<void> {
  await withClient(target, (c) => c.query('SELECT pg_cancel_backend($1)', [pid])).catch(() => {});
}

/** The server process id of a connected client (node-postgres keeps it from BackendKeyData; untyped). */
function backendPid(client: pg.ClientBase): number | undefined {
  const pid = (client as unknown as { processID?: unknown }).processID;
  return typeof pid === 'number' ? pid : undefined;
}

/**
 * Runs fn on a pooled connection. With `reset` (foreign SQL ran: migration files, definition statements) the
 * session is returned to a clean state before reuse. A failure destroys the connection.
 *
 * With `signal` (an activity's cancellation), an abort while fn runs cancels the connection's running query on the
 * server (pg_cancel_backend), so a cancelled verify or dry run stops scanning instead of running on in PostgreSQL
 * until it ends; the connection is then destroyed, never reused (a late cancel must not hit someone else's query).
 */
export async function withPooledClient<T>(
  target: DatabaseTarget,
  fn: (client: pg.PoolClient) => Promise<T>,
  opts: { reset?: boolean; signal?: AbortSignal } = {},
): Promise<T> {
  const { signal } = opts;
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
  let client: pg.PoolClient;
  try {
    client = await poolFor(target).connect();
  } catch (err) {
    // eslint-disable-next-line preserve-caught-error
    throw new Error(redact(`cannot connect to database ${target.database}: ${(err as Error).message}`, target.secrets));
  }
  let broken: Error | undefined;
  // A checked-out client whose backend goes away (terminated, server restart) emits 'error' besides failing its
  // query; the pool listens only to idle clients, so without this the worker process would crash on it.
  const onError = (err: Error): void => {
    broken ??= err;
  };
  client.on('error', onError);
  let cancelling: Promise<void> | undefined;
  const onAbort = (): void => {
    broken ??= new Error('cancelled');
    const pid = backendPid(client);
    if (pid !== undefined) cancelling = cancelBackend(target, pid);
  };
  try {
    signal?.addEventListener('abort', onAbort, { once: true });
    const out = await fn(client);
    if (opts.reset) await client.query('DISCARD ALL');
    return out;
  } catch (err) {
    broken = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await cancelling;
    client.off('error', onError);
    client.release(broken ?? false);
  }
}

/** Closes every pool (worker shutdown, tests). */
export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.end().catch(() => {})));
}

/** SQLSTATE of a pg error, if any. */
export function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/** Serialization failures and deadlocks are worth retrying; so are lost connections. */
export function isTransientPgError(err: unknown): boolean {
  const code = sqlState(err);
  return code === '40001' || code === '40P01' || code === '57P01' || (code?.startsWith('08') ?? false);
}
