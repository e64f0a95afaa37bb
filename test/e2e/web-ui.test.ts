// The Temporal Web UI as an operator uses it (issue 6 item 7, SPEC §4): headless Debian Chromium, driven by
// playwright-core, opens the suite's dev server UI, types a visibility query on the FwCluster search attribute into
// the UI's query box, finds the cluster's upgrade run (`clusterUpgrade`, id fw/<cluster>/change), opens it, and finds
// one `serviceUpgrade` child per service under Relationships. The run is a real clusterUpgrade on a real worker,
// started with the search attributes the CLI sets; only the HOST activities are stubbed (the subject is the UI,
// not hosts). A run of another cluster must disappear when the filter applies. Screenshots of the filtered list
// and of the children are kept in test-artifacts/ (and one of the page on failure).
import { LAB_MIGRATIONS_DIR } from '../../lab/config';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerRow } from '../../src/contracts/migrations';
import type { ClusterUpgradeProgress, HostDetection } from '../../src/contracts/upgrade';
import { loadClusterConfig } from '../../src/activities/cluster-config';
import { discoverMigrations } from '../../src/config/migrations';
import { runSearchAttributes } from '../../src/cli/runs';
import { changeWorkflowId, serviceChildWorkflowId, taskQueueFor } from '../../src/temporal/ids';
import { PROJECT_ROOT } from '../../temporal-dev/locate';
import { writeFixtureCluster } from '../helpers/fixtures';
import { temporalAddress, temporalUiUrl } from '../helpers/servers';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'webui';
/** Another cluster's run, which the FwCluster filter must hide. Nobody polls its queue: it just stays open. */
const OTHER = 'webui-other';
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts');
const UI_WAIT_MS = 20_000;

/**
 * Every host runs v0.1.0 under an identity unlike v0.2.0's, so each service gets a child that upgrades it;
 * every shipped migration is in the ledger and no data migration is pending, so no gate refuses.
 */
async function stubHostActivities(manifest: string): Promise<Record<string, (...args: never[]) => Promise<unknown>>> {
  const services = (await loadClusterConfig(manifest)).manifest.services;
  const ledgerRows = (database: string): LedgerRow[] =>
    discoverMigrations(LAB_MIGRATIONS_DIR)
      .items.filter((m) => m.database === database)
      .map((m) => ({
        version: m.version,
        phase: m.phase,
        seq: m.seq,
        filename: m.filename,
        checksum: m.checksum,
        transactional: m.transactional,
      }));
  const atV010 = (host: string): HostDetection => ({
    host,
    present: true,
    identity: 'sha256:identity-of-v0.1.0',
    version: 'v0.1.0',
    configHash: 'config-of-v0.1.0',
    running: true,
    arch: 'linux-amd64',
  });
  /* eslint-disable @typescript-eslint/require-await -- stubs behind the activities' async signatures */
  return {
    detectServices: async (i: { services: string[] }) =>
      Object.fromEntries(i.services.map((s) => [s, services[s]!.hosts.map(atV010)])),
    detectServiceOnHost: async (i: { host: string }) => atV010(i.host),
    checkImageDigests: async () => [],
    readDatabaseStates: async (i: { databases: string[] }) =>
      i.databases.map((database) => ({
        database,
        ledger: { state: 'ok', database, tableExists: true, rows: ledgerRows(database) },
        marker: { state: 'ok', marker: '' },
      })),
    readDataMigrationStates: async (i: { requirements: { key: string }[] }) =>
      Object.fromEntries(i.requirements.map((r) => [r.key, { kind: 'status', status: 'completed' }])),
    stageServiceOnHost: async () => ({ action: 'staged' }),
    activateServiceOnHost: async () => ({ action: 'restarted' }),
    probeServiceHealth: async () => ({ healthy: true }),
    finalizeServiceOnHost: async () => undefined,
    rollbackServiceOnHost: async () => ({ action: 'rolled-back' }),
  };
  /* eslint-enable @typescript-eslint/require-await */
}

let manifest: string;
let workers: RunningWorkers | undefined;
let client: Client | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
  }
  // A failure page left by an earlier run would mislead whoever reads the artifacts of this one.
  for (const f of ['web-ui-failure.png', 'web-ui-failure.html']) rmSync(join(ARTIFACTS, f), { force: true });
  manifest = writeFixtureCluster({ name: CLUSTER });
  workers = await startWorkers([manifest], await stubHostActivities(manifest));
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  // Playwright's own browser download needs the internet; the Debian package does not.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
});

afterAll(async () => {
  await browser?.close();
  await client?.workflow
    .getHandle(changeWorkflowId(OTHER))
    .terminate('web-ui test done')
    .catch(() => undefined);
  await client?.connection.close();
  await workers?.stop();
});

