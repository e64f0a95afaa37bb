// `upgrade plan` end to end on the real dev server: CLI library function → Temporal → real worker → activities
// reading the fixture release repository and catalog. Also captures the replay history when asked.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUpgradePlan } from '../../src/cli/commands/upgrade-plan';
import { UpgradePlanReportSchema, UpgradePlanSchema, type UpgradePlan } from '../../src/contracts/plan';
import { ExitError } from '../../src/errors';
import { taskQueueFor } from '../../src/temporal/ids';
import { writeFixtureCluster } from '../helpers/fixtures';
import { temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-plan';
let manifest: string;
let workers: RunningWorkers;
let client: Client;

beforeAll(async () => {
  process.env.TEMPORAL_ADDRESS = temporalAddress();
  process.env.TEMPORAL_NAMESPACE = 'default';
  manifest = writeFixtureCluster({ name: CLUSTER });
  workers = await startWorkers([manifest]);
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});

afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});

async function startPlan(args: Record<string, unknown>): Promise<UpgradePlan> {
  const handle = await client.workflow.start('upgradePlan', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/plan/${Math.random().toString(36).slice(2)}`,
    args: [{ cluster: CLUSTER, cliVersion: 'v0.3.0', ...args }],
  });
  return UpgradePlanSchema.parse(await handle.result());
}

describe('upgrade plan workflow', () => {
  it('plans v0.2.0: dependency order, pinned identities, carried service marked, checks pass', async () => {
    const report = await runUpgradePlan({ manifest, version: 'v0.2.0' });
    expect(UpgradePlanReportSchema.safeParse(report).success).toBe(true);
    expect(report.platformVersion).toBe('v0.2.0');
    expect(report.resolved).toEqual({ channel: 'stable', version: 'v0.2.0' });
    expect(report.order[0]).toBe('quartermaster');
    expect(report.order.indexOf('commodore')).toBeLessThan(report.order.indexOf('purser'));
    expect(report.order.indexOf('foghorn')).toBeLessThan(report.order.indexOf('bridge'));
    expect(new Set(report.order)).toEqual(new Set(['quartermaster', 'purser', 'commodore', 'foghorn', 'bridge']));

    const byName = Object.fromEntries(report.targets.map((t) => [t.service, t]));
    expect(byName.commodore?.imageRef).toBe(
      'registry.lab.test/frameworks/commodore:v0.2.0@sha256:d0ee90aa6ad5b2a3dcb3e6237031f6919a6ae861f3ea3355f643bbcef5b2feff',
    );
    // h1 declares linux-amd64: only that tarball is a target, with its checksum.
    expect(byName.quartermaster?.artifacts).toEqual([
      expect.objectContaining({
        arch: 'linux-amd64',
        url: 'https://artifacts.example.test/quartermaster/v0.2.0/frameworks-quartermaster-v0.2.0-linux-amd64.tar.gz',
        checksum: 'sha256:a901b6c5e62f477041cd22f2aba35a99027c5b85f778afd78f58b20a13296f4f',
      }),
    ]);
    expect(byName.foghorn).toMatchObject({ carriedFrom: 'v0.1.0', version: 'v0.1.0' });
    expect(byName.foghorn?.imageRef).toContain(
      '@sha256:bf49bb4ce5f8044506eac8632f928fa2044132efa0c3ff0779f6ab601c0b68ec',
    );
    expect(report.refused).toBe(false);
    expect(report.checks.find((c) => c.id === 'target-declared')?.status).toBe('pass');
    expect(report.checks.find((c) => c.id === 'min-cli-version')?.status).toBe('pass');
    expect(report.suggestedFlow).toContain('frameworks cluster upgrade --all --version v0.2.0 --yes');
    // SQL migrations by phase up to the target, from the shipped migrations/ of the lab databases.
    const m = report.migrations!;
    expect(m.expand.some((x) => x.database === 'purser' && x.version === 'v0.2.0' && !x.transactional)).toBe(true);
    expect(m.expand.some((x) => x.database === 'purser' && x.version === 'v0.1.0')).toBe(true);
    expect(m.contract.some((x) => x.database === 'purser' && x.version === 'v0.2.0')).toBe(true);
    expect(report.run.workflowId).toMatch(new RegExp(`^fw/${CLUSTER}/plan/[0-9a-f-]{36}$`));

    if (process.env.FW_CAPTURE_HISTORIES === '1') {
      const history = await client.workflow.getHandle(report.run.workflowId).fetchHistory();
      writeFileSync(join(__dirname, '..', 'replay', 'histories', 'upgrade-plan-v0.2.0.json'), historyToJSON(history));
    }
  });

  it('is findable in visibility by FwCluster and FwOperation, with the target version upserted', async () => {
    const report = await runUpgradePlan({ manifest, version: 'v0.2.0' });
    const query = `FwCluster = "${CLUSTER}" AND FwOperation = "upgrade-plan" AND FwTargetVersion = "v0.2.0"`;
    // Visibility is eventually consistent: wait for the run to be listed, and fail if it never is.
    await waitFor(
      `${report.run.workflowId} in visibility`,
      async () => {
        const found: string[] = [];
        for await (const wf of client.workflow.list({ query })) found.push(wf.workflowId);
        return found.includes(report.run.workflowId);
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
  });

  it('resolves `rc` through the channel pointer and the empty selector through the cluster channel', async () => {
    const rc = await runUpgradePlan({ manifest, version: 'rc' });
    expect(rc.platformVersion).toBe('v0.3.0-rc1');
    expect(rc.resolved).toEqual({ channel: 'rc', version: 'latest' });
    const dflt = await runUpgradePlan({ manifest });
    expect(dflt.platformVersion).toBe('v0.2.0');
    expect(dflt.resolved).toEqual({ channel: 'stable', version: 'latest' });
  });

  it('refuses an orchestrator below min_cli_version, and reports BYPASSED with the unsafe flag', async () => {
    const old = await startPlan({ selector: 'v0.2.0', cliVersion: 'v0.1.5' });
    const floor = old.checks.find((c) => c.id === 'min-cli-version');
    expect(floor?.status).toBe('refuse');
    expect(floor?.detail).toContain("older than the release's required minimum");
    expect(old.refused).toBe(true);

    const dev = await startPlan({ selector: 'v0.2.0', cliVersion: 'dev', unsafeIgnoreCliVersionFloor: true });
    expect(dev.checks.find((c) => c.id === 'min-cli-version')?.status).toBe('bypassed');
    expect(dev.checks.find((c) => c.id === 'min-cli-version')?.detail).toContain('BYPASSED');
  });

  it('refuses a target the catalog does not declare', async () => {
    // v0.3.0-rc1 is declared through its base v0.3.0; a catalog without it must refuse.
    const plan = await startPlan({ selector: 'v0.1.0' });
    expect(plan.checks.find((c) => c.id === 'target-declared')?.status).toBe('pass');
    expect(plan.migrations?.expand.every((x) => x.version === 'v0.1.0')).toBe(true);
    expect(plan.migrations?.contract).toEqual([]);
    const noCatalog = writeFixtureCluster({
      name: 'wf-plan-undeclared',
      catalogDir: join(__dirname, '..', 'fixtures', 'catalog-v0.1-only'),
    });
    const w = await startWorkers([noCatalog]);
    try {
      const r = await runUpgradePlan({ manifest: noCatalog, version: 'v0.2.0' });
      expect(r.refused).toBe(true);
      expect(r.checks.find((c) => c.id === 'target-declared')).toMatchObject({ status: 'refuse' });
      expect(r.checks.find((c) => c.id === 'target-declared')?.detail).toContain('v0.2.0 is not declared');
    } finally {
      await w.stop();
    }
  });

  it('bad input in the catalog or a release manifest is named by file and key path', async () => {
    const fixtures = join(__dirname, '..', 'fixtures');
    const catalogDir = mkdtempSync(join(tmpdir(), 'fw-bad-catalog-'));
    cpSync(join(fixtures, 'catalog'), catalogDir, { recursive: true });
    const releases = readFileSync(join(catalogDir, 'releases.yaml'), 'utf8');
    writeFileSync(
      join(catalogDir, 'releases.yaml'),
      releases.replace('min_cli_version: v0.2.0', 'min_cli_versoin: v0.2.0'),
    );
    const repo = mkdtempSync(join(tmpdir(), 'fw-bad-repo-'));
    cpSync(join(fixtures, 'release-repo'), repo, { recursive: true });
    const v020 = join(repo, 'releases', 'v0.2.0.yaml');
    writeFileSync(v020, readFileSync(v020, 'utf8').replace('    carried_from: v0.1.0', '    caried_from: v0.1.0'));
    const bad = writeFixtureCluster({ name: 'wf-plan-bad-input', catalogDir, releaseRepositories: [repo] });
    const w = await startWorkers([bad]);
    try {
      const err = await runUpgradePlan({ manifest: bad, version: 'v0.2.0' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExitError);
      expect((err as Error).message).toContain(v020);
      expect((err as Error).message).toContain('services[3].caried_from');
      const plan = await runUpgradePlan({ manifest: bad, version: 'v0.1.0' });
      const catalogCheck = plan.checks.find((c) => c.id === 'catalog-loads');
      expect(catalogCheck?.status).toBe('refuse');
      expect(catalogCheck?.detail).toContain('release catalog failed to load');
      expect(catalogCheck?.detail).toContain(join(catalogDir, 'releases.yaml'));
      expect(catalogCheck?.detail).toContain('min_cli_versoin');
      expect(plan.refused).toBe(true);
    } finally {
      await w.stop();
    }
  });

  it('fails the run with a clear message when the pinned release does not exist', async () => {
    await expect(runUpgradePlan({ manifest, version: 'v9.9.9' })).rejects.toThrow(/v9\.9\.9/);
  });

  it('refuses fast, naming the task queue, when no worker serves the cluster', async () => {
    const orphan = writeFixtureCluster({ name: 'wf-plan-orphan' });
    const err = await runUpgradePlan({ manifest: orphan, version: 'v0.2.0' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExitError);
    expect((err as Error).message).toContain(
      `no worker is polling fw-wf-plan-orphan: start one with \`frameworks worker --manifest ${orphan}\``,
    );
  });
});
