// Issue 11 (items 1–6, 8, 9) on the real dev server: `clusterUpgrade` and `release` with the HOST activities stubbed
// (the subject is the workflows' decisions), and everything else real — catalog, the release repository (a
// per-file copy of the fixture one, so a test can add required_transitions), findReleasesPinning, migrations
// discovery, config rendering. Each case fails on the code before these gates.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createActivities } from '../../src/activities';
import { loadClusterConfig } from '../../src/activities/cluster-config';
import { parseReleaseManifest } from '../../src/contracts/release';
import type { ReleaseInput, ReleaseProgress } from '../../src/contracts/release-run';
import type { ClusterUpgradeInput, ClusterUpgradeProgress, HostDetection } from '../../src/contracts/upgrade';
import type { UpgradePlan } from '../../src/contracts/plan';
import { getServiceInfo } from '../../src/domain/release';
import { serviceChildWorkflowId, taskQueueFor } from '../../src/temporal/ids';
import { clusterUpgradeMessages } from '../../src/workflows/messages';
import { frameworksAsync } from '../helpers/cli';
import { FIXTURES, writeFixtureCluster } from '../helpers/fixtures';
import { captureHistory } from '../helpers/history';
import { temporalAddress } from '../helpers/servers';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-proven-gates';
const HOSTS: Record<string, string[]> = {
  quartermaster: ['h1'],
  purser: ['h1'],
  commodore: ['h2', 'h3'],
  foghorn: ['h2'],
  bridge: ['h3'],
};
const DOCKER = new Set(['commodore', 'foghorn', 'bridge']);

const work = mkdtempSync(join(tmpdir(), 'fw-proven-'));
const catalogDir = join(work, 'catalog');
const repoDir = join(work, 'release-repo');
type Doc = Record<string, unknown> & { releases: Record<string, unknown>[] };
function editCatalog(fn: (doc: Doc) => void): void {
  const doc = parse(readFileSync(join(FIXTURES, 'catalog', 'releases.yaml'), 'utf8')) as Doc;
  fn(doc);
  writeFileSync(join(catalogDir, 'releases.yaml'), stringify(doc));
}
function editManifest(tag: string, fn: (doc: Record<string, unknown>) => void): void {
  const doc = parse(readFileSync(join(FIXTURES, 'release-repo', 'releases', `${tag}.yaml`), 'utf8')) as Record<
    string,
    unknown
  >;
  fn(doc);
  writeFileSync(join(repoDir, 'releases', `${tag}.yaml`), stringify(doc));
}

/** What the release `tag` pins for a service (its image digest, or the linux-amd64 tarball). */
function identityIn(tag: string, svc: string): string {
  const m = parseReleaseManifest(readFileSync(join(FIXTURES, 'release-repo', 'releases', `${tag}.yaml`), 'utf8'), tag);
  const info = getServiceInfo(m, svc)!;
  return DOCKER.has(svc) ? info.digest! : info.binaries.find((b) => b.arch === 'linux-amd64')!.checksum!;
}

// ---- the stubbed hosts ----
const journal: string[] = [];
/** Per replica (`svc@host`): what detection reports. Default: what `release` pins, with its service label. */
let release = 'v0.2.0';
let replica: (svc: string, host: string) => Partial<HostDetection> = () => ({});
let configs: Record<string, string> = {};
/** `svc@host` → probes that fail before the first healthy one (Infinity: never healthy). */
const failingProbes = new Map<string, number>();
let marker = '';

function detect(svc: string, host: string): HostDetection {
  const m = parseReleaseManifest(
    readFileSync(join(FIXTURES, 'release-repo', 'releases', `${release}.yaml`), 'utf8'),
    release,
  );
  return {
    host,
    present: true,
    identity: identityIn(release, svc),
    version: getServiceInfo(m, svc)!.version,
    configHash: configs[svc]!,
    running: true,
    arch: 'linux-amd64',
    ...replica(svc, host),
  };
}

let client: Client;
let workers: RunningWorkers;
let manifest: string;

