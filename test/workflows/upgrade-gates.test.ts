// The gates of `clusterUpgrade` that test/workflows/cluster-upgrade.test.ts does not reach — required stop,
// database ownership, undeclared target — on the real dev server with the HOST activities stubbed (the subject is
// the workflow's decision: refuse before any host-changing activity is scheduled). Catalog loading, release
// fetching, migrations discovery and config rendering are the real activities over a per-test copy of the
// fixture catalog. The same refusals run against real hosts in test/e2e/upgrade-lab-gates.test.ts.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { CatalogLoadResult } from '../../src/contracts/catalog-load';
import { parseReleaseManifest } from '../../src/contracts/release';
import { getServiceInfo } from '../../src/domain/release';
import type { ClusterUpgradeInput, ClusterUpgradeProgress, HostDetection } from '../../src/contracts/upgrade';
import { createActivities } from '../../src/activities';
import { loadClusterConfig } from '../../src/activities/cluster-config';
import { taskQueueFor } from '../../src/temporal/ids';
import { clusterUpgradeMessages } from '../../src/workflows/messages';
import { startFrameworks } from '../helpers/cli';
import { FIXTURES, writeFixtureCluster } from '../helpers/fixtures';
import { captureHistory } from '../helpers/history';
import { temporalAddress } from '../helpers/servers';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-upgrade-gates';
const HOSTS: Record<string, string[]> = {
  quartermaster: ['h1'],
  purser: ['h1'],
  commodore: ['h2', 'h3'],
  foghorn: ['h2'],
  bridge: ['h3'],
};

const catalogDir = mkdtempSync(join(tmpdir(), 'fw-gates-catalog-'));
const releasesYaml = join(catalogDir, 'releases.yaml');
type Doc = { service_databases: Record<string, string>; releases: Record<string, unknown>[] };
function editCatalog(fn: (doc: Doc) => void): void {
  const doc = parse(readFileSync(join(FIXTURES, 'catalog', 'releases.yaml'), 'utf8')) as Doc;
  fn(doc);
  writeFileSync(releasesYaml, stringify(doc));
}

/** Every call of a host-changing activity, and what detection reports (every replica at `running`). */
const journal: string[] = [];
let running = 'v0.1.0';
/** When set, every replica reports exactly what release v0.2.0 pins, with the rendered config (a no-op). */
let atTarget: Record<string, { identity: string; configHash: string }> | undefined;
const DOCKER = new Set(['commodore', 'foghorn', 'bridge']);
function targetIdentity(svc: string): string {
  const file = join(FIXTURES, 'release-repo', 'releases', 'v0.2.0.yaml');
  const info = getServiceInfo(parseReleaseManifest(readFileSync(file, 'utf8'), 'v0.2.0'), svc)!;
  return DOCKER.has(svc) ? info.digest! : info.binaries.find((b) => b.arch === 'linux-amd64')!.checksum!;
}
/** When set, loadCatalog returns this instead of reading the catalog (a catalog the loader would not accept). */
let catalogOverride: ((real: CatalogLoadResult) => CatalogLoadResult) | undefined;

let client: Client;
let workers: RunningWorkers;
let manifest: string;

beforeAll(async () => {
  cpSync(join(FIXTURES, 'catalog'), catalogDir, { recursive: true });
  manifest = writeFixtureCluster({ name: CLUSTER, catalogDir });
  const real = createActivities({
    clusters: { [CLUSTER]: await loadClusterConfig(manifest) },
    fetcher: undefined as never,
    cacheDir: '/tmp',
  });
  const detect = (svc: string, host: string): HostDetection => ({
    host,
    present: true,
    identity: atTarget?.[svc]?.identity ?? `sha256:${svc}-${running}`,
    version: atTarget ? 'v0.2.0' : running,
    configHash: atTarget?.[svc]?.configHash ?? 'sha256:old',
    running: true,
    arch: 'linux-amd64',
  });
  const changing = (name: string) => async (i: { service: string; host: string }) => {
    journal.push(`${name} ${i.service}@${i.host}`);
    return Promise.resolve({ action: name });
  };
  /* eslint-disable @typescript-eslint/require-await */
  workers = await startWorkers([manifest], {
    loadCatalog: async (i: { cluster: string }) => {
      const loaded = await real.loadCatalog(i);
      return catalogOverride ? catalogOverride(loaded) : loaded;
    },
    detectServices: async (i: { services: string[] }) =>
      Object.fromEntries(i.services.map((s) => [s, HOSTS[s]!.map((h) => detect(s, h))])),
    detectServiceOnHost: async (i: { service: string; host: string }) => detect(i.service, i.host),
    checkImageDigests: async () => [],
    readDatabaseStates: async (i: { databases: string[] }) =>
      i.databases.map((database) => ({
        database,
        ledger: { state: 'ok', database, tableExists: true, rows: [] },
        marker: { state: 'ok', marker: '' },
      })),
    readDataMigrationStates: async (i: { requirements: { key: string }[] }) =>
      Object.fromEntries(i.requirements.map((r) => [r.key, { kind: 'status', status: 'completed' }])),
    stageServiceOnHost: changing('stage'),
    activateServiceOnHost: changing('activate'),
    probeServiceHealth: async () => ({ healthy: true }),
    finalizeServiceOnHost: changing('finalize'),
    rollbackServiceOnHost: changing('rollback'),
  });
  /* eslint-enable @typescript-eslint/require-await */
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});
beforeEach(() => {
  journal.length = 0;
  running = 'v0.1.0';
  atTarget = undefined;
  catalogOverride = undefined;
  editCatalog(() => undefined);
});

