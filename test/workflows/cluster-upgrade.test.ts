// `clusterUpgrade` + `serviceUpgrade` workflow logic on the real dev server, with the HOST activities stubbed
// by an in-memory cluster (the subject here is orchestration: order, skip-on-identity, gates before any change,
// approval, rollback, durable health waits). Catalog, release repository, migrations discovery and config
// rendering are the real activities. The same flows run against real hosts in the lab e2e tests.
import { LAB_MIGRATIONS_DIR } from '../../lab/config';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Activities, FetchReleaseSliceInput } from '../../src/activities';
import type { ReleaseSlice } from '../../src/contracts/plan';
import { parseReleaseManifest } from '../../src/contracts/release';
import type { LedgerRow, MigrationItem } from '../../src/contracts/migrations';
import type { ClusterUpgradeInput, ClusterUpgradeProgress, HostDetection } from '../../src/contracts/upgrade';
import { getServiceInfo } from '../../src/domain/release';
import { discoverMigrations } from '../../src/config/migrations';
import { serviceChildWorkflowId, taskQueueFor } from '../../src/temporal/ids';
import { FwCluster, FwServices, FwState } from '../../src/temporal/search-attributes';
import { listRuns } from '../../src/cli/commands/runs';
import { renderUpgradeProgress } from '../../src/cli/commands/upgrade';
import { clusterUpgradeMessages } from '../../src/workflows/messages';
import type { upgradePlan } from '../../src/workflows/upgrade-plan';
import { FIXTURES, writeFixtureCluster } from '../helpers/fixtures';
import { upgradeAllInput } from '../helpers/cluster-upgrade';
import { captureHistory } from '../helpers/history';
import { temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-upgrade';
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
  arch: string;
}

/** The in-memory cluster and a journal of every host-changing call. */
class World {
  hosts = new Map<string, HostState>();
  staged: string[] = [];
  activated: string[] = [];
  rolledBack: string[] = [];
  unhealthy = new Set<string>();
  /** service@host whose staging fails at once (non-retryable): the child rolls back without a health wait. */
  failStage = new Set<string>();
  /** service@host whose staging (download, upload, unpack, pull) fails: nothing on the host changes. */
  stageFails = new Set<string>();
  /** service@host → probes that fail before the first success. */
  slowHealth = new Map<string, number>();
  digestProblems: string[] = [];
  /** Rewrites the real release slice (e.g. drops a checksum the real format allows to be absent). */
  sliceEdit: ((s: ReleaseSlice) => ReleaseSlice) | undefined;
  ledgerRows: LedgerRow[] | null = null;
  dataStatus = 'completed';
  /** detectServices calls (one batch detection each). */
  detectBatches = 0;
  private nextPid = 100;
  configs: Record<string, string> = {};

  reset(version: string, configs: Record<string, string>): void {
    this.hosts.clear();
    this.staged = [];
    this.activated = [];
    this.rolledBack = [];
    this.unhealthy.clear();
    this.failStage.clear();
    this.stageFails.clear();
    this.slowHealth.clear();
    this.digestProblems = [];
    this.sliceEdit = undefined;
    this.ledgerRows = null;
    this.dataStatus = 'completed';
    this.detectBatches = 0;
    this.configs = configs;
    for (const [svc, s] of Object.entries(SERVICES)) {
      for (const h of s.hosts) {
        this.hosts.set(`${svc}@${h}`, {
          identity: identityIn(version, svc),
          version,
          configHash: configs[svc]!,
          pid: this.nextPid++,
          arch: 'linux-amd64',
        });
      }
    }
  }

