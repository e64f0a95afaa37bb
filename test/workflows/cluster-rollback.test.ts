// `clusterRollback` on the real dev server, after a real `clusterUpgrade` v0.1.0 → v0.2.0 of the fixture cluster,
// with the HOST activities stubbed by an in-memory cluster (the subject: which replicas go back where, in which
// order, what is refused, approval by plan hash). The record is read with the CLI's own code (run-record.ts) from
// the upgrade run's progress; catalog, release repository and config rendering are the real activities. The same
// flow runs against real hosts in test/e2e/rollback-lab.test.ts.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LAB_MIGRATIONS_DIR } from '../../lab/config';
import type { Activities, FetchReleaseSliceInput } from '../../src/activities';
import { discoverMigrations } from '../../src/config/migrations';
import type { LedgerRow, MigrationItem } from '../../src/contracts/migrations';
import { parseReleaseManifest } from '../../src/contracts/release';
import type { ClusterRollbackInput, ClusterRollbackProgress } from '../../src/contracts/rollback';
import type { ClusterUpgradeProgress, HostDetection } from '../../src/contracts/upgrade';
import { laterRuns, readRunRecord } from '../../src/cli/run-record';
import { getServiceInfo } from '../../src/domain/release';
import { changeWorkflowId, taskQueueFor } from '../../src/temporal/ids';
import { clusterRollbackMessages } from '../../src/workflows/messages';
import { FIXTURES, writeFixtureCluster } from '../helpers/fixtures';
import { captureHistory } from '../helpers/history';
import { temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-rollback';
const CHANGE = changeWorkflowId(CLUSTER);
const SERVICES: Record<string, { mode: 'native' | 'docker'; hosts: string[] }> = {
  quartermaster: { mode: 'native', hosts: ['h1'] },
  purser: { mode: 'native', hosts: ['h1'] },
  commodore: { mode: 'docker', hosts: ['h2', 'h3'] },
  foghorn: { mode: 'docker', hosts: ['h2'] },
  bridge: { mode: 'docker', hosts: ['h3'] },
};

function identityIn(version: string, svc: string): string {
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
  previous?: HostState;
}

const SHIPPED: MigrationItem[] = discoverMigrations(LAB_MIGRATIONS_DIR).items;
const toRow = (m: MigrationItem): LedgerRow => ({
  version: m.version,
  phase: m.phase,
  seq: m.seq,
  filename: m.filename,
  checksum: m.checksum,
  transactional: m.transactional,
});

class World {
  hosts = new Map<string, HostState>();
  staged: string[] = [];
  activated: string[] = [];
  /** Pre-run artifacts removed from hosts (service@host). */
  gone = new Set<string>();
  contractRan = false;
  /** Services the release manifest's rollback_disabled names (as the release repository would serve it). */
  manifestDisabled: string[] = [];
  configs: Record<string, string> = {};
  private nextPid = 100;

  reset(configs: Record<string, string>): void {
    this.hosts.clear();
    this.staged = [];
    this.activated = [];
    this.gone.clear();
    this.contractRan = false;
    this.manifestDisabled = [];
    this.configs = configs;
    for (const [svc, s] of Object.entries(SERVICES)) {
      for (const h of s.hosts) {
        this.hosts.set(`${svc}@${h}`, {
          identity: identityIn('v0.1.0', svc),
          version: 'v0.1.0',
          configHash: configs[svc]!,
          pid: this.nextPid++,
        });
      }
    }
  }

  /* eslint-disable @typescript-eslint/require-await */
  overrides(): Record<string, (...args: never[]) => Promise<unknown>> {
    const detect = (svc: string, host: string): HostDetection => {
      const s = this.hosts.get(`${svc}@${host}`)!;
      return {
        host,
        present: true,
        identity: s.identity,
        version: s.version,
        configHash: s.configHash,
        running: true,
        arch: 'linux-amd64',
      };
    };
    type Step = { service: string; host: string };
    return {
      detectServices: async (i: { services: string[] }) =>
        Object.fromEntries(i.services.map((svc) => [svc, SERVICES[svc]!.hosts.map((h) => detect(svc, h))])),
      detectServiceOnHost: async (i: Step) => detect(i.service, i.host),
      checkImageDigests: async () => [],
      fetchReleaseSlice: async (i: FetchReleaseSliceInput) => {
        const slice = await releaseActivities!.fetchReleaseSlice(i);
        return { ...slice, rollbackDisabled: [...slice.rollbackDisabled, ...this.manifestDisabled] };
      },
      readDatabaseStates: async (i: { databases: string[] }) =>
        i.databases.map((database) => ({
          database,
          ledger: {
            state: 'ok',
            database,
            tableExists: true,
            rows: SHIPPED.filter((m) => m.database === database && (this.contractRan || m.phase !== 'contract')).map(
              toRow,
            ),
          },
          marker: { state: 'ok', marker: '' },
        })),
      readDataMigrationStates: async (i: { requirements: { key: string }[] }) =>
        Object.fromEntries(i.requirements.map((r) => [r.key, { kind: 'status', status: 'completed' }])),
      stageServiceOnHost: async (i: Step) => {
        this.staged.push(`${i.service}@${i.host}`);
        return { action: 'staged' };
      },
      activateServiceOnHost: async (i: Step & { identity: string; version: string }) => {
        const key = `${i.service}@${i.host}`;
        const s = this.hosts.get(key)!;
        this.activated.push(key);
        this.hosts.set(key, {
          identity: i.identity,
          version: i.version,
          configHash: this.configs[i.service]!,
          pid: this.nextPid++,
          previous: s,
        });
        return { action: 'restarted' };
      },
      probeServiceHealth: async () => ({ healthy: true }),
      finalizeServiceOnHost: async () => undefined,
      rollbackServiceOnHost: async (i: Step) => {
        const key = `${i.service}@${i.host}`;
        const s = this.hosts.get(key)!;
        this.hosts.set(key, { ...(s.previous ?? s), pid: this.nextPid++ });
        return { action: 'rolled-back' };
      },
      inspectRollbackHosts: async (i: { replicas: { service: string; host: string; identity: string }[] }) =>
        i.replicas.map((q) => {
          const key = `${q.service}@${q.host}`;
          const present = !this.gone.has(key);
          const docker = SERVICES[q.service]!.mode === 'docker';
          return {
            service: q.service,
            host: q.host,
            detection: detect(q.service, q.host),
            artifact: {
              present,
              ...(docker && present ? { imageRef: `10.0.0.1:5000/frameworks/${q.service}@${q.identity}` } : {}),
              where: present ? 'there' : `/opt/frameworks/${q.service}/releases/${q.identity.slice(7)} is missing`,
            },
          };
        }),
    };
  }
  /* eslint-enable @typescript-eslint/require-await */
}

const world = new World();
let client: Client;
let workers: RunningWorkers;
let configs: Record<string, string>;
let releaseActivities: Pick<Activities, 'fetchReleaseSlice'> | undefined;

beforeAll(async () => {
  const manifest = writeFixtureCluster({ name: CLUSTER });
  workers = await startWorkers([manifest], world.overrides());
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  const { createActivities } = await import('../../src/activities');
  const { loadClusterConfig } = await import('../../src/activities/cluster-config');
  const { createReleaseFetcher } = await import('../../src/activities/release-repo');
  const acts = createActivities({
    clusters: { [CLUSTER]: await loadClusterConfig(manifest) },
    fetcher: createReleaseFetcher({ cacheDir: mkdtempSync(join(tmpdir(), 'fw-release-cache-')) }),
    cacheDir: '/tmp',
  });
  configs = await acts.describeServiceConfigs({ cluster: CLUSTER, services: Object.keys(SERVICES) });
  releaseActivities = acts;
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});
beforeEach(() => world.reset(configs));

/** A real upgrade of every service to v0.2.0 on the change lock; returns its run id. */
async function upgradeAll(): Promise<string> {
  const handle = await client.workflow.start('clusterUpgrade', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: CHANGE,
    args: [
      {
        cluster: CLUSTER,
        services: 'all',
        selector: 'v0.2.0',
        cliVersion: 'v0.3.0',
        approved: true,
        healthInterval: '200 milliseconds',
        healthDeadline: '2 seconds',
      },
    ],
  });
  const r = (await handle.result()) as ClusterUpgradeProgress;
  expect(r.state).toBe('completed');
  return handle.firstExecutionRunId;
}

