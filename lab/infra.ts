// The lab's shared infrastructure in the root namespace, each a daemon recorded by pid: the image registry
// (Debian docker-registry) and the artifact server (busybox httpd over the release repository) on the bridge
// address, and PostgreSQL from lab/postgres.ts.
//
// PostgreSQL listens on 127.0.0.1 only (lab/postgres.ts fixes listen_addresses). Services inside a host
// namespace reach it through its UNIX socket instead: the socket directory is an ordinary folder of the shared
// filesystem, so no TCP listener on the bridge is needed. The worker uses the TCP URL.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createServer } from 'node:net';
import { ARTIFACT_BASE_URL, ARTIFACT_PORT, BRIDGE, DATABASES, REGISTRY, type LabPaths } from './config';
import { reachableDataDir, startPostgres } from './postgres';
import { httpGet, spawnDaemon, waitFor } from './proc';
import type { LabState } from './state';

/**
 * The registry and the artifact server listen on the bridge address. A listener already there belongs to
 * something this lab did not start (a lab of another checkout, or one whose processes outlived its state): its
 * answers would be for other files, so refuse instead of starting beside it.
 */
export async function assertListenersFree(): Promise<void> {
  const taken: string[] = [];
  for (const [what, port] of [
    ['registry', Number(REGISTRY.split(':')[1])],
    ['artifact server', ARTIFACT_PORT],
  ] as const) {
    const free = await new Promise<boolean>((resolveFree) => {
      const srv = createServer();
      srv.once('error', () => resolveFree(false));
      srv.listen(port, BRIDGE.address, () => srv.close(() => resolveFree(true)));
    });
    if (!free) taken.push(`${what} ${BRIDGE.address}:${port}`);
  }
  if (taken.length > 0) {
    throw new Error(
      `already in use by a process this lab did not start: ${taken.join(', ')}. A lab of another checkout, or a ` +
        'leftover of one, still runs: `ss -ltnp` names its pid; stop it (or run `frameworks dev lab down` in ' +
        'the checkout that started it), then try again',
    );
  }
}

export function startRegistry(paths: LabPaths): NonNullable<LabState['registry']> {
  mkdirSync(join(paths.registry, 'data'), { recursive: true });
  const config = join(paths.registry, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${join(paths.registry, 'data')} }, delete: { enabled: true } }`,
      `http: { addr: ${REGISTRY} }`,
      '',
    ].join('\n'),
  );
  const pid = spawnDaemon('docker-registry', ['serve', config], join(paths.logs, 'registry.log'));
  return { pid, marker: config, address: REGISTRY, dir: paths.registry };
}

export function startArtifactServer(paths: LabPaths): NonNullable<LabState['artifactServer']> {
  mkdirSync(paths.releases, { recursive: true });
  const pid = spawnDaemon(
    'busybox',
    ['httpd', '-f', '-p', `${BRIDGE.address}:${ARTIFACT_PORT}`, '-h', paths.releases],
    join(paths.logs, 'artifacts.log'),
  );
  return { pid, marker: paths.releases, url: ARTIFACT_BASE_URL };
}

export async function waitRegistry(): Promise<void> {
  await waitFor(async () => (await httpGet(`http://${REGISTRY}/v2/`)).status === 200, 20_000, `registry ${REGISTRY}`);
}

export async function waitArtifactServer(): Promise<void> {
  // 404 for a missing index is an answer: the server is up.
  await waitFor(async () => (await httpGet(`${ARTIFACT_BASE_URL}/`)).status > 0, 20_000, 'artifact server');
}

export async function startLabPostgres(paths: LabPaths): Promise<NonNullable<LabState['postgres']>> {
  const dataDir = reachableDataDir(paths.postgres, 'fwlab-pg');
  const handle = await startPostgres({ dataDir, fast: true });
  const port = Number(new URL(handle.url).port);
  if (handle.pid === undefined) throw new Error('startPostgres returned no pid');
  return { pid: handle.pid, marker: dataDir, url: handle.url, dataDir, socketDir: dataDir, port };
}

export async function createDatabases(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${url}/postgres` });
  await client.connect();
  try {
    for (const db of DATABASES) {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${db}"`);
    }
  } finally {
    await client.end();
  }
}

/** URL a service inside a host namespace uses: the server's UNIX socket on the shared filesystem. */
export function socketUrl(p: NonNullable<LabState['postgres']>, database: string): string {
  return `postgresql://postgres@/${database}?host=${encodeURIComponent(p.socketDir)}&port=${p.port}`;
}
