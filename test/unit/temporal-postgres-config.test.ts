// The pure parts of the production-shaped Temporal server (temporal-dev/postgres-server.ts): which server a run
// selects, the PostgreSQL URL it is given, the server config written for it and when a build counts as done.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  findServerBuild,
  freeServerPorts,
  MEMBERSHIP_PORT_MIN,
  parsePgUrl,
  serverConfig,
  temporalKind,
  TEMPORAL_SERVER_VERSION,
  UI_SERVER_VERSION,
  type ServerPorts,
} from '../../temporal-dev/postgres-server';

const ports: ServerPorts = {
  frontend: 17233,
  frontendHttp: 17243,
  frontendMembership: 16933,
  history: 17234,
  historyMembership: 16934,
  matching: 17235,
  matchingMembership: 16935,
  worker: 17239,
  workerMembership: 16939,
  metrics: 18000,
};

describe('temporalKind (FW_TEMPORAL)', () => {
  it('is the dev server unless FW_TEMPORAL=postgres, and refuses anything else', () => {
    expect(temporalKind({})).toBe('dev');
    expect(temporalKind({ FW_TEMPORAL: 'dev' })).toBe('dev');
    expect(temporalKind({ FW_TEMPORAL: 'postgres' })).toBe('postgres');
    expect(() => temporalKind({ FW_TEMPORAL: 'postgresql' })).toThrow(/FW_TEMPORAL=postgresql.*"dev".*"postgres"/);
  });
});

describe('parsePgUrl', () => {
  it('reads host, port, user and a percent-encoded password; defaults port 5432 and user postgres', () => {
    expect(parsePgUrl('postgres://tem%40p:s%2Fcret@10.0.0.5:6543/ignored')).toEqual({
      host: '10.0.0.5',
      port: 6543,
      user: 'tem@p',
      password: 's/cret',
    });
    expect(parsePgUrl('postgresql://127.0.0.1')).toEqual({
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      password: '',
    });
  });

  it('refuses other schemes and garbage without echoing a password', () => {
    expect(() => parsePgUrl('mysql://u:pw@h')).toThrow(/scheme mysql:/);
    const err = (() => {
      try {
        parsePgUrl('postgres://u:topsecret@[bad');
        return '';
      } catch (e) {
        return String(e);
      }
    })();
    expect(err).toMatch(/not a PostgreSQL URL/);
    expect(err).not.toContain('topsecret');
  });
});

