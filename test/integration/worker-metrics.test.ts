// The worker's Prometheus endpoint (issue 15 point 5), scraped over HTTP:
// - a real `frameworks worker` process with $FRAMEWORKS_METRICS_ADDRESS, serving a purser cluster on real
//   PostgreSQL: a refused contract run and a data migration run by the CLI show up as the SDK's temporal_* metrics
//   and as frameworks_gate_refusals / frameworks_data_migration_rows(_per_second) with the right labels and values;
//   a second worker given the same --metrics address refuses to start;
// - the production worker in this process (its Runtime installed with the same telemetry), host activities
//   stubbed: serviceUpgrade runs that upgrade, skip and roll back show up as frameworks_upgrades_* and
//   frameworks_rollbacks.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataMigrationStatusView } from '../../src/contracts/data-migrate';
import type { SchemaMigrateProgress } from '../../src/contracts/schema-migrate';
import type { HostDetection, ServiceUpgradeInput, ServiceUpgradeResult } from '../../src/contracts/upgrade';
import { taskQueueFor } from '../../src/temporal/ids';
import { METRICS_ENV, prometheusTelemetry } from '../../src/worker/metrics';
import { frameworksAsync, startFrameworks } from '../helpers/cli';
import { writeFixtureCluster, writePurserCluster } from '../helpers/fixtures';
import { find, freePort, scrape, total } from '../helpers/prometheus';
import { seedPurser, type PurserSeed } from '../../lab/purser-seed';
import { databaseUrl, temporalAddress } from '../helpers/servers';
import type { serviceUpgrade } from '../../src/workflows/service-upgrade';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const URL_ENV = 'FW_TEST_WORKER_METRICS_URL';
const DB = 'worker_metrics_purser';
const DM_CLUSTER = 'wm-dm';
const UP_CLUSTER = 'wm-up';
const DM = { service: 'purser', migration: 'invoice-line-items' };

let client: Client;
let processMetrics: string;
let inProcessMetrics: string;
let worker: WorkerProcess | undefined;
let inProcess: RunningWorkers | undefined;
let manifest: string;
let seed: PurserSeed;

const env = (): NodeJS.ProcessEnv => ({ TEMPORAL_ADDRESS: temporalAddress(), [URL_ENV]: databaseUrl() });

/** Host state of the in-process worker's stubbed cluster: identity per service@host, and who is unhealthy. */
const hosts = new Map<string, string>();
const unhealthyUntilRollback = new Set<string>();
const rolledBack: string[] = [];

/* eslint-disable @typescript-eslint/require-await -- synchronous stub bodies behind async activity signatures */
const hostStubs: Record<string, (...args: never[]) => Promise<unknown>> = {
  detectServiceOnHost: async (i: { service: string; host: string }): Promise<HostDetection> => ({
    host: i.host,
    present: true,
    identity: hosts.get(`${i.service}@${i.host}`) ?? null,
    version: 'v0.1.0',
    configHash: 'cfg',
    running: true,
    arch: 'linux-amd64',
  }),
  stageServiceOnHost: async () => ({ action: 'staged' }),
  activateServiceOnHost: async (i: { service: string; host: string; identity: string }) => {
    hosts.set(`${i.service}@${i.host}`, i.identity);
    return { action: 'restarted' };
  },
  probeServiceHealth: async (i: { service: string; host: string }) =>
    unhealthyUntilRollback.has(`${i.service}@${i.host}`)
      ? { healthy: false, error: 'GET /health: 503' }
      : { healthy: true },
  finalizeServiceOnHost: async () => undefined,
  rollbackServiceOnHost: async (i: { service: string; host: string; to: { identity: string } }) => {
    hosts.set(`${i.service}@${i.host}`, i.to.identity);
    unhealthyUntilRollback.delete(`${i.service}@${i.host}`);
    rolledBack.push(`${i.service}@${i.host}`);
    return { action: 'rolled-back' };
  },
};
/* eslint-enable @typescript-eslint/require-await */

