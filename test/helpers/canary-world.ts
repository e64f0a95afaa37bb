// An in-memory cluster for canary tests (test/workflows/canary.test.ts, test/integration/cli-canary.test.ts): the
// fixture cluster's replicas with their identity, config and pid, the HOST activities as stubs over it, and a
// journal of host-changing calls. Catalog, release repository and config rendering stay the real activities.
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { join } from 'node:path';
import { LAB_MIGRATIONS_DIR } from '../../lab/config';
import { discoverMigrations } from '../../src/config/migrations';
import { parseReleaseManifest } from '../../src/contracts/release';
import type { HostDetection } from '../../src/contracts/upgrade';
import { getServiceInfo } from '../../src/domain/release';
import { FIXTURES } from './fixtures';

export const SERVICES: Record<string, { mode: 'native' | 'docker'; hosts: string[] }> = {
  quartermaster: { mode: 'native', hosts: ['h1'] },
  purser: { mode: 'native', hosts: ['h1'] },
  commodore: { mode: 'docker', hosts: ['h2', 'h3'] },
  foghorn: { mode: 'docker', hosts: ['h2'] },
  bridge: { mode: 'docker', hosts: ['h3'] },
};

export function identityIn(version: string, svc: string): string {
  const m = parseReleaseManifest(
    readFileSync(join(FIXTURES, 'release-repo', 'releases', `${version}.yaml`), 'utf8'),
    version,
  );
  const info = getServiceInfo(m, svc)!;
  return SERVICES[svc]!.mode === 'docker'
    ? info.digest!
    : info.binaries.find((b) => b.arch === 'linux-amd64')!.checksum!;
}

interface HostState {
  identity: string;
  version: string;
  configHash: string;
  pid: number;
}

/** The in-memory cluster: each replica's identity, config and pid, and a journal of host-changing calls. */
export class World {
  hosts = new Map<string, HostState & { previous?: HostState }>();
  activated: string[] = [];
  finalized: string[] = [];
  rolledBack: { key: string; to: { identity: string; configHash: string } }[] = [];
  private nextPid = 100;
  configs: Record<string, string> = {};

  reset(configs: Record<string, string>): void {
    this.hosts.clear();
    this.activated = [];
    this.finalized = [];
    this.rolledBack = [];
    this.configs = configs;
    for (const [svc, s] of Object.entries(SERVICES)) {
      for (const h of s.hosts) {
        // The canary's previous config differs from the target's: a rollback must restore both.
        const configHash = svc === 'commodore' ? 'old-config' : configs[svc]!;
        this.hosts.set(`${svc}@${h}`, {
          identity: identityIn('v0.1.0', svc),
          version: 'v0.1.0',
          configHash,
          pid: this.nextPid++,
        });
      }
    }
  }

  /* eslint-disable @typescript-eslint/require-await */
  overrides(): Record<string, (...args: never[]) => Promise<unknown>> {
    const detect = (svc: string, host: string): HostDetection => {
      const s = this.hosts.get(`${svc}@${host}`)!;
      return { host, present: true, ...s, running: true, arch: 'linux-amd64' };
    };
    type Step = { service: string; host: string };
    return {
      detectServices: async (i: { services: string[] }) =>
        Object.fromEntries(i.services.map((svc) => [svc, SERVICES[svc]!.hosts.map((h) => detect(svc, h))])),
      detectServiceOnHost: async (i: Step) => detect(i.service, i.host),
      checkImageDigests: async () => [],
      readDatabaseStates: async (i: { databases: string[] }) =>
        i.databases.map((database) => ({
          database,
          // Every shipped migration applied: the schema gate passes.
          ledger: { state: 'ok', database, tableExists: true, rows: SHIPPED.filter((m) => m.database === database) },
          marker: { state: 'ok', marker: '' },
        })),
      readDataMigrationStates: async (i: { requirements: { key: string }[] }) =>
        Object.fromEntries(i.requirements.map((r) => [r.key, { kind: 'status', status: 'completed' }])),
      stageServiceOnHost: async () => ({ action: 'staged' }),
      activateServiceOnHost: async (i: Step & { identity: string; version: string }) => {
        const key = `${i.service}@${i.host}`;
        const s = this.hosts.get(key)!;
        this.activated.push(key);
        const { previous: _p, ...before } = s;
        this.hosts.set(key, {
          identity: i.identity,
          version: i.version,
          configHash: this.configs[i.service]!,
          pid: this.nextPid++,
          previous: before,
        });
        return { action: 'restarted' };
      },
      probeServiceHealth: async () => ({ healthy: true }),
      // As on real hosts: finalize drops what activation kept (the previous container, the compose files kept in
      // .frameworks-previous/), and a rollback needs it.
      finalizeServiceOnHost: async (i: Step) => {
        const key = `${i.service}@${i.host}`;
        const { previous: _dropped, ...s } = this.hosts.get(key)!;
        this.finalized.push(key);
        this.hosts.set(key, s);
        return undefined;
      },
      rollbackServiceOnHost: async (i: Step & { to: { identity: string; configHash: string } }) => {
        const key = `${i.service}@${i.host}`;
        const s = this.hosts.get(key)!;
        // Idempotent: a retried rollback finds the host at its previous state already.
        if (s.identity !== i.to.identity || s.configHash !== i.to.configHash) {
          if (!s.previous) {
            throw ApplicationFailure.nonRetryable(`cannot roll back ${i.service}: nothing was kept`, 'RollbackFailed');
          }
          this.rolledBack.push({ key, to: i.to });
          this.hosts.set(key, { ...(s.previous ?? s), pid: this.nextPid++ });
        }
        return { action: 'rolled-back' };
      },
    };
  }
  /* eslint-enable @typescript-eslint/require-await */
}

const SHIPPED = discoverMigrations(LAB_MIGRATIONS_DIR).items.map((m) => ({
  version: m.version,
  phase: m.phase,
  seq: m.seq,
  filename: m.filename,
  checksum: m.checksum,
  transactional: m.transactional,
  database: m.database,
}));