beforeAll(async () => {
  cpSync(join(FIXTURES, 'catalog'), catalogDir, { recursive: true });
  cpSync(join(FIXTURES, 'release-repo'), repoDir, { recursive: true });
  manifest = writeFixtureCluster({ name: CLUSTER, catalogDir, releaseRepositories: [repoDir] });
  configs = await createActivities({
    clusters: { [CLUSTER]: await loadClusterConfig(manifest) },
    fetcher: undefined as never,
    cacheDir: '/tmp',
  }).describeServiceConfigs({ cluster: CLUSTER, services: Object.keys(HOSTS) });
  const changing = (name: string) => (i: { service: string; host: string }) => {
    journal.push(`${name} ${i.service}@${i.host}`);
    return Promise.resolve({ action: name });
  };
  workers = await startWorkers([manifest], {
    detectServices: (i: { services: string[] }) =>
      Promise.resolve(Object.fromEntries(i.services.map((s) => [s, HOSTS[s]!.map((h) => detect(s, h))]))),
    detectServiceOnHost: (i: { service: string; host: string }) => Promise.resolve(detect(i.service, i.host)),
    checkImageDigests: () => Promise.resolve([]),
    readDatabaseStates: (i: { databases: string[] }) =>
      Promise.resolve(
        i.databases.map((database) => ({
          database,
          ledger: { state: 'ok', database, tableExists: true, rows: [] },
          marker: { state: 'ok', marker },
        })),
      ),
    readDataMigrationStates: (i: { requirements: { key: string }[] }) =>
      Promise.resolve(Object.fromEntries(i.requirements.map((r) => [r.key, { kind: 'status', status: 'completed' }]))),
    stageServiceOnHost: changing('stage'),
    activateServiceOnHost: changing('activate'),
    probeServiceHealth: (i: { service: string; host: string }) => {
      const key = `${i.service}@${i.host}`;
      const left = failingProbes.get(key) ?? 0;
      journal.push(`probe ${key}`);
      if (left <= 0) return Promise.resolve({ healthy: true });
      failingProbes.set(key, left - 1);
      return Promise.resolve({ healthy: false, error: 'HTTP 503' });
    },
    finalizeServiceOnHost: changing('finalize'),
    rollbackServiceOnHost: changing('rollback'),
  });
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});
beforeEach(() => {
  journal.length = 0;
  release = 'v0.2.0';
  replica = () => ({});
  failingProbes.clear();
  marker = '';
  editCatalog(() => undefined);
  for (const tag of ['v0.1.0', 'v0.2.0', 'v0.3.0-rc1']) editManifest(tag, () => undefined);
});