let seq = 0;
function upgrade(input: Partial<ClusterUpgradeInput> = {}): Promise<ClusterUpgradeProgress> {
  return start(input).then((h) => h.result());
}
async function start(input: Partial<ClusterUpgradeInput> = {}) {
  return client.workflow.start<(i: ClusterUpgradeInput) => Promise<ClusterUpgradeProgress>>('clusterUpgrade', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/change-${++seq}`,
    args: [
      {
        cluster: CLUSTER,
        services: 'all',
        selector: 'v0.2.0',
        cliVersion: 'v0.3.0',
        approved: true,
        // The stubbed ledgers are empty; the schema gate is not the subject here.
        skipMigrationCheck: true,
        healthInterval: '100 milliseconds',
        healthDeadline: '1 second',
        ...input,
      },
    ],
  });
}

const refused = (p: ClusterUpgradeProgress) => p.checks.filter((c) => c.status === 'refuse').map((c) => c.id);

describe('clusterUpgrade gates (stub hosts)', () => {
  it('control: with the fixture catalog every gate passes and the hosts are changed', async () => {
    const p = await upgrade();
    expect(refused(p)).toEqual([]);
    expect(p.state).toBe('completed');
    expect(journal.filter((j) => j.startsWith('activate '))).toHaveLength(6);
  });

  it('required stop: v0.1.5 (required_stop) lies between the detected v0.1.0 and the target v0.2.0', async () => {
    editCatalog((c) => c.releases.splice(1, 0, { version: 'v0.1.5', required_stop: true }));
    const p = await upgrade();
    expect(p.state).toBe('refused');
    expect(refused(p)).toEqual(['required-stop']);
    const gate = p.checks.find((c) => c.id === 'required-stop')!;
    // The stub identities are pinned by no manifest, so the label is the evidence, and the refusal says so.
    expect(gate.detail).toMatch(
      /runs v0\.1\.0 \(by version label; identity sha256:\S+ is pinned by no release manifest\) and v0\.2\.0 would jump over the required stop v0\.1\.5/,
    );
    expect(gate.fix).toBe('frameworks cluster upgrade --all --version v0.1.5');
    expect(journal).toEqual([]);
  });

  it('required stop is judged against DETECTED versions: a cluster already at the stop passes', async () => {
    editCatalog((c) => c.releases.splice(1, 0, { version: 'v0.1.5', required_stop: true }));
    running = 'v0.1.5';
    const p = await upgrade();
    expect(refused(p)).toEqual([]);
    expect(p.state).toBe('completed');
  });

  it('undeclared target: the catalog does not declare v0.2.0', async () => {
    editCatalog((c) => {
      // A floor may only name a declared release, so v0.3.0's floor on v0.2.0 goes with it.
      c.releases = c.releases.filter((r) => r.version !== 'v0.2.0').map(({ compatible_from: _f, ...r }) => r);
    });
    const p = await upgrade();
    expect(p.state).toBe('refused');
    expect(refused(p)).toEqual(['target-declared']);
    expect(p.checks.find((c) => c.id === 'target-declared')!.detail).toBe(
      'v0.2.0 is not declared in the release catalog',
    );
    expect(journal).toEqual([]);
  });

  it('undeclared database ownership in the catalog files: refused as the catalog loads', async () => {
    editCatalog((c) => delete c.service_databases.purser);
    const p = await upgrade();
    expect(p.state).toBe('refused');
    expect(refused(p)).toEqual(['catalog-loads']);
    expect(p.checks.find((c) => c.id === 'catalog-loads')!.detail).toMatch(
      /"purser" owns database purser but the release catalog declares no service_databases entry/,
    );
    expect(journal).toEqual([]);
  });

  it('undeclared database ownership reaching the gates (a catalog that skipped validation): the ownership gate refuses', async () => {
    catalogOverride = (real) => {
      if (!real.ok) return real;
      const { purser: _dropped, ...rest } = real.catalog.service_databases;
      return { ...real, catalog: { ...real.catalog, service_databases: rest } };
    };
    const p = await upgrade();
    expect(p.state).toBe('refused');
    expect(refused(p)).toEqual(['db-ownership']);
    expect(p.checks.find((c) => c.id === 'db-ownership')!.detail).toBe(
      'no service_databases entry in the catalog for DB-backed service(s): purser',
    );
    expect(journal).toEqual([]);
  });

  it('a no-op (every replica at target) settles each service as skipped in one batch detection, no child, no change', async () => {
    const configs = await createActivities({
      clusters: { [CLUSTER]: await loadClusterConfig(manifest) },
      fetcher: undefined as never,
      cacheDir: '/tmp',
    }).describeServiceConfigs({ cluster: CLUSTER, services: Object.keys(HOSTS) });
    atTarget = Object.fromEntries(
      Object.keys(HOSTS).map((s) => [s, { identity: targetIdentity(s), configHash: configs[s]! }]),
    );
    const handle = await start();
    const p = await handle.result();
    await captureHistory(client, handle.workflowId, 'cluster-upgrade-noop-skip', handle.firstExecutionRunId);
    expect(p.state).toBe('completed');
    expect(p.services.map((s) => s.status)).toEqual(p.order.map(() => 'skipped'));
    expect(p.services.find((s) => s.service === 'commodore')!.result!.hosts).toEqual([
      { host: 'h2', action: 'skipped', from: 'v0.2.0', to: 'v0.2.0', detail: 'identity and config already at target' },
      { host: 'h3', action: 'skipped', from: 'v0.2.0', to: 'v0.2.0', detail: 'identity and config already at target' },
    ]);
    expect(journal).toEqual([]);
    // No per-service child was started: the parent's history has no child workflow events.
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toBe(false);
    // One replica off target (config) ⇒ that service alone gets its child and is changed.
    atTarget.purser = { ...atTarget.purser!, configHash: 'sha256:drifted' };
    const again = await upgrade();
    expect(again.services.filter((s) => s.status !== 'skipped').map((s) => s.service)).toEqual(['purser']);
    expect(journal.filter((j) => j.startsWith('activate '))).toEqual(['activate purser@h1']);
  });
});

describe('frameworks cluster runs watch <clusterUpgrade>', () => {
  it('renders the gates and per-service, per-host progress of the run, then its final state', async () => {
    const handle = await start({ approved: false });
    let p = await handle.query(clusterUpgradeMessages.progress);
    for (let i = 0; i < 100 && p.state !== 'awaiting-approval'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      p = await handle.query(clusterUpgradeMessages.progress);
    }
    expect(p.state).toBe('awaiting-approval');
    // Approve only once the watcher has shown the plan (a fixed pause raced a slow CLI start on a loaded machine).
    const child = startFrameworks(['cluster', 'runs', 'watch', handle.workflowId], {
      TEMPORAL_ADDRESS: temporalAddress(),
    });
    const r = { code: null as number | null, stdout: '', stderr: '' };
    child.stdout!.on('data', (c: Buffer) => (r.stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (r.stderr += c.toString()));
    const closed = new Promise<void>((done) => child.on('close', (code) => ((r.code = code), done())));
    for (let i = 0; i < 600 && !r.stdout.includes('would upgrade'); i++) await new Promise((w) => setTimeout(w, 100));
    await handle.executeUpdate('approve', { args: [{ planHash: p.planHash }] });
    await closed;
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`Upgrading 5 service(s) to v0.2.0: ${p.order.join(' -> ')}`);
    expect(r.stdout).toMatch(/^\[gate\] required stops: ok/m);
    expect(r.stdout).toContain('would upgrade commodore on h3 from v0.1.0 to v0.2.0');
    for (const svc of p.order) expect(r.stdout).toMatch(new RegExp(`^ {2}✓ ${svc}: upgraded$`, 'm'));
    expect(r.stdout).toContain('      commodore on h2: upgraded (v0.1.0 → v0.2.0)');
    expect(r.stdout).toContain('      commodore on h3: upgraded (v0.1.0 → v0.2.0)');
    expect(r.stdout).toContain(`${handle.workflowId} completed`);
  });
});
