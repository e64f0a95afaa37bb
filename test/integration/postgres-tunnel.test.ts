// Reaching the cluster's databases as the reference does — from a database node — through a REAL sshd and a REAL
// PostgreSQL: the worker's loopback listener forwards over the node's SSH session to 127.0.0.1:<port> on the node.
// Yugabyte nodes are tried in manifest order (the first that answers is used), with the reference's credentials
// (role `yugabyte`, DATABASE_PASSWORD from the env files); vanilla PostgreSQL logs in as `postgres`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClusterConfig } from '../../src/activities/cluster-config';
import { databaseTarget, withClient } from '../../src/activities/postgres/connect';
import { closeTunnels } from '../../src/activities/postgres/tunnel';
import { databaseUrl, sql } from '../helpers/servers';
import { startSshd, type TestSshd } from '../helpers/sshd';

let sshd: TestSshd;
let work: string;
let pgPort: number;
let deadPort: number;
const DB = 'tunnel_db';

async function unusedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'fw-tunnel-'));
  pgPort = Number(new URL(databaseUrl()).port);
  deadPort = await unusedPort();
  await sql('postgres', `DROP DATABASE IF EXISTS ${DB}`);
  await sql('postgres', `CREATE DATABASE ${DB}`);
  // YSQL's superuser is `yugabyte`; on this PostgreSQL the role stands in for it.
  await sql(
    'postgres',
    `DO $$ BEGIN CREATE ROLE yugabyte LOGIN SUPERUSER; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
  );
});
afterAll(async () => {
  await closeTunnels();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A FrameWorks cluster whose database nodes are the test sshd (db-ok) and an address nobody answers (db-dead). */
function cluster(name: string, postgres: string, secrets = ''): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'secrets'), { recursive: true });
  writeFileSync(join(dir, 'id'), sshd.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'known_hosts'), `${sshd.knownHostsLine}\n`);
  writeFileSync(join(dir, 'secrets', 'db.env'), secrets);
  writeFileSync(
    join(dir, 'cluster.yaml'),
    [
      'version: v1',
      'type: cluster',
      'env_files: [secrets/db.env]',
      'hosts_file: hosts.yaml',
      'hosts:',
      '  db-dead: { roles: [infrastructure] }',
      '  db-ok: { roles: [infrastructure] }',
      'infrastructure:',
      `  postgres: ${postgres}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'hosts.yaml'),
    `hosts:\n  db-dead: { external_ip: 127.0.0.1, user: ${sshd.user} }\n  db-ok: { external_ip: ${sshd.host}, user: ${sshd.user} }\n`,
  );
  writeFileSync(
    join(dir, 'ssh_config'),
    `Host db-ok\n  HostName ${sshd.host}\n  Port ${sshd.port}\nHost db-dead\n  HostName 127.0.0.1\n  Port ${deadPort}\n`,
  );
  writeFileSync(
    join(dir, 'orchestrator.yaml'),
    `cluster: ${name}\nssh: { identity_file: ./id, known_hosts: ./known_hosts, config: ./ssh_config }\n`,
  );
  return join(dir, 'cluster.yaml');
}

describe('databases through an SSH tunnel to a database node', () => {
  it('Yugabyte: skips a node that does not answer, logs in as yugabyte with DATABASE_PASSWORD, never connects to the port directly', async () => {
    const manifest = cluster(
      'tunnel-yb',
      `{ enabled: true, engine: yugabyte, port: ${pgPort}, nodes: [{ host: db-dead, id: 1 }, { host: db-ok, id: 2 }], databases: [{ name: ${DB} }] }`,
      'DATABASE_PASSWORD=yb-secret-pw\n',
    );
    const c = await loadClusterConfig(manifest, { env: {} });
    const target = await databaseTarget(c, DB, {});
    const url = new URL(target.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).not.toBe(pgPort); // the worker's loopback listener, not the database port
    expect(url.username).toBe('yugabyte');
    expect(target.secrets).toContain('yb-secret-pw');
    const row = await withClient(target, async (client) => {
      const r = await client.query<{ db: string; who: string }>('SELECT current_database() AS db, current_user AS who');
      return r.rows[0];
    });
    expect(row).toEqual({ db: DB, who: 'yugabyte' });
    // A second target reuses the open tunnel.
    expect((await databaseTarget(c, DB, {})).url).toBe(target.url);
  });

  it('Yugabyte without DATABASE_PASSWORD refuses with the reference fix, naming no value', async () => {
    const manifest = cluster(
      'tunnel-yb-nopw',
      `{ enabled: true, engine: yugabyte, port: ${pgPort}, nodes: [{ host: db-ok, id: 1 }], databases: [{ name: ${DB} }] }`,
    );
    const c = await loadClusterConfig(manifest, { env: {} });
    await expect(databaseTarget(c, DB, {})).rejects.toThrow(/DATABASE_PASSWORD missing from the env_files/);
  });

  it('vanilla PostgreSQL: postgres.host, as postgres', async () => {
    const manifest = cluster(
      'tunnel-pg',
      `{ enabled: true, engine: postgres, host: db-ok, port: ${pgPort}, databases: [{ name: ${DB} }] }`,
    );
    const c = await loadClusterConfig(manifest, { env: {} });
    const target = await databaseTarget(c, DB, {});
    const who = await withClient(
      target,
      async (client) => (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u,
    );
    expect(who).toBe('postgres');
  });

  it('no node answers: a retryable DatabaseUnavailable naming each node tried', async () => {
    const manifest = cluster(
      'tunnel-none',
      `{ enabled: true, engine: postgres, host: db-dead, port: ${pgPort}, databases: [{ name: ${DB} }] }`,
    );
    const c = await loadClusterConfig(manifest, { env: {} });
    const err = (await databaseTarget(c, DB, {}).then(
      () => new Error('connected'),
      (e: unknown) => e as Error,
    )) as Error & { type?: string };
    expect(err.type).toBe('DatabaseUnavailable');
    expect(err.message).toMatch(/no database node of cluster tunnel-none answered through SSH \(db-dead: /);
  });
});