let seq = 0;
function upgrade(input: Partial<ClusterUpgradeInput> = {}, workflowId?: string): Promise<ClusterUpgradeProgress> {
  return client.workflow.execute<(i: ClusterUpgradeInput) => Promise<ClusterUpgradeProgress>>('clusterUpgrade', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: workflowId ?? `fw/${CLUSTER}/change-${++seq}`,
    args: [
      {
        cluster: CLUSTER,
        services: 'all',
        selector: 'v0.3.0-rc1',
        cliVersion: 'v0.3.0',
        approved: true,
        // The stubbed ledgers are empty; the schema gate is not the subject (the below-floor cases turn it on).
        skipMigrationCheck: true,
        healthInterval: '100 milliseconds',
        healthDeadline: '1 second',
        ...input,
      },
    ],
  });
}
function releaseRun(input: Partial<ReleaseInput> = {}): Promise<ReleaseProgress> {
  return client.workflow.execute<(i: ReleaseInput) => Promise<ReleaseProgress>>('release', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/release-${++seq}`,
    args: [{ cluster: CLUSTER, selector: 'v0.3.0-rc1', cliVersion: 'v0.3.0', dryRun: true, ...input }],
  });
}
const refused = (p: { checks: { id: string; status: string }[] }) =>
  p.checks.filter((c) => c.status === 'refuse').map((c) => c.id);
const gate = (p: ClusterUpgradeProgress, id: string) => p.checks.find((c) => c.id === id)!;

describe('floor judged by content identity (item 1)', () => {
  it('v0.2.0 → v0.3.0-rc1 with foghorn carried at label v0.1.0 passes the v0.2.0 floor and upgrades', async () => {
    const id = `fw/${CLUSTER}/change-${++seq}`;
    const p = await upgrade({}, id);
    await captureHistory(client, id, 'cluster-upgrade-proven-carried-rc');
    expect(refused(p)).toEqual([]);
    expect(p.state).toBe('completed');
    const lines = gate(p, 'replica-lines').detail.split('\n');
    expect(lines).toContain('foghorn on h2: v0.2.0 by content identity (pinned by v0.1.0, v0.2.0)');
    expect(lines).toContain('bridge on h3: v0.2.0 by content identity (pinned by v0.2.0)');
    expect(journal.filter((j) => j.startsWith('activate '))).toHaveLength(6);
  });

  it('a replica that truly runs below the floor is refused, naming the evidence', async () => {
    replica = (svc) => (svc === 'bridge' ? { identity: identityIn('v0.1.0', 'bridge'), version: 'v0.1.0' } : {});
    const p = await upgrade();
    expect(p.state).toBe('refused');
    expect(refused(p)).toEqual(['compatibility-floor']);
    expect(gate(p, 'compatibility-floor').detail).toBe(
      "bridge on h3 runs v0.1.0 (by content identity, pinned by v0.1.0): below v0.3.0-rc1's compatibility floor v0.2.0; deploy v0.2.0 first",
    );
    expect(journal).toEqual([]);
  });
});

describe('unknown release line (item 2)', () => {
  // v0.1.0 → v0.2.0 (no floor in the way): before these gates, a replica without a version was dropped silently.
  beforeEach(() => {
    release = 'v0.1.0';
    // A container this tool did not create: no frameworks.version label, an image no manifest pins.
    replica = (svc) => (svc === 'bridge' ? { identity: `sha256:${'e'.repeat(64)}`, version: null } : {});
  });

  it('refuses the floor and stop checks, naming the replica, before any host changes', async () => {
    const p = await upgrade({ selector: 'v0.2.0' });
    expect(p.state).toBe('refused');
    expect(refused(p)).toEqual(['replica-lines']);
    expect(gate(p, 'replica-lines').detail).toContain(
      'bridge on h3: unknown (identity sha256:eeeeeeeeeeee… is pinned by no release manifest and no version label)',
    );
    expect(journal).toEqual([]);
  });

  it('--unsafe-allow-unknown-version proceeds and says BYPASSED', async () => {
    const p = await upgrade({ selector: 'v0.2.0', unsafeAllowUnknownVersion: true });
    expect(p.state).toBe('completed');
    expect(gate(p, 'replica-lines').status).toBe('bypassed');
    expect(p.warnings.join('\n')).toContain('BYPASSED by --unsafe-allow-unknown-version');
  });
});

describe('below-floor guard in upgrade (item 3)', () => {
  const SUM = 'b'.repeat(64);
  beforeEach(() =>
    editCatalog((c) => {
      c.schema_migration_floor = 'v0.2.0';
      c.schema_migration_sentinels = [
        { engine: 'postgres', database: 'purser', version: 'v0.1.0', phase: 'expand', sequence: 9, checksum: SUM },
      ];
    }),
  );

  it('a folded migration missing from the ledger refuses the upgrade; a baseline marker at the floor passes', async () => {
    const p = await upgrade({ skipMigrationCheck: false, selector: 'v0.2.0' });
    expect(p.state).toBe('refused');
    expect(refused(p)).toContain('below-floor');
    expect(gate(p, 'below-floor').detail).toContain('purser/v0.1.0/expand/source-release-sentinel');
    expect(journal).toEqual([]);
    marker = 'v0.2.0';
    const ok = await upgrade({ skipMigrationCheck: false, selector: 'v0.2.0' });
    expect(gate(ok, 'below-floor').status).toBe('pass');
  });
});

/** The fixture's v0.3.0 floor is not the subject of these cases (item 1 is): without it they test one thing. */
const dropFloor = (c: Doc) => delete c.releases.find((r) => r.version === 'v0.3.0')!.compatible_from;

describe('catalog and manifest transitions (item 4)', () => {
  it('a catalog transition not in the manifest refuses upgrade and release', async () => {
    editCatalog((c) => {
      dropFloor(c);
      c.release_transitions = [{ id: 'storage-descriptor-adoption', introduced_in: 'v0.3.0' }];
    });
    const p = await upgrade();
    expect(p.state).toBe('refused');
    expect(refused(p)).toEqual(['required-transitions']);
    expect(gate(p, 'required-transitions').detail).toContain(
      'release catalog and manifest v0.3.0-rc1 disagree on required transitions: in the catalog but not the manifest: storage-descriptor-adoption',
    );
    const r = await releaseRun();
    expect(r.state).toBe('refused');
    expect(r.checks.filter((c) => c.status === 'refuse').map((c) => `${c.step}:${c.id}`)).toContain(
      'upgrade:required-transitions',
    );
    expect(journal).toEqual([]);
  });

  it('a manifest transition this orchestrator does not implement refuses upgrade and release', async () => {
    editCatalog((c) => {
      dropFloor(c);
      c.release_transitions = [{ id: 'adopt-x', introduced_in: 'v0.3.0' }];
    });
    editManifest('v0.3.0-rc1', (m) => (m.required_transitions = ['adopt-x']));
    const p = await upgrade();
    expect(refused(p)).toEqual(['required-transitions']);
    expect(gate(p, 'required-transitions').detail).toContain(
      'release manifest v0.3.0-rc1 requires transition(s) this orchestrator does not implement: adopt-x',
    );
    const r = await releaseRun();
    expect(r.state).toBe('refused');
    expect(r.checks.find((c) => c.step === 'upgrade' && c.id === 'required-transitions')!.status).toBe('refuse');
  });
});

describe('rollback_disabled for an rc target (item 5)', () => {
  beforeEach(() =>
    editCatalog((c) => {
      dropFloor(c);
      c.releases.find((r) => r.version === 'v0.3.0')!.rollback_disabled = ['bridge'];
    }),
  );

  it("the final's entry applies to v0.3.0-rc1: no rollback of a failed bridge, and the run says why", async () => {
    failingProbes.set('bridge@h3', Infinity);
    const id = `fw/${CLUSTER}/change-${++seq}`;
    const err = await upgrade({}, id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(journal).toContain('activate bridge@h3');
    expect(journal).not.toContain('rollback bridge@h3');
    const p = await client.workflow.getHandle(id).query(clusterUpgradeMessages.progress);
    expect(p.rollbackDisabled).toEqual([
      { service: 'bridge', reason: 'rollback_disabled in the catalog entry v0.3.0 (applies to v0.3.0-rc1)' },
    ]);
    expect(p.services.find((s) => s.service === 'bridge')!.result!.hosts[0]!.detail).toMatch(/; rollback disabled$/);
  });

  it('the plan (text and --json) names the services that will not be rolled back and why', async () => {
    const plan = await client.workflow.execute<(i: unknown) => Promise<UpgradePlan>>('upgradePlan', {
      taskQueue: taskQueueFor(CLUSTER),
      workflowId: `fw/${CLUSTER}/plan-${++seq}`,
      args: [{ cluster: CLUSTER, selector: 'v0.3.0-rc1', cliVersion: 'v0.3.0' }],
    });
    const expected = {
      service: 'bridge',
      reason: 'rollback_disabled in the catalog entry v0.3.0 (applies to v0.3.0-rc1)',
    };
    expect(plan.rollbackDisabled).toEqual([expected]);
    const env = { TEMPORAL_ADDRESS: temporalAddress() };
    const base = ['cluster', 'upgrade', 'plan', '--manifest', manifest, '--version', 'v0.3.0-rc1'];
    const text = await frameworksAsync(base, env);
    expect(text.stdout).toContain(
      'Automatic rollback on a failed health check:\n  off for bridge — rollback_disabled in the catalog entry v0.3.0 (applies to v0.3.0-rc1)',
    );
    const json = await frameworksAsync([...base, '--json'], env);
    expect((JSON.parse(json.stdout) as UpgradePlan).rollbackDisabled).toEqual([expected]);
    // The dry-run of the upgrade itself shows it too.
    const dry = await upgrade({ dryRun: true });
    expect(dry.rollbackDisabled).toEqual([expected]);
  });
});

describe('a stopped replica at the target (item 6)', () => {
  it('is started (no staging) and health-checked, and reported as started, not skipped', async () => {
    release = 'v0.3.0-rc1';
    replica = (svc) => (svc === 'bridge' ? { running: false } : {});
    const p = await upgrade();
    expect(p.state).toBe('completed');
    expect(journal.filter((j) => !j.startsWith('probe '))).toEqual(['activate bridge@h3']);
    expect(journal).toContain('probe bridge@h3');
    await captureHistory(client, serviceChildWorkflowId(CLUSTER, 'bridge'), 'service-upgrade-start-stopped');
    const bridge = p.services.find((s) => s.service === 'bridge')!;
    const SHA256_IDENTITY: unknown = expect.stringMatching(/^sha256:[0-9a-f]{64}$/);
    const SHA256_HEX: unknown = expect.stringMatching(/^[0-9a-f]{64}$/);
    expect(bridge.status).toBe('started');
    expect(bridge.result!.hosts).toEqual([
      {
        host: 'h3',
        action: 'started',
        from: 'v0.3.0-rc1',
        to: 'v0.3.0-rc1',
        detail: 'was stopped at the target identity and config; started and healthy',
        // What `cluster rollback` records: a start changes neither identity nor config.
        fromIdentity: SHA256_IDENTITY,
        toIdentity: SHA256_IDENTITY,
        fromConfigHash: SHA256_HEX,
        toConfigHash: SHA256_HEX,
      },
    ]);
    const [h3] = bridge.result!.hosts;
    expect([h3!.fromIdentity, h3!.fromConfigHash]).toEqual([h3!.toIdentity, h3!.toConfigHash]);
    expect(p.services.filter((s) => s.service !== 'bridge').map((s) => s.status)).toEqual(
      p.order.filter((s) => s !== 'bridge').map(() => 'skipped'),
    );
  });

  it('a stopped replica at target that stays unhealthy fails the run (nothing to roll back to)', async () => {
    release = 'v0.3.0-rc1';
    replica = (svc) => (svc === 'bridge' ? { running: false } : {});
    failingProbes.set('bridge@h3', Infinity);
    const err = await upgrade().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(journal).not.toContain('rollback bridge@h3');
  });
});

describe('durations in Temporal grammar (item 8)', () => {
  it('"2 mins" is a 2-minute health deadline, not 0 ms: a service healthy on its third probe upgrades', async () => {
    release = 'v0.1.0';
    failingProbes.set('quartermaster@h1', 2);
    const p = await upgrade({ selector: 'v0.2.0', healthDeadline: '2 mins' });
    expect(p.state).toBe('completed');
    expect(journal.filter((j) => j === 'probe quartermaster@h1')).toHaveLength(3);
  });

  it('a duration outside the grammar fails the run at its input, naming the key', async () => {
    const err = await upgrade({ healthDeadline: 'soon' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toBe(
      'invalid clusterUpgrade input: healthDeadline: "soon" is not a duration (e.g. "90s", "2 mins", "1.5h", "1d", or a number of milliseconds)',
    );
    expect(journal).toEqual([]);
  });
});

describe('downgrades (item 9)', () => {
  beforeEach(() => {
    release = 'v0.3.0-rc1';
  });

  it('rc → v0.2.0 is refused, naming every replica that would go back', async () => {
    const p = await upgrade({ selector: 'v0.2.0' });
    expect(p.state).toBe('refused');
    expect(refused(p)).toEqual(['downgrade']);
    const detail = gate(p, 'downgrade').detail.split('\n');
    expect(detail).toHaveLength(6);
    expect(detail).toContain(
      'bridge on h3 runs v0.3.0-rc1 (content first shipped in v0.3.0-rc1, pinned by v0.3.0-rc1) and would go back to v0.2.0',
    );
    expect(journal).toEqual([]);
  });

  it('with --allow-downgrade it proceeds and says BYPASSED; the preview names the downgrade', async () => {
    const dry = await upgrade({ selector: 'v0.2.0', allowDowngrade: true, dryRun: true });
    expect(dry.preview.map((x) => x.line)).toContain('would DOWNGRADE bridge on h3 from v0.3.0-rc1 to v0.2.0');
    const p = await upgrade({ selector: 'v0.2.0', allowDowngrade: true });
    expect(p.state).toBe('completed');
    expect(gate(p, 'downgrade').status).toBe('bypassed');
    expect(p.warnings).toContain('downgrade of 6 replica(s) to v0.2.0 BYPASSED by --allow-downgrade');
  });

  it('release refuses a downgrade too, and passes its flag to the upgrade runs', async () => {
    const r = await releaseRun({ selector: 'v0.2.0' });
    expect(r.state).toBe('refused');
    expect(r.checks.find((c) => c.step === 'upgrade' && c.id === 'downgrade')!.status).toBe('refuse');
    const ok = await releaseRun({ selector: 'v0.2.0', allowDowngrade: true });
    expect(ok.checks.find((c) => c.step === 'upgrade' && c.id === 'downgrade')!.status).toBe('bypassed');
    expect(ok.warnings).toContain('downgrade of 6 replica(s) to v0.2.0 BYPASSED by --allow-downgrade');
  });
});

describe('the bypass flags from the command line (items 2, 9)', () => {
  const env = () => ({ TEMPORAL_ADDRESS: temporalAddress() });
  beforeEach(() => {
    release = 'v0.3.0-rc1';
  });

  it('upgrade without --allow-downgrade refuses, naming the replicas; with it, it proceeds and prints BYPASSED', async () => {
    // The stubbed ledgers are empty: the schema gate is bypassed here as in the runs above.
    const args = [
      'cluster',
      'upgrade',
      '--all',
      '--manifest',
      manifest,
      '--version',
      'v0.2.0',
      '--yes',
      '--skip-migration-check',
    ];
    const refusedRun = await frameworksAsync(args, env());
    expect(refusedRun.code).toBe(1);
    expect(refusedRun.stdout).toMatch(
      /^\[gate\] no replica goes back to an older release: REFUSE — quartermaster on h1 runs v0\.3\.0-rc1/m,
    );
    expect(refusedRun.stdout).toContain('         bridge on h3 runs v0.3.0-rc1');
    expect(refusedRun.stdout).toContain('fix: choose a release at or above what runs, or pass --allow-downgrade');
    expect(journal).toEqual([]);
    const ok = await frameworksAsync([...args, '--allow-downgrade'], env());
    expect(ok.code, `${ok.stdout}\n${ok.stderr}`).toBe(0);
    expect(ok.stdout).toMatch(/^\[gate\] no replica goes back to an older release: BYPASSED — /m);
    expect(ok.stdout).toContain('downgrade of 6 replica(s) to v0.2.0 BYPASSED by --allow-downgrade');
  });

  it('upgrade --unsafe-allow-unknown-version prints BYPASSED for a replica without a provable release', async () => {
    replica = (svc) => (svc === 'bridge' ? { identity: `sha256:${'e'.repeat(64)}`, version: null } : {});
    const args = [
      'cluster',
      'upgrade',
      '--all',
      '--manifest',
      manifest,
      '--version',
      'v0.3.0-rc1',
      '--dry-run',
      '--skip-migration-check',
    ];
    const refusedRun = await frameworksAsync(args, env());
    expect(refusedRun.code).toBe(1);
    expect(refusedRun.stdout).toMatch(
      /^\[gate\] release line of every replica proven: REFUSE — cannot tell which release bridge on h3/m,
    );
    const ok = await frameworksAsync([...args, '--unsafe-allow-unknown-version'], env());
    expect(ok.code, `${ok.stdout}\n${ok.stderr}`).toBe(0);
    expect(ok.stdout).toMatch(/^\[gate\] release line of every replica proven: BYPASSED — /m);
    expect(ok.stdout).toContain('BYPASSED by --unsafe-allow-unknown-version');
  });

  it('release --allow-downgrade reaches its upgrade step', async () => {
    const args = ['cluster', 'release', '--manifest', manifest, '--version', 'v0.2.0', '--dry-run'];
    const refusedRun = await frameworksAsync(args, env());
    expect(refusedRun.code).toBe(1);
    expect(refusedRun.stdout).toMatch(/^\[gate\] upgrade: no replica goes back to an older release: REFUSE/m);
    const ok = await frameworksAsync([...args, '--allow-downgrade'], env());
    expect(ok.code, `${ok.stdout}\n${ok.stderr}`).toBe(0);
    expect(ok.stdout).toMatch(/^\[gate\] upgrade: no replica goes back to an older release: BYPASSED/m);
  });

  it('--help of upgrade and release names both flags', async () => {
    for (const cmd of ['upgrade', 'release']) {
      const help = await frameworksAsync(['cluster', cmd, '--help']);
      expect(help.stdout).toContain('--unsafe-allow-unknown-version');
      expect(help.stdout).toContain('--allow-downgrade');
    }
  });
});
