// Loading a cluster from an operator's FrameWorks files (config/cluster.ts): what the CLI reads (no secrets) and
// what the worker resolves (hosts file, ssh_config aliases, deploy names, env files, databases). Real temp folders.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadClusterConfig,
  loadClusterSettings,
  PUBLIC_GITOPS,
  SHIPPED_CATALOG_DIR,
  topologyOf,
} from '../../src/config/cluster';
import { InputError } from '../../src/errors';
import { FIXTURES } from '../helpers/fixtures';

const ENV = {} as NodeJS.ProcessEnv;

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'fw-settings-'));
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), body);
  }
  return root;
}

const MANIFEST = `version: v1
type: cluster
channel: stable
env_files: [../../config/staging.env, ../../secrets/staging.env]
hosts_file: hosts.yaml
hosts:
  core-1: { roles: [services] }
  core-2: { roles: [services] }
  db-1: { roles: [infrastructure] }
infrastructure:
  postgres: { enabled: true, engine: postgres, host: db-1, databases: [{ name: foghorn }, { name: purser }] }
services:
  foghorn-eu: { enabled: true, mode: native, deploy: foghorn, host: core-1, config: { REGION: eu } }
  foghorn-us: { enabled: true, mode: native, deploy: foghorn, host: core-2 }
  purser: { enabled: true, hosts: [core-1, core-2] }
  bridge: { enabled: false, mode: docker, host: core-1 }
`;
const HOSTS = `hosts:
  core-1: { external_ip: 192.0.2.10, user: deploy }
  core-2: { external_ip: 192.0.2.11, user: deploy }
  db-1: { external_ip: 192.0.2.12, user: deploy }
`;

function gitops(extra: Record<string, string> = {}): string {
  return tree({
    'clusters/staging/cluster.yaml': MANIFEST,
    'clusters/staging/hosts.yaml': HOSTS,
    'config/staging.env': '# shared\nSHARED=1\nOVERRIDDEN=from-config\n',
    'secrets/staging.env': 'OVERRIDDEN=from-secrets\nDATABASE_PASSWORD=s3cret-pw\n',
    'channels/stable.yaml': 'platform_version: v0.2.0\nmanifest: releases/v0.2.0.yaml\n',
    'releases/.keep': '',
    ...extra,
  });
}

describe('loadClusterSettings (what the CLI reads)', () => {
  it('names the cluster after its folder and finds the gitops root by walking up from the manifest', async () => {
    const root = gitops();
    const s = await loadClusterSettings(join(root, 'clusters/staging/cluster.yaml'), { env: ENV });
    expect(s.name).toBe('staging');
    expect(s.channel).toBe('stable');
    expect(s.releaseRepositories).toEqual([root]);
    expect(s.catalogDir).toBe(SHIPPED_CATALOG_DIR);
    // No implicit migrations source.
    expect(s.migrationsDir).toBeUndefined();
  });

  it('FRAMEWORKS_GITOPS_DIR comes first; without any local root the public repository is the last resort', async () => {
    const root = gitops();
    const other = tree({ 'x/.keep': '' });
    const s = await loadClusterSettings(join(root, 'clusters/staging/cluster.yaml'), {
      env: { FRAMEWORKS_GITOPS_DIR: other },
    });
    expect(s.releaseRepositories).toEqual([other, root]);
    const lone = tree({ 'prod/cluster.yaml': MANIFEST });
    expect((await loadClusterSettings(join(lone, 'prod/cluster.yaml'), { env: ENV })).releaseRepositories).toEqual([
      PUBLIC_GITOPS,
    ]);
  });

  it('orchestrator.yaml beside the manifest overrides name, repositories, catalog and migrations (paths relative to it)', async () => {
    const root = gitops({
      'clusters/staging/orchestrator.yaml':
        'cluster: stage-eu\nrelease_repositories: [../../mirror]\ncatalog_dir: ./cat\nmigrations_dir: /srv/migrations\n',
    });
    const s = await loadClusterSettings(join(root, 'clusters/staging/cluster.yaml'), { env: ENV });
    expect(s.name).toBe('stage-eu');
    expect(s.releaseRepositories).toEqual([join(root, 'mirror')]);
    expect(s.catalogDir).toBe(join(root, 'clusters/staging/cat'));
    expect(s.migrationsDir).toBe('/srv/migrations');
  });

  it('refuses an orchestrator key typo, a folder that cannot name a cluster, and a bad channel — naming file and key', async () => {
    const typo = gitops({ 'clusters/staging/orchestrator.yaml': 'migration_dir: ./m\n' });
    await expect(loadClusterSettings(join(typo, 'clusters/staging/cluster.yaml'), { env: ENV })).rejects.toThrow(
      /orchestrator\.yaml: migration_dir: unknown key/,
    );
    const upper = tree({ 'Prod_EU/cluster.yaml': MANIFEST });
    await expect(loadClusterSettings(join(upper, 'Prod_EU/cluster.yaml'), { env: ENV })).rejects.toThrow(
      /cannot name the cluster after its folder "Prod_EU".*--cluster/,
    );
    const chan = tree({ 'prod/cluster.yaml': MANIFEST.replace('channel: stable', 'channel: beta') });
    const err = await loadClusterSettings(join(chan, 'prod/cluster.yaml'), { env: ENV }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).issues[0]!.path).toBe('channel');
  });

  it('reads no secret file: a missing hosts file does not stop the CLI', async () => {
    const root = tree({ 'prod/cluster.yaml': MANIFEST });
    await expect(loadClusterSettings(join(root, 'prod/cluster.yaml'), { env: ENV })).resolves.toMatchObject({
      name: 'prod',
    });
  });
});