async function rollbackInput(runId: string, over: Partial<ClusterRollbackInput> = {}): Promise<ClusterRollbackInput> {
  const record = await readRunRecord(client, CLUSTER, runId);
  return {
    cluster: CLUSTER,
    record,
    later: await laterRuns(client, CLUSTER, record.closedAt!, runId),
    cliVersion: 'v0.3.0',
    healthInterval: '200 milliseconds',
    healthDeadline: '2 seconds',
    ...over,
  };
}

async function rollback(input: ClusterRollbackInput) {
  const handle = await client.workflow.start('clusterRollback', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: input.dryRun ? `fw/${CLUSTER}/rollback-dry-run/${Math.random()}` : CHANGE,
    args: [input],
  });
  return handle;
}

const refused = (p: ClusterRollbackProgress) =>
  Object.fromEntries(p.checks.filter((c) => c.status === 'refuse').map((c) => [c.id, c.detail]));

describe('clusterRollback', () => {
  it('after v0.1.0 → v0.2.0: dry-run, then approval by plan hash; every moved replica back, the rest untouched', async () => {
    const runId = await upgradeAll();
    const atV020 = new Map(world.hosts);
    const record = await readRunRecord(client, CLUSTER, runId);
    // The record names identities and configs on both sides of every moved replica.
    const moved = record.replicas.filter((r) => r.action === 'upgraded');
    expect(moved.length).toBeGreaterThan(0);
    for (const r of moved) {
      expect(r.from, `${r.service}@${r.host}`).toEqual({
        identity: identityIn('v0.1.0', r.service),
        configHash: configs[r.service],
        version: 'v0.1.0',
      });
    }
    const skipped = record.replicas.filter((r) => r.action === 'skipped').map((r) => `${r.service}@${r.host}`);
    expect(skipped).toContain('foghorn@h2');

    const dry = (await (
      await rollback(await rollbackInput(runId, { dryRun: true }))
    ).result()) as ClusterRollbackProgress;
    expect(dry.state).toBe('dry-run');
    expect(refused(dry)).toEqual({});
    expect(dry.preview.map((x) => x.line)).toContain('foghorn on h2: not changed by the run (skipped), untouched');
    expect(dry.migrations.stayApplied.some((m) => /v0\.2\.0\/expand\//.test(m))).toBe(true);
    // Reverse of the upgrade's order.
    const upgradeOrder = record.order.filter((s) => moved.some((r) => r.service === s));
    expect([...new Set(dry.steps.map((s) => s.service))]).toEqual([...upgradeOrder].reverse());
    expect(world.hosts).toEqual(atV020);

    world.staged = [];
    world.activated = [];
    const handle = await rollback(await rollbackInput(runId));
    const waiting = await waitFor('the rollback to await approval', async () => {
      const p = await handle.query(clusterRollbackMessages.progress);
      return p.state === 'awaiting-approval' ? p : undefined;
    });
    const wrong = await handle
      .executeUpdate(clusterRollbackMessages.approve, { args: [{ planHash: 'not-the-plan', operator: 't' }] })
      .then(
        () => 'accepted',
        (err: unknown) => String((err as { cause?: { message?: string } }).cause?.message),
      );
    expect(wrong).toMatch(/the plan changed since it was shown/);
    await handle.executeUpdate(clusterRollbackMessages.approve, {
      args: [{ planHash: waiting.planHash, operator: 't' }],
    });
    const done = (await handle.result()) as ClusterRollbackProgress;
    await captureHistory(client, CHANGE, 'cluster-rollback-v0.2.0', handle.firstExecutionRunId);
    expect(done.state).toBe('completed');
    expect(done.summary?.failed).toEqual([]);
    // Nothing downloaded or pulled; replicas one by one in the plan's order.
    expect(world.staged).toEqual([]);
    expect(world.activated).toEqual(done.steps.flatMap((s) => s.hosts.map((h) => `${s.service}@${h}`)));
    for (const [key, s] of world.hosts) {
      const svc = key.split('@')[0]!;
      expect(s.identity, key).toBe(identityIn('v0.1.0', svc));
      expect(s.configHash, key).toBe(configs[svc]);
      const changed = moved.some((r) => `${r.service}@${r.host}` === key);
      // Pids changed only where something changed.
      if (changed) expect(s.pid, key).not.toBe(atV020.get(key)!.pid);
      else expect(s.pid, key).toBe(atV020.get(key)!.pid);
    }

    // The same run again: the rollback itself is a later run that moved the same replicas.
    const again = await waitFor('the rollback run in visibility', async () => {
      const input = await rollbackInput(runId, { dryRun: true });
      return (input.later ?? []).some((l) => l.type === 'clusterRollback' && l.moved.length > 0) ? input : undefined;
    });
    const second = (await (await rollback(again)).result()) as ClusterRollbackProgress;
    expect(second.state).toBe('refused');
    expect(refused(second)['later-runs']).toMatch(
      new RegExp(`^clusterRollback run ${handle.firstExecutionRunId} .* moved .*quartermaster@h1`),
    );
  });

  it('refuses after the contract of the rolled-back release ran, naming the migration; nothing changes', async () => {
    const runId = await upgradeAll();
    world.contractRan = true;
    const before = new Map(world.hosts);
    const p = (await (
      await rollback(await rollbackInput(runId, { approved: true }))
    ).result()) as ClusterRollbackProgress;
    expect(p.state).toBe('refused');
    expect(refused(p).contract).toMatch(/contract migrations of v0\.2\.0 already ran.*v0\.2\.0\/contract\//);
    expect(world.hosts).toEqual(before);
  });

  it('refuses when the previous artifact is gone from a host, naming it', async () => {
    const runId = await upgradeAll();
    world.gone.add('quartermaster@h1');
    const p = (await (
      await rollback(await rollbackInput(runId, { approved: true }))
    ).result()) as ClusterRollbackProgress;
    expect(p.state).toBe('refused');
    expect(refused(p).artifacts).toMatch(/^quartermaster@h1: v0\.1\.0 \(sha256:.*\) is gone from h1: .*is missing$/);
  });

  it('refuses when rollback_disabled of the release names a moved service; --exclude leaves it and reverts the rest', async () => {
    const runId = await upgradeAll();
    world.manifestDisabled = ['purser'];
    const before = new Map(world.hosts);
    const p = (await (
      await rollback(await rollbackInput(runId, { approved: true }))
    ).result()) as ClusterRollbackProgress;
    expect(p.state).toBe('refused');
    expect(refused(p)['rollback-disabled']).toBe('purser: rollback_disabled in release manifest v0.2.0');
    expect(p.checks.find((c) => c.id === 'rollback-disabled')?.fix).toBe('leave purser as they are: --exclude purser');
    expect(world.hosts).toEqual(before);

    // Excluded, purser stays where the run left it; every other moved replica goes back.
    const done = (await (
      await rollback(await rollbackInput(runId, { approved: true, exclude: ['purser'] }))
    ).result()) as ClusterRollbackProgress;
    expect(refused(done)).toEqual({});
    expect(done.state).toBe('completed');
    expect(done.steps.map((s) => s.service)).not.toContain('purser');
    expect(done.preview.map((x) => x.line)).toContain('purser on h1: excluded, stays at v0.2.0');
    expect(world.hosts.get('purser@h1')).toEqual(before.get('purser@h1'));
    for (const [key, s] of world.hosts) {
      const svc = key.split('@')[0]!;
      if (svc !== 'purser') expect(s.identity, key).toBe(identityIn('v0.1.0', svc));
    }
  });
});