describe('serverConfig', () => {
  const input = {
    ip: '127.0.0.1',
    ports,
    pg: { host: '127.0.0.1', port: 5544, user: 'postgres', password: '' },
    database: 'temporal',
    visibilityDatabase: 'temporal_visibility',
    dynamicConfigFile: '/x/dynamicconfig.yaml',
  };

  it('puts persistence and visibility on two PostgreSQL databases through the postgres12 plugin', () => {
    const c = parse(stringify(serverConfig(input))) as {
      persistence: {
        defaultStore: string;
        visibilityStore: string;
        datastores: Record<string, { sql: { pluginName: string; databaseName: string; connectAddr: string } }>;
      };
    };
    const def = c.persistence.datastores[c.persistence.defaultStore]!.sql;
    const vis = c.persistence.datastores[c.persistence.visibilityStore]!.sql;
    expect(c.persistence.defaultStore).not.toBe(c.persistence.visibilityStore);
    expect([def.pluginName, def.databaseName, def.connectAddr]).toEqual(['postgres12', 'temporal', '127.0.0.1:5544']);
    expect([vis.pluginName, vis.databaseName, vis.connectAddr]).toEqual([
      'postgres12',
      'temporal_visibility',
      '127.0.0.1:5544',
    ]);
  });

  it('runs the four services on the given ports, loopback only, and points the cluster at the frontend', () => {
    const c = serverConfig(input) as {
      services: Record<string, { rpc: Record<string, unknown> }>;
      clusterMetadata: { clusterInformation: { active: { rpcAddress: string } } };
      dynamicConfigClient: { filepath: string };
      global: { metrics: { prometheus: { listenAddress: string } } };
    };
    expect(Object.keys(c.services).sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
    expect(c.services.frontend!.rpc).toMatchObject({ grpcPort: 17233, httpPort: 17243, membershipPort: 16933 });
    expect(c.services.history!.rpc).toMatchObject({ grpcPort: 17234, membershipPort: 16934 });
    expect(c.services.matching!.rpc).toMatchObject({ grpcPort: 17235, membershipPort: 16935 });
    expect(c.services.worker!.rpc).toMatchObject({ grpcPort: 17239, membershipPort: 16939 });
    for (const s of Object.values(c.services)) expect(s.rpc.bindOnLocalHost).toBe(true);
    expect(c.clusterMetadata.clusterInformation.active.rpcAddress).toBe('127.0.0.1:17233');
    expect(c.dynamicConfigClient.filepath).toBe('/x/dynamicconfig.yaml');
    expect(c.global.metrics.prometheus.listenAddress).toBe('127.0.0.1:18000');
  });

  it('binds another address explicitly instead of loopback', () => {
    const c = serverConfig({ ...input, ip: '10.99.0.1' }) as {
      services: Record<string, { rpc: Record<string, unknown> }>;
    };
    for (const s of Object.values(c.services)) {
      expect(s.rpc.bindOnIP).toBe('10.99.0.1');
      expect(s.rpc.bindOnLocalHost).toBeUndefined();
    }
  });
});

describe('findServerBuild', () => {
  function fakeBuild(stamp: object | undefined, skip?: string): string {
    const root = mkdtempSync(join(tmpdir(), 'fw-server-build-'));
    for (const f of ['bin/server', 'bin/sql', 'ui/server']) {
      if (f === skip) continue;
      mkdirSync(join(root, f, '..'), { recursive: true });
      writeFileSync(join(root, f), '');
    }
    if (skip !== 'schema') mkdirSync(join(root, 'schema/postgresql/v12/temporal/versioned'), { recursive: true });
    if (stamp) writeFileSync(join(root, 'build.json'), JSON.stringify(stamp));
    return root;
  }
  const current = { server: TEMPORAL_SERVER_VERSION, ui: UI_SERVER_VERSION };

  it('is the build when every part is there and the stamp names the pinned versions', () => {
    const root = fakeBuild(current);
    expect(findServerBuild(root)).toEqual({
      server: join(root, 'bin/server'),
      sqlTool: join(root, 'bin/sql'),
      uiServer: join(root, 'ui/server'),
      schemaDir: join(root, 'schema/postgresql/v12'),
    });
  });

  it('is no build when unfinished (no stamp), a part is missing, or it was built from other versions', () => {
    expect(findServerBuild(fakeBuild(undefined))).toBeUndefined();
    for (const skip of ['bin/server', 'bin/sql', 'ui/server', 'schema']) {
      expect(findServerBuild(fakeBuild(current, skip)), skip).toBeUndefined();
    }
    expect(findServerBuild(fakeBuild({ ...current, server: 'v1.31.0' }))).toBeUndefined();
    expect(findServerBuild(fakeBuild({ ...current, ui: 'v2.0.0' }))).toBeUndefined();
  });
});

describe('freeServerPorts', () => {
  it('gives ten distinct ports, membership ports within SMALLINT (the cluster_membership column)', async () => {
    const p = await freeServerPorts('127.0.0.1', 7233);
    expect(p.frontend).toBe(7233);
    expect(new Set(Object.values(p)).size).toBe(10);
    for (const m of [p.frontendMembership, p.historyMembership, p.matchingMembership, p.workerMembership]) {
      expect(m).toBeGreaterThanOrEqual(MEMBERSHIP_PORT_MIN);
      expect(m).toBeLessThanOrEqual(32767);
    }
  });
});