describe('loadClusterConfig (what the worker resolves)', () => {
  it('hosts from the hosts file on port 22; services by deploy name with every host; env files in order; no secrets in the topology', async () => {
    const root = gitops();
    const c = await loadClusterConfig(join(root, 'clusters/staging/cluster.yaml'), { env: ENV });
    expect(c.manifest.hosts['core-1']).toEqual({ address: '192.0.2.10', port: 22, user: 'deploy', docker: true });
    expect(c.manifest.hosts['db-1']).toMatchObject({ docker: false });
    expect(Object.keys(c.manifest.services).sort()).toEqual(['foghorn', 'purser']);
    expect(c.manifest.services.foghorn).toMatchObject({
      mode: 'native',
      hosts: ['core-1', 'core-2'],
      keys: ['foghorn-eu', 'foghorn-us'],
    });
    // Empty mode is docker (reference §1.8); disabled bridge is nowhere.
    expect(c.manifest.services.purser!.mode).toBe('docker');
    // Shared env files merge in order (the secret file wins), then the service's config.
    expect(c.manifest.services.foghorn!.env).toMatchObject({
      SHARED: '1',
      OVERRIDDEN: 'from-secrets',
      REGION: 'eu',
    });
    expect(c.manifest.databases).toEqual({
      engine: 'postgres',
      port: 5432,
      names: ['foghorn', 'purser'],
      nodes: ['db-1'],
    });
    expect(c.secrets.databasePassword).toBe('s3cret-pw');
    const topology = JSON.stringify(topologyOf(c));
    for (const secret of ['192.0.2.10', 'deploy', 's3cret-pw', 'from-secrets']) expect(topology).not.toContain(secret);
  });

  it('an ssh_config alias named after the host (or frameworks-<host>) supplies port, user and key only when it points at the same address', async () => {
    const root = gitops({
      'clusters/staging/orchestrator.yaml': 'ssh: { config: ./ssh_config }\n',
      'clusters/staging/ssh_config':
        'Host core-1\n  HostName 192.0.2.10\n  Port 2222\n  User ops\n  IdentityFile /keys/core\n' +
        'Host frameworks-core-2\n  HostName 198.51.100.1\n  Port 2200\n',
    });
    const c = await loadClusterConfig(join(root, 'clusters/staging/cluster.yaml'), { env: ENV });
    expect(c.manifest.hosts['core-1']).toMatchObject({
      port: 2222,
      user: 'ops',
      alias: 'core-1',
      aliasConfig: join(root, 'clusters/staging/ssh_config'),
      identityFile: '/keys/core',
    });
    expect(c.manifest.hosts['core-2']).toMatchObject({ port: 22, user: 'deploy' });
    expect(c.manifest.hosts['core-2']!.alias).toBeUndefined();
  });

  it('refuses what the reference refuses: a host missing from the hosts file, a host without external_ip or user', async () => {
    const missing = gitops({ 'clusters/staging/hosts.yaml': HOSTS.replace(/ {2}db-1:.*\n/, '') });
    await expect(loadClusterConfig(join(missing, 'clusters/staging/cluster.yaml'), { env: ENV })).rejects.toThrow(
      /db-1/,
    );
    const noUser = gitops({ 'clusters/staging/hosts.yaml': HOSTS.replace('192.0.2.12, user: deploy', '192.0.2.12') });
    await expect(loadClusterConfig(join(noUser, 'clusters/staging/cluster.yaml'), { env: ENV })).rejects.toThrow(
      /hosts\.db-1\.user: no SSH user for host db-1/,
    );
  });

  it('the fixture cluster (FrameWorks manifest + hosts.yaml + orchestrator.yaml) loads as the tests use it', async () => {
    const c = await loadClusterConfig(join(FIXTURES, 'cluster', 'cluster.yaml'), { env: ENV });
    expect(c.name).toBe('lab');
    expect(c.manifest.hosts.h2).toEqual({
      address: '10.77.0.12',
      port: 22,
      user: 'root',
      docker: true,
      arch: 'linux-amd64',
    });
    expect(c.manifest.services.purser).toMatchObject({ mode: 'native', hosts: ['h1'], env: { PURSER_RATING: 'v2' } });
    expect(c.manifest.databases?.url_env).toBe('FRAMEWORKS_DATABASE_URL');
    expect(c.releaseRepositories).toEqual([join(FIXTURES, 'release-repo')]);
  });
});