  // The stubs are synchronous bodies behind the activity's async signature.
  /* eslint-disable @typescript-eslint/require-await */
  overrides(): Record<string, (...args: never[]) => Promise<unknown>> {
    const detect = (svc: string, host: string): HostDetection => {
      const s = this.hosts.get(`${svc}@${host}`);
      return s
        ? {
            host,
            present: true,
            identity: s.identity,
            version: s.version,
            configHash: s.configHash,
            running: true,
            arch: s.arch,
          }
        : { host, present: false, identity: null, version: null, configHash: null, running: false, arch: null };
    };
    type Step = { service: string; host: string };
    return {
      detectServices: async (i: { services: string[] }) => {
        this.detectBatches++;
        return Object.fromEntries(i.services.map((svc) => [svc, SERVICES[svc]!.hosts.map((h) => detect(svc, h))]));
      },
      detectServiceOnHost: async (i: Step) => detect(i.service, i.host),
      checkImageDigests: async () => this.digestProblems,
      fetchReleaseSlice: async (i: FetchReleaseSliceInput) => {
        const real = await releaseActivities!.fetchReleaseSlice(i);
        return this.sliceEdit ? this.sliceEdit(real) : real;
      },
      // Default: every shipped migration is in the ledger (the schema gate passes); tests empty it to refuse.
      readDatabaseStates: async (i: { databases: string[] }) =>
        i.databases.map((database) => ({
          database,
          ledger: {
            state: 'ok',
            database,
            tableExists: true,
            rows: this.ledgerRows ?? SHIPPED.filter((m) => m.database === database).map(toRow),
          },
          marker: { state: 'ok', marker: '' },
        })),
      readDataMigrationStates: async (i: { requirements: { key: string }[] }) =>
        Object.fromEntries(i.requirements.map((r) => [r.key, { kind: 'status', status: this.dataStatus }])),
      stageServiceOnHost: async (i: Step) => {
        if (this.failStage.has(`${i.service}@${i.host}`))
          throw ApplicationFailure.nonRetryable('download failed: checksum mismatch', 'ChecksumMismatch');
        if (this.stageFails.has(`${i.service}@${i.host}`))
          throw ApplicationFailure.nonRetryable('download failed: HTTP 404 for the tarball', 'ArtifactFetchFailed');
        this.staged.push(`${i.service}@${i.host}`);
        return { action: 'staged' };
      },
      activateServiceOnHost: async (i: Step & { identity: string; version: string }) => {
        const key = `${i.service}@${i.host}`;
        const s = this.hosts.get(key)!;
        this.activated.push(key);
        this.hosts.set(key, {
          ...s,
          identity: i.identity,
          version: i.version,
          configHash: this.configs[i.service]!,
          pid: this.nextPid++,
        });
        (this.hosts.get(key) as HostState & { previous?: HostState }).previous = s;
        return { action: 'restarted' };
      },
      probeServiceHealth: async (i: Step) => {
        const key = `${i.service}@${i.host}`;
        const slow = this.slowHealth.get(key);
        if (slow && slow > 0) {
          this.slowHealth.set(key, slow - 1);
          return { healthy: false, error: 'HTTP 503 warming up' };
        }
        return this.unhealthy.has(key) && this.hosts.get(key)!.identity !== identityIn('v0.1.0', i.service)
          ? { healthy: false, error: 'HTTP 500 from /health' }
          : { healthy: true };
      },
      finalizeServiceOnHost: async () => undefined,
      rollbackServiceOnHost: async (i: Step) => {
        const key = `${i.service}@${i.host}`;
        const s = this.hosts.get(key) as HostState & { previous?: HostState };
        this.rolledBack.push(key);
        // A replica that failed before activation still runs its previous state.
        this.hosts.set(key, { ...(s.previous ?? s), pid: this.nextPid++ });
        return { action: 'rolled-back' };
      },
    };
  }
  /* eslint-enable @typescript-eslint/require-await */
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

const world = new World();
let client: Client;
let workers: RunningWorkers;
let manifest: string;
let realConfigs: Record<string, string>;
/** The real release activity (local fixture repository), wrapped by the fetchReleaseSlice stub. */
let releaseActivities: Pick<Activities, 'fetchReleaseSlice'> | undefined;

beforeAll(async () => {
  manifest = writeFixtureCluster({ name: CLUSTER });
  workers = await startWorkers([manifest], world.overrides());
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  // Real config rendering from cluster.yaml, through a short plan-free call of the real activity.
  const { createActivities } = await import('../../src/activities');
  const { loadClusterConfig } = await import('../../src/activities/cluster-config');
  const acts = createActivities({
    clusters: { [CLUSTER]: await loadClusterConfig(manifest) },
    fetcher: undefined as never,
    cacheDir: '/tmp',
  });
  realConfigs = await acts.describeServiceConfigs({ cluster: CLUSTER, services: Object.keys(SERVICES) });
  const { createReleaseFetcher } = await import('../../src/activities/release-repo');
  releaseActivities = createActivities({
    clusters: { [CLUSTER]: await loadClusterConfig(manifest) },
    fetcher: createReleaseFetcher({ cacheDir: mkdtempSync(join(tmpdir(), 'fw-release-cache-')) }),
    cacheDir: '/tmp',
  });
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});
beforeEach(() => world.reset('v0.1.0', realConfigs));

let seq = 0;
async function upgrade(input: Partial<ClusterUpgradeInput>) {
  const handle = await client.workflow.start('clusterUpgrade', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/change-${++seq}`,
    args: [upgradeAllInput(CLUSTER, input)],
  });
  return { handle, result: () => handle.result() as Promise<ClusterUpgradeProgress> };
}

const versions = () => Object.fromEntries([...world.hosts].map(([k, v]) => [k, v.version]));

describe('clusterUpgrade', () => {
  it('--all --yes upgrades in plan order, skips the carried service by content identity; a rerun changes nothing', async () => {
    const plan = await client.workflow.execute<typeof upgradePlan>('upgradePlan', {
      taskQueue: taskQueueFor(CLUSTER),
      workflowId: `fw/${CLUSTER}/plan/${++seq}`,
      args: [{ cluster: CLUSTER, selector: 'v0.2.0', cliVersion: 'v0.3.0' }],
    });
    const run = await upgrade({});
    const r = await run.result();
    await captureHistory(client, run.handle.workflowId, 'cluster-upgrade-all', run.handle.firstExecutionRunId);
    expect(r.state).toBe('completed');
    expect(r.order).toEqual(plan.order);
    // Every child is a run of the cluster too (runs list, the Web UI's FwCluster filter).
    for (const svc of r.services.filter((x) => x.status === 'upgraded').map((x) => x.service)) {
      const child = await client.workflow.getHandle(serviceChildWorkflowId(CLUSTER, svc)).describe();
      expect(child.typedSearchAttributes.get(FwCluster), svc).toBe(CLUSTER);
      expect(child.typedSearchAttributes.get(FwServices), svc).toEqual([svc]);
      // …with a state of its own, as the Web UI's FwState column and `runs list` show it.
      expect(child.typedSearchAttributes.get(FwState), svc).toBe('upgraded');
    }
    // Visibility is eventually consistent: wait for the listing to catch up with the closed child.
    const purserRun = await waitFor('purser child listed as closed', async () => {
      const listed = await listRuns(client, { address: temporalAddress(), namespace: 'default' }, CLUSTER, 100);
      const x = listed.find((l) => l.workflowId === serviceChildWorkflowId(CLUSTER, 'purser'));
      return x?.status === 'COMPLETED' && x;
    });
    expect(purserRun).toMatchObject({ operation: 'upgrade-purser', state: 'upgraded' });
    const foghornPid = world.hosts.get('foghorn@h2')!.pid;
    expect(r.services.find((s) => s.service === 'foghorn')?.status).toBe('skipped');
    expect(world.activated).not.toContain('foghorn@h2');
    // Activation order follows the plan order, replicas one by one.
    const firstIndex = (svc: string) => world.activated.findIndex((k) => k.startsWith(`${svc}@`));
    const activatedOrder = r.order.filter((s) => s !== 'foghorn').sort((a, b) => firstIndex(a) - firstIndex(b));
    expect(activatedOrder).toEqual(r.order.filter((s) => s !== 'foghorn'));
    expect(world.activated.filter((k) => k.startsWith('commodore@'))).toEqual(['commodore@h2', 'commodore@h3']);
    expect(versions()).toMatchObject({
      'quartermaster@h1': 'v0.2.0',
      'commodore@h3': 'v0.2.0',
      'foghorn@h2': 'v0.1.0',
    });

    world.activated = [];
    world.staged = [];
    const again = await (await upgrade({})).result();
    expect(again.state).toBe('completed');
    expect(again.services.every((s) => s.status === 'skipped')).toBe(true);
    expect(world.activated).toEqual([]);
    expect(world.staged).toEqual([]);
    expect(world.hosts.get('foghorn@h2')!.pid).toBe(foghornPid);
  });

  it('a failing service is rolled back; the run fails saying so; earlier stay upgraded, later untouched', async () => {
    world.unhealthy.add('purser@h1');
    const err = await (await upgrade({})).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const msg = String((err as WorkflowFailedError).cause?.message);
    expect(msg).toMatch(/upgrade failed on h1, rolled back to v0\.1\.0/);
    expect(msg).toMatch(/Failed: \[purser\]/);
    expect(world.rolledBack).toEqual(['purser@h1']);
    expect(world.hosts.get('purser@h1')!.version).toBe('v0.1.0');
    const child = await client.workflow.getHandle(serviceChildWorkflowId(CLUSTER, 'purser')).describe();
    expect(child.typedSearchAttributes.get(FwState)).toBe('rolled-back');
    await captureHistory(client, serviceChildWorkflowId(CLUSTER, 'purser'), 'service-upgrade-fw-state-rolled-back');
    const p = await client.workflow.getHandle(`fw/${CLUSTER}/change-${seq}`).query(clusterUpgradeMessages.progress);
    const idx = p.order.indexOf('purser');
    for (const svc of p.order.slice(0, idx)) expect(p.summary?.succeeded).toContain(svc);
    expect(p.summary?.remaining).toEqual(p.order.slice(idx + 1));
    for (const svc of p.summary!.remaining) {
      for (const h of SERVICES[svc]!.hosts) expect(world.hosts.get(`${svc}@${h}`)!.version).toBe('v0.1.0');
    }
  });

  it('a host step failing before activation reads "failed, nothing changed", never "rolled-back"', async () => {
    world.stageFails.add('purser@h1');
    const pid = world.hosts.get('purser@h1')!.pid;
    const err = await (await upgrade({})).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(
      /upgrade failed on h1 before anything changed: .*HTTP 404/,
    );
    expect(world.rolledBack).toEqual([]);
    expect(world.hosts.get('purser@h1')).toMatchObject({ version: 'v0.1.0', pid });
    const p = await client.workflow.getHandle(`fw/${CLUSTER}/change-${seq}`).query(clusterUpgradeMessages.progress);
    const purser = p.services.find((x) => x.service === 'purser')!;
    expect(purser.status).toBe('failed');
    expect(p.summary?.rolledBack).toEqual([]);
    // The host line (gate details may mention the replica too, on deeper-indented lines).
    const line = renderUpgradeProgress(p).find((l) => /^ {6}purser on h1:/.test(l));
    expect(line).toMatch(
      /^ {6}purser on h1: failed: the upgrade from v0\.1\.0 to v0\.2\.0 did not complete — .*HTTP 404.*; failed before activation: nothing changed on h1, nothing to roll back$/,
    );
  });

  it('a replica whose previous identity is unknown is not rolled back: the run fails saying so (reference item 6)', async () => {
    // Detected with a version label but no content identity: nothing to roll back to.
    world.hosts.set('purser@h1', { ...world.hosts.get('purser@h1')!, identity: null as unknown as string });
    world.unhealthy.add('purser@h1');
    const err = await (await upgrade({})).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(/upgrade failed on h1: health check failed/);
    expect(world.rolledBack).toEqual([]);
    const p = await client.workflow.getHandle(`fw/${CLUSTER}/change-${seq}`).query(clusterUpgradeMessages.progress);
    const purser = p.services.find((x) => x.service === 'purser')!;
    expect(purser.status).toBe('failed');
    expect(purser.result?.hosts[0]).toMatchObject({ host: 'h1', action: 'failed' });
    expect(purser.result?.hosts[0]?.detail).toMatch(/previous identity unknown: not rolled back$/);
  });

  it('with --no-rollback the failing service stays upgraded and the run fails', async () => {
    world.unhealthy.add('purser@h1');
    const err = await (await upgrade({ noRollback: true })).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(world.rolledBack).toEqual([]);
    expect(world.hosts.get('purser@h1')!.version).toBe('v0.2.0');
  });

  const gateCases: [string, () => Partial<ClusterUpgradeInput> | undefined, string][] = [
    ['orchestrator below min_cli_version', () => ({ cliVersion: 'v0.1.0' }), 'min-cli-version'],
    [
      'compatibility floor (v0.3.0 needs v0.2.0, cluster runs v0.1.0)',
      () => ({ selector: 'rc' }),
      'compatibility-floor',
    ],
    [
      'digest missing from the registry',
      () => ((world.digestProblems = ['registry.lab.test/frameworks/bridge:v0.2.0@sha256:…: digest not found']), {}),
      'registry',
    ],
    ['no artifact for a host arch', () => ((world.hosts.get('purser@h1')!.arch = 'linux-riscv64'), {}), 'host-arch'],
    ['missing expand migration (schema gate)', () => ((world.ledgerRows = []), {}), 'schema'],
  ];
  for (const [what, setup, gate] of gateCases) {
    it(`refuses before any host changes: ${what}`, async () => {
      const input = setup() ?? {};
      if (gate !== 'schema') world.ledgerRows = null;
      const before = versions();
      const r = await (await upgrade(input)).result();
      expect(r.state).toBe('refused');
      expect(r.checks.find((c) => c.id === gate)?.status).toBe('refuse');
      expect(world.staged).toEqual([]);
      expect(world.activated).toEqual([]);
      expect(versions()).toEqual(before);
    });
  }

  it('a native artifact without checksum refuses only its own service; another service still upgrades', async () => {
    // The real format allows the absence (the manifest is accepted); the service cannot be pinned by content.
    world.sliceEdit = (s) => ({
      ...s,
      services: {
        ...s.services,
        quartermaster: {
          ...s.services['quartermaster']!,
          artifacts: s.services['quartermaster']!.artifacts.map(({ arch, url }) => ({ arch, ...(url ? { url } : {}) })),
        },
      },
    });
    const missing =
      'quartermaster: native artifact linux-amd64 has no checksum (native_binaries[].artifacts[].checksum): ' +
      'it cannot be pinned by content';
    for (const services of ['all', ['quartermaster']] as const) {
      const r = await (await upgrade({ services: services === 'all' ? 'all' : [...services] })).result();
      expect(r.state, String(services)).toBe('refused');
      const gate = r.checks.find((c) => c.id === 'artifacts');
      expect(gate?.status).toBe('refuse');
      expect(gate?.detail).toContain(missing);
      expect(gate?.detail).not.toContain('purser');
    }
    expect(world.staged).toEqual([]);
    const other = await (await upgrade({ services: ['purser'] })).result();
    expect(other.checks.find((c) => c.id === 'artifacts')?.status).toBe('pass');
    expect(other.state).toBe('completed');
    expect(world.activated).toEqual(['purser@h1']);
  });

  it('refuses a pending required data migration of a prior release', async () => {
    // Pretend the cluster already runs v0.2.0 so the compatibility floor passes, then aim at v0.3.0-rc1.
    world.reset('v0.2.0', realConfigs);
    world.dataStatus = 'running';
    const r = await (await upgrade({ selector: 'rc' })).result();
    expect(r.state).toBe('refused');
    const gate = r.checks.find((c) => c.id === 'data-migrations');
    expect(gate?.status).toBe('refuse');
    expect(gate?.detail).toContain('purser/invoice-line-items');
    expect(world.staged).toEqual([]);
  });

  it('waits for approval of the exact plan; dry-run previews per host and changes nothing', async () => {
    const dry = await (await upgrade({ dryRun: true, approved: false })).result();
    expect(dry.state).toBe('dry-run');
    expect(dry.preview.map((p) => p.line)).toContain('would upgrade commodore on h2 from v0.1.0 to v0.2.0');
    expect(dry.preview.find((p) => p.service === 'foghorn')?.line).toMatch(/already at v0\.1\.0.*skip/);
    expect(world.staged).toEqual([]);

    const run = await upgrade({ approved: false });
    const p = await waitFor('the run to await approval', async () => {
      const q = await run.handle.query(clusterUpgradeMessages.progress);
      return q.state === 'awaiting-approval' && q;
    });
    expect(world.activated).toEqual([]);
    const stale = await run.handle.executeUpdate('approve', { args: [{ planHash: 'other' }] }).catch((e: unknown) => e);
    expect(String((stale as { cause?: Error }).cause?.message)).toMatch(/plan changed/);
    await run.handle.executeUpdate('approve', { args: [{ planHash: p.planHash }] });
    expect((await run.result()).state).toBe('completed');
  });

  it('--yes settles services at target on the plan’s own detection; approved later, it detects again first', async () => {
    const first = await (await upgrade({})).result();
    expect(first.state).toBe('completed');
    world.activated = [];
    world.detectBatches = 0;
    // Approved up front: the plan's detection (seconds old, nothing waited in between) is the fresh one.
    const again = await (await upgrade({})).result();
    expect(again.services.every((s) => s.status === 'skipped')).toBe(true);
    expect(world.detectBatches).toBe(1);
    expect(world.activated).toEqual([]);

    // Approved later: a replica that changed while the plan waited is upgraded, not settled on the plan's facts.
    world.detectBatches = 0;
    const run = await upgrade({ approved: false });
    const p = await waitFor('the run to await approval', async () => {
      const q = await run.handle.query(clusterUpgradeMessages.progress);
      return q.state === 'awaiting-approval' && q;
    });
    world.hosts.get('commodore@h3')!.identity = 'sha256:' + 'ee'.repeat(32);
    await run.handle.executeUpdate('approve', { args: [{ planHash: p.planHash }] });
    const r = await run.result();
    expect(r.state).toBe('completed');
    expect(world.detectBatches).toBe(2);
    expect(r.services.find((s) => s.service === 'commodore')?.status).toBe('upgraded');
    expect(world.activated).toEqual(['commodore@h3']);
  });

  it('a worker restarted during a health wait resumes on durable timers without restarting the service again', async () => {
    world.slowHealth.set('quartermaster@h1', 6);
    const run = await upgrade({
      services: ['quartermaster'],
      healthDeadline: '30 seconds',
      healthInterval: '500 milliseconds',
    });
    await waitFor('quartermaster@h1 activated', () => world.activated.includes('quartermaster@h1'));
    await workers.stop();
    await new Promise((r) => setTimeout(r, 1_000));
    workers = await startWorkers([manifest], world.overrides());
    const r = await run.result();
    expect(r.state).toBe('completed');
    expect(world.activated.filter((k) => k === 'quartermaster@h1')).toHaveLength(1);
    expect(world.rolledBack).toEqual([]);
  });
});

/** The parent's child runs by service, as event ids of its history (server order, not the test machine's clock). */
async function childSpans(handle: WorkflowHandle) {
  const spans = new Map<string, { initiated: number; started: number; closed: number }>();
  const svcOf = (id: string | null | undefined) => String(id).split('/').pop()!;
  const initiatedBy = new Map<number, string>();
  for (const e of (await handle.fetchHistory()).events ?? []) {
    const id = Number(e.eventId);
    const init = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (init) {
      initiatedBy.set(id, svcOf(init.workflowId));
      spans.set(svcOf(init.workflowId), { initiated: id, started: 0, closed: 0 });
    }
    const started = e.childWorkflowExecutionStartedEventAttributes;
    if (started) spans.get(svcOf(started.workflowExecution?.workflowId))!.started = id;
    const closed =
      e.childWorkflowExecutionCompletedEventAttributes ??
      e.childWorkflowExecutionFailedEventAttributes ??
      e.childWorkflowExecutionTerminatedEventAttributes;
    if (closed) spans.get(svcOf(closed.workflowExecution?.workflowId))!.closed = id;
  }
  return spans;
}

describe('clusterUpgrade --parallel', () => {
  const overlap = (a: { started: number; closed: number }, b: { started: number; closed: number }) =>
    a.started < b.closed && b.started < a.closed;

  it('--parallel 3 runs a wave concurrently and starts no service before its earlier waves finished', async () => {
    // foghorn is carried into v0.2.0 by identity; a stale config makes it change, so wave 3 has two children.
    world.hosts.get('foghorn@h2')!.configHash = 'stale';
    world.slowHealth.set('foghorn@h2', 2);
    world.slowHealth.set('purser@h1', 2);
    const plan = await client.workflow.execute<typeof upgradePlan>('upgradePlan', {
      taskQueue: taskQueueFor(CLUSTER),
      workflowId: `fw/${CLUSTER}/plan/${++seq}`,
      args: [{ cluster: CLUSTER, selector: 'v0.2.0', cliVersion: 'v0.3.0' }],
    });
    expect(plan.waves).toEqual([['quartermaster'], ['commodore'], ['foghorn', 'purser'], ['bridge']]);
    const run = await upgrade({ parallel: 3 });
    const r = await run.result();
    await captureHistory(client, run.handle.workflowId, 'cluster-upgrade-parallel', run.handle.firstExecutionRunId);
    expect(r.state).toBe('completed');
    expect(r.waves).toEqual(plan.waves);
    expect(r.summary).toEqual({
      succeeded: ['quartermaster', 'commodore', 'foghorn', 'purser', 'bridge'],
      failed: [],
      rolledBack: [],
      remaining: [],
    });
    const spans = await childSpans(run.handle);
    expect([...spans.keys()].sort()).toEqual(['bridge', 'commodore', 'foghorn', 'purser', 'quartermaster']);
    expect(overlap(spans.get('foghorn')!, spans.get('purser')!), 'foghorn and purser overlap').toBe(true);
    // Dependencies: every child of wave k is initiated after every child of the waves before it closed.
    for (const [k, wave] of plan.waves.entries()) {
      for (const svc of wave) {
        for (const dep of plan.waves.slice(0, k).flat()) {
          expect(spans.get(svc)!.initiated, `${svc} after ${dep}`).toBeGreaterThan(spans.get(dep)!.closed);
        }
      }
    }
    // Replicas of one service stay one by one.
    expect(world.activated.filter((k) => k.startsWith('commodore@'))).toEqual(['commodore@h2', 'commodore@h3']);
    expect(world.hosts.get('foghorn@h2')!.configHash).toBe(realConfigs['foghorn']);
  });

  it('a failure mid-wave stops new starts, lets the running child finish, reports the failed one', async () => {
    world.hosts.get('foghorn@h2')!.configHash = 'stale';
    world.slowHealth.set('foghorn@h2', 4);
    world.failStage.add('purser@h1');
    // foghorn must outlive purser's failure and then pass: a deadline the loaded CI machine cannot miss.
    const run = await upgrade({ parallel: 3, healthDeadline: '30 seconds' });
    const err = await run.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const msg = String((err as WorkflowFailedError).cause?.message);
    // Staging failed before activation: nothing changed on the host, so nothing is rolled back.
    expect(msg).toMatch(/upgrade failed on h1 before anything changed.*download failed: checksum mismatch/s);
    expect(msg).toMatch(/Succeeded: \[quartermaster, commodore, foghorn\], Failed: \[purser\], Remaining: \[bridge\]/);
    const spans = await childSpans(run.handle);
    // purser failed while foghorn still ran; foghorn finished (upgraded) after it; bridge never started.
    expect(overlap(spans.get('foghorn')!, spans.get('purser')!)).toBe(true);
    expect(spans.get('purser')!.closed).toBeLessThan(spans.get('foghorn')!.closed);
    expect(spans.has('bridge')).toBe(false);
    const p = await run.handle.query(clusterUpgradeMessages.progress);
    expect(p.summary).toEqual({
      succeeded: ['quartermaster', 'commodore', 'foghorn'],
      failed: ['purser'],
      rolledBack: [],
      remaining: ['bridge'],
    });
    expect(world.rolledBack).toEqual([]);
    expect(world.activated).toContain('foghorn@h2');
    expect(world.hosts.get('foghorn@h2')!.configHash).toBe(realConfigs['foghorn']);
    expect(world.hosts.get('bridge@h3')!.version).toBe('v0.1.0');
  });
});
