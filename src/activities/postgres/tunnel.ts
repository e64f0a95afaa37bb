// Reaching the cluster's databases as the reference does: from the database node itself. The reference never opens
// a PostgreSQL connection from the operator's machine (reference/frameworks-real-world.md §1.3): it runs its
// migration role on the first Yugabyte node whose local `SELECT 1` succeeds (vanilla: postgres.host) and logs in
// on loopback. The worker does the same through SSH: a loopback-only listener per cluster forwards each
// connection over the node's SSH session (ssh2 `forwardOut`) to 127.0.0.1:<port> ON THE NODE, so pg, its pools and
// the existing URL-based code work unchanged and nothing needs the database port open to the network.
//
// Credentials are the reference's: Yugabyte as `yugabyte` with infrastructure.postgres.password, else
// DATABASE_PASSWORD from the manifest's env_files (required, as the reference requires it); vanilla PostgreSQL as
// `postgres` with the same password when one is set (the reference uses peer auth over the node's socket).
import { createServer, type Server } from 'node:net';
import pg from 'pg';
import { FailureType } from '../../errors';
import type { LoadedCluster } from '../cluster-config';
import { failure } from '../failures';
import { hostConnectOptions } from '../hosts/ssh-session';
import { connectSsh, type SshConnection } from '../ssh/client';

export interface TunnelEndpoint {
  /** postgres://user[:password]@127.0.0.1:<local port> — no database; never logged or returned. */
  base: string;
  node: string;
  secrets: string[];
}

interface Tunnel extends TunnelEndpoint {
  server: Server;
  conn: SshConnection;
}

const tunnels = new Map<string, Promise<Tunnel>>();

function credentials(cluster: LoadedCluster): { user: string; password?: string } {
  const dbs = cluster.manifest.databases;
  const password = cluster.secrets.databasePassword;
  if (dbs?.engine === 'yugabyte') {
    if (!password) {
      throw failure(
        FailureType.InvalidInput,
        `DATABASE_PASSWORD missing from the env_files of ${cluster.manifestPath} (Yugabyte needs it, or set infrastructure.postgres.password)`,
      );
    }
    return { user: 'yugabyte', password };
  }
  return { user: 'postgres', ...(password ? { password } : {}) };
}

async function open(cluster: LoadedCluster, node: string, port: number): Promise<Tunnel> {
  const conn = await connectSsh(hostConnectOptions(cluster, node));
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    conn.client.forwardOut('127.0.0.1', 0, '127.0.0.1', port, (err, channel) => {
      if (err) {
        socket.destroy();
        return;
      }
      channel.on('error', () => socket.destroy());
      socket.pipe(channel).pipe(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const address = server.address();
  const localPort = typeof address === 'object' && address ? address.port : 0;
  const { user, password } = credentials(cluster);
  const url = new URL(`postgres://127.0.0.1:${localPort}`);
  url.username = user;
  if (password) url.password = password;
  const secrets = password ? [password, encodeURIComponent(password), url.toString()] : [];
  return { base: url.toString().replace(/\/$/, ''), node, secrets, server, conn };
}

async function answers(t: Tunnel, database: string): Promise<boolean> {
  const url = new URL(t.base);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function close(t: Tunnel): void {
  t.server.close();
  void t.conn.close().catch(() => {});
}

/**
 * The loopback endpoint for the cluster's databases, through the first node (manifest order) whose database
 * answers `SELECT 1`. Kept open for the worker's life and reopened when the node's SSH session drops.
 */
export function tunnelFor(cluster: LoadedCluster, probeDatabase: string): Promise<TunnelEndpoint> {
  const key = cluster.manifest.name;
  const cached = tunnels.get(key);
  if (cached) return cached;
  const dbs = cluster.manifest.databases;
  if (!dbs) throw failure(FailureType.InvalidInput, `cluster ${key} declares no databases`);
  const opening = (async () => {
    const tried: string[] = [];
    for (const node of dbs.nodes) {
      let t: Tunnel;
      try {
        t = await open(cluster, node, dbs.port);
      } catch (err) {
        tried.push(`${node}: ${(err as Error).message}`);
        continue;
      }
      if (await answers(t, probeDatabase)) {
        t.conn.client.once('close', () => {
          tunnels.delete(key);
          t.server.close();
        });
        return t;
      }
      tried.push(`${node}: no answer on 127.0.0.1:${dbs.port}`);
      close(t);
    }
    throw failure(
      FailureType.DatabaseUnavailable,
      `no database node of cluster ${key} answered through SSH (${tried.join('; ') || 'no nodes'})`,
    );
  })();
  tunnels.set(key, opening);
  opening.catch(() => tunnels.delete(key));
  return opening;
}

/** Closes every tunnel (worker shutdown, tests). */
export async function closeTunnels(): Promise<void> {
  const all = [...tunnels.values()];
  tunnels.clear();
  for (const p of all) {
    try {
      close(await p);
    } catch {
      // a tunnel that never opened has nothing to close
    }
  }
}