beforeAll(async () => {
  // Before anything in this process creates the runtime (NativeConnection does): one install per process.
  inProcessMetrics = `127.0.0.1:${await freePort()}`;
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: prometheusTelemetry(inProcessMetrics) });

  process.env[URL_ENV] = databaseUrl();
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  seed = await seedPurser(databaseUrl(), DB, 20_000);
  manifest = writePurserCluster(DM_CLUSTER, DB, URL_ENV);
  processMetrics = `127.0.0.1:${await freePort()}`;
  worker = await spawnWorker(manifest, { ...env(), [METRICS_ENV]: processMetrics });
  inProcess = await startWorkers([writeFixtureCluster({ name: UP_CLUSTER })], hostStubs);
});
afterAll(async () => {
  await worker?.kill('SIGTERM');
  await inProcess?.stop();
  await client?.connection.close();
});

describe('worker metrics: a real worker process with FRAMEWORKS_METRICS_ADDRESS', () => {
  it('says where it serves metrics, and serves the SDK metrics before any run', async () => {
    expect(worker!.output()).toContain(`metrics: http://${processMetrics}/metrics`);
    const samples = await scrape(processMetrics);
    expect(samples.some((s) => s.name.startsWith('temporal_'))).toBe(true);
    expect(samples.filter((s) => s.name.startsWith('frameworks_'))).toEqual([]);
  });

  it('--metrics on a port already served: a second worker refuses to start, saying which address and how to fix', async () => {
    const r = await frameworksAsync(['worker', '--manifest', manifest, '--metrics', processMetrics], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot serve metrics on ${processMetrics}:`);
    expect(r.stderr).toContain('choose another address with --metrics or FRAMEWORKS_METRICS_ADDRESS');
  });

  it('counts each refusing gate of a refused run, by cluster and gate id', async () => {
    const before = await scrape(processMetrics);
    const handle = await client.workflow.start('schemaMigrate', {
      taskQueue: taskQueueFor(DM_CLUSTER),
      workflowId: `fw/${DM_CLUSTER}/change`,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      // Contract before the backfill ran: refused by the data-migration gate.
      args: [{ cluster: DM_CLUSTER, phase: 'contract', toVersion: 'v0.2.0', approved: false }],
    });
    const run = (await handle.result()) as SchemaMigrateProgress;
    expect(run.state).toBe('refused');
    const gates = run.checks.filter((c) => c.status === 'refuse').map((c) => c.id);
    expect(gates).toContain('data-migrations');

    const after = await scrape(processMetrics);
    for (const gate of gates) {
      const labels = { cluster: DM_CLUSTER, gate, workflowType: 'schemaMigrate' };
      expect(total(after, 'frameworks_gate_refusals', labels) - total(before, 'frameworks_gate_refusals', labels)).toBe(
        1,
      );
    }
    expect(total(after, 'frameworks_gate_refusals') - total(before, 'frameworks_gate_refusals')).toBe(gates.length);
    // The SDK's own counters for that run, labelled by workflow type.
    expect(total(after, 'temporal_workflow_completed', { workflow_type: 'schemaMigrate' })).toBeGreaterThanOrEqual(1);
  });

  it('counts data-migration rows by kind (equal to the run totals) and a live rows/s while it runs', async () => {
    const run = startFrameworks(
      [
        'cluster',
        'data-migrate',
        'run',
        `${DM.service}.${DM.migration}`,
        '--batch-size',
        '100',
        '--manifest',
        manifest,
      ],
      env(),
    );
    let out = '';
    run.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    run.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => run.once('exit', r));
    const labels = { cluster: DM_CLUSTER, ...DM };
    // Each batch call reports after ~1.5 s of batches; the gauge shows that call's rate while the run goes on.
    let liveRate = 0;
    for (let i = 0; i < 600 && liveRate === 0; i++) {
      liveRate = total(await scrape(processMetrics), 'frameworks_data_migration_rows_per_second', labels);
      if (liveRate === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(liveRate, out).toBeGreaterThan(0);
    expect(await exited, out).toBe(0);

    // The run's own totals (its result; continue-as-new segments carry them).
    const view = (await client.workflow
      .getHandle(`fw/${DM_CLUSTER}/data/${DM.service}.${DM.migration}`)
      .result()) as DataMigrationStatusView;
    expect(view.state).toBe('completed');
    expect(view.totals.scanned).toBe(seed.invoices);

    const samples = await scrape(processMetrics);
    const rows = (kind: string) =>
      total(samples, 'frameworks_data_migration_rows', { ...labels, kind, activityType: 'dmRunBatch' });
    expect(rows('scanned')).toBe(view.totals.scanned);
    expect(rows('changed')).toBe(view.totals.changed);
    expect(rows('skipped')).toBe(view.totals.skipped);
    expect(total(samples, 'frameworks_data_migration_rows_per_second', labels)).toBe(0); // done
    expect(total(samples, 'temporal_workflow_completed', { workflow_type: 'dataMigration' })).toBeGreaterThanOrEqual(1);
    expect(find(samples, 'temporal_activity_execution_latency_count', { activity_type: 'dmRunBatch' })).not.toEqual([]);
  }, 180_000);
});

// Digests in the pinned form (`sha256:` + 64 hex), as the image-reference parser accepts them.
const digest = (c: string): string => `sha256:${c.repeat(64)}`;
const [OLD, NEW1, NEW2] = [digest('0'), digest('1'), digest('2')];

describe('worker metrics: upgrades and rollbacks (production worker in this process, hosts stubbed)', () => {
  const upgrade = async (service: string, opts: { id: string; unhealthy?: boolean }): Promise<ServiceUpgradeResult> => {
    hosts.set(`${service}@h1`, OLD);
    if (opts.unhealthy) unhealthyUntilRollback.add(`${service}@h1`);
    const input: ServiceUpgradeInput = {
      cluster: UP_CLUSTER,
      service,
      mode: 'docker',
      hosts: ['h1'],
      version: 'v0.2.0',
      imageRef: `registry.example/${service}@${opts.id}`,
      artifacts: [],
      configHash: 'cfg',
      rollback: true,
      skipValidation: false,
      healthInterval: '100ms',
      healthDeadline: '500ms',
    };
    return client.workflow.execute<typeof serviceUpgrade>('serviceUpgrade', {
      taskQueue: taskQueueFor(UP_CLUSTER),
      workflowId: `fw/${UP_CLUSTER}/change/${service}/${opts.id}`,
      args: [input],
    });
  };

  it('counts started / succeeded / failed by service and outcome, and rollbacks', async () => {
    const upgraded = await upgrade('commodore', { id: NEW1 });
    expect(upgraded.outcome).toBe('upgraded');
    const skipped = await upgrade('commodore', { id: OLD });
    expect(skipped.outcome).toBe('skipped');
    const rolled = await upgrade('foghorn', { id: NEW2, unhealthy: true });
    expect(rolled.outcome).toBe('rolled-back');
    expect(rolledBack).toEqual(['foghorn@h1']);

    // The SDK counts a completed workflow once the server acknowledged the worker's last task, which can be just
    // after the client got the result: scrape until it has counted the three runs (the counts are checked below).
    const samples = await waitFor(
      'the SDK to count the third completed serviceUpgrade',
      async () => {
        const s = await scrape(inProcessMetrics);
        return total(s, 'temporal_workflow_completed', { workflow_type: 'serviceUpgrade' }) >= 3 && s;
      },
      { timeoutMs: 15_000 },
    );
    const at = (service: string, extra: Record<string, string> = {}) => ({
      cluster: UP_CLUSTER,
      service,
      workflowType: 'serviceUpgrade',
      taskQueue: taskQueueFor(UP_CLUSTER),
      ...extra,
    });
    expect(total(samples, 'frameworks_upgrades_started', at('commodore'))).toBe(2);
    expect(total(samples, 'frameworks_upgrades_started', at('foghorn'))).toBe(1);
    expect(total(samples, 'frameworks_upgrades_succeeded', at('commodore', { outcome: 'upgraded' }))).toBe(1);
    expect(total(samples, 'frameworks_upgrades_succeeded', at('commodore', { outcome: 'skipped' }))).toBe(1);
    expect(total(samples, 'frameworks_upgrades_failed', at('commodore'))).toBe(0);
    expect(total(samples, 'frameworks_upgrades_succeeded', at('foghorn'))).toBe(0);
    expect(total(samples, 'frameworks_upgrades_failed', at('foghorn', { outcome: 'rolled-back' }))).toBe(1);
    expect(total(samples, 'frameworks_rollbacks', at('foghorn', { result: 'succeeded' }))).toBe(1);
    expect(total(samples, 'frameworks_rollbacks', at('commodore'))).toBe(0);
    expect(total(samples, 'temporal_workflow_completed', { workflow_type: 'serviceUpgrade' })).toBe(3);
  });
});