/** Rows of the workflows table; the UI renders visibility as of page load, so reload until the row shows. */
async function untilShown(page: Page, what: Locator): Promise<void> {
  const deadline = Date.now() + UI_WAIT_MS;
  for (;;) {
    try {
      await what.first().waitFor({ state: 'visible', timeout: 4_000 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await page.reload();
    }
  }
}

const rows = (page: Page): Locator => page.getByTestId('workflows-summary-configurable-table-row');
const rowOf = (page: Page, workflowId: string): Locator =>
  rows(page).filter({ has: page.getByRole('link', { name: workflowId, exact: true }) });

async function keepScreenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
}

describe('Temporal Web UI in headless Chromium', () => {
  it('a FwCluster query finds the upgrade run; its Relationships show one serviceUpgrade child per service', async () => {
    const upgrade = await client!.workflow.start('clusterUpgrade', {
      taskQueue: taskQueueFor(CLUSTER),
      workflowId: changeWorkflowId(CLUSTER),
      args: [{ cluster: CLUSTER, services: 'all', selector: 'v0.2.0', cliVersion: 'v0.3.0', approved: true }],
      typedSearchAttributes: runSearchAttributes(CLUSTER, 'upgrade-all'),
    });
    await client!.workflow.start('clusterUpgrade', {
      taskQueue: taskQueueFor(OTHER),
      workflowId: changeWorkflowId(OTHER),
      args: [{ cluster: OTHER, services: 'all', selector: 'v0.2.0', cliVersion: 'v0.3.0', approved: true }],
      typedSearchAttributes: runSearchAttributes(OTHER, 'upgrade-all'),
    });
    const result = (await upgrade.result()) as ClusterUpgradeProgress;
    expect(result.state).toBe('completed');
    const services = result.order;
    expect([...services].sort()).toEqual(Object.keys((await loadClusterConfig(manifest)).manifest.services).sort());

    const page = await browser!.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(UI_WAIT_MS);
    try {
      // Before the FwCluster filter, both clusters' runs are listed (narrowed by id prefix only, so that runs of
      // other test files on the shared server cannot push them off the first page).
      const byPrefix = encodeURIComponent(`WorkflowId STARTS_WITH "fw/${CLUSTER}"`);
      await page.goto(`${temporalUiUrl()}/namespaces/default/workflows?query=${byPrefix}`);
      await untilShown(page, rowOf(page, changeWorkflowId(OTHER)));
      await untilShown(page, rowOf(page, changeWorkflowId(CLUSTER)));

      // The operator types the visibility query into the UI's query box.
      const query = page.getByTestId('workflow-manual-search-input');
      if (!(await query.isVisible())) await page.getByTestId('toggle-manual-query').click();
      await query.clear();
      await query.fill(`FwCluster="${CLUSTER}"`);
      await query.press('Enter');
      await page.waitForURL((url) => url.searchParams.get('query') === `FwCluster="${CLUSTER}"`);
      await rowOf(page, changeWorkflowId(OTHER)).waitFor({ state: 'detached' });
      await untilShown(page, rowOf(page, changeWorkflowId(CLUSTER)));

      const run = rowOf(page, changeWorkflowId(CLUSTER));
      expect(await run.count()).toBe(1);
      await expect(run.getByRole('link', { name: 'clusterUpgrade', exact: true }).count()).resolves.toBe(1);
      await expect(run.getByTestId('execution-status').innerText()).resolves.toMatch(/completed/i);
      // Every listed run belongs to the cluster.
      const listed = (await rows(page).locator('a[href*="/workflows/"]').allTextContents()).map((t) => t.trim());
      expect(listed.length).toBeGreaterThan(0);
      const ids = listed.filter((t) => t.startsWith('fw/'));
      expect(ids).toContain(changeWorkflowId(CLUSTER));
      for (const id of ids) expect(id).toMatch(new RegExp(`^fw/${CLUSTER}/`));
      await keepScreenshot(page, 'web-ui-fwcluster-filter.png');

      // Open the run; its Relationships tab lists the per-service children.
      await run.getByRole('link', { name: changeWorkflowId(CLUSTER), exact: true }).click();
      await page.waitForURL((url) =>
        url.pathname.includes(`/workflows/${encodeURIComponent(changeWorkflowId(CLUSTER))}/`),
      );
      await page.getByRole('heading', { name: changeWorkflowId(CLUSTER) }).waitFor();
      await page.getByRole('tab', { name: /Relationships/ }).click();
      await page.waitForURL(/\/relationships$/);
      const childLinks = page.getByRole('link', { name: new RegExp(`^fw/${CLUSTER}/change/`) });
      await childLinks.first().waitFor();
      await expect
        .poll(async () => (await childLinks.allTextContents()).map((t) => t.trim()).sort(), { timeout: UI_WAIT_MS })
        .toEqual(services.map((s) => serviceChildWorkflowId(CLUSTER, s)).sort());
      for (const svc of services) {
        // Each child's entry (a button holding status, type and id) names its workflow type.
        const entry = page
          .getByRole('button')
          .filter({ has: page.getByRole('link', { name: serviceChildWorkflowId(CLUSTER, svc), exact: true }) });
        expect(await entry.count(), svc).toBe(1);
        await expect(entry.innerText(), svc).resolves.toMatch(/serviceUpgrade/);
        await expect(entry.getByTestId('execution-status').innerText(), svc).resolves.toMatch(/completed/i);
      }
      await page.setViewportSize({ width: 1600, height: 1400 });
      await keepScreenshot(page, 'web-ui-relationships.png');
    } catch (err) {
      await keepScreenshot(page, 'web-ui-failure.png').catch(() => undefined);
      writeFileSync(join(ARTIFACTS, 'web-ui-failure.html'), await page.content().catch(() => ''));
      throw err;
    } finally {
      await page.close();
    }
  });
});
