// `cluster upgrade --canary` (issue 12 item 3) on the real dev server, host activities stubbed by an in-memory
// cluster: the first changed replica of a service pauses the run (FwState `awaiting-canary` on the run and its
// child), the `canary` update of the clusterUpgrade run decides — continue upgrades the rest, rollback returns the
// canary to its previous identity and config — and no decision before the deadline rolls back. The soak is a
// durable timer. The same flow runs against real hosts and the real CLI in test/integration/cli-canary.test.ts
// and test/e2e/canary-lab.test.ts.
import { Client, Connection, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterUpgradeInput, ClusterUpgradeProgress } from '../../src/contracts/upgrade';
import { serviceChildWorkflowId, taskQueueFor } from '../../src/temporal/ids';
import { FwState } from '../../src/temporal/search-attributes';
import { canaryUpdate, clusterUpgradeMessages } from '../../src/workflows/messages';
import { identityIn, SERVICES, World } from '../helpers/canary-world';
import { writeFixtureCluster } from '../helpers/fixtures';
import { renderedConfigs } from '../helpers/cluster-upgrade';
import { captureHistory } from '../helpers/history';
import { temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-canary';
const world = new World();
let client: Client;
let workers: RunningWorkers;
let configs: Record<string, string>;

beforeAll(async () => {
  const manifest = writeFixtureCluster({ name: CLUSTER });
  workers = await startWorkers([manifest], world.overrides());
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  configs = await renderedConfigs(CLUSTER, manifest, Object.keys(SERVICES));
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});
beforeEach(() => world.reset(configs));

let seq = 0;
async function upgrade(input: Partial<ClusterUpgradeInput>) {
  const handle = await client.workflow.start('clusterUpgrade', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/change-${++seq}`,
    args: [
      {
        cluster: CLUSTER,
        services: ['commodore'],
        selector: 'v0.2.0',
        cliVersion: 'v0.3.0',
        approved: true,
        healthInterval: '200 milliseconds',
        healthDeadline: '2 seconds',
        canary: true,
        ...input,
      },
    ],
  });
  const progress = () => handle.query(clusterUpgradeMessages.progress);
  const awaiting = (service = 'commodore') =>
    waitFor(`the canary of ${service} awaiting a decision`, async () => {
      const p = await progress();
      return p.state === 'awaiting-canary' && p.canaries?.find((c) => c.service === service && c.state === 'awaiting');
    });
  return { handle, progress, awaiting, result: () => handle.result() as Promise<ClusterUpgradeProgress> };
}

const child = () => client.workflow.getHandle(serviceChildWorkflowId(CLUSTER, 'commodore'));
const at = (key: string) => world.hosts.get(key)!;

describe('clusterUpgrade --canary', () => {
  it('pauses after the first replica is healthy (FwState awaiting-canary); continue upgrades the rest', async () => {
    const run = await upgrade({});
    const canary = await run.awaiting();
    expect(canary).toMatchObject({ service: 'commodore', host: 'h2', state: 'awaiting' });
    // Only the canary moved; the run and the service's child both say what they wait for (Web UI, runs list).
    expect(world.activated).toEqual(['commodore@h2']);
    // Not finalized while undecided: a rollback needs what activation kept.
    expect(world.finalized).toEqual([]);
    expect(at('commodore@h2').version).toBe('v0.2.0');
    expect(at('commodore@h3').version).toBe('v0.1.0');
    expect((await run.handle.describe()).typedSearchAttributes.get(FwState)).toBe('awaiting-canary');
    expect((await child().describe()).typedSearchAttributes.get(FwState)).toBe('awaiting-canary');

    const after = await run.handle.executeUpdate(canaryUpdate, { args: [{ decision: 'continue', operator: 'ana' }] });
    expect(after.canaries?.[0]).toMatchObject({ state: 'continued', decidedBy: 'ana' });
    const r = await run.result();
    await captureHistory(client, run.handle.workflowId, 'cluster-upgrade-canary-continue');
    await captureHistory(client, serviceChildWorkflowId(CLUSTER, 'commodore'), 'service-upgrade-canary-continue');
    expect(r.state).toBe('completed');
    expect(world.activated).toEqual(['commodore@h2', 'commodore@h3']);
    expect(world.finalized).toEqual(['commodore@h2', 'commodore@h3']);
    expect(at('commodore@h3').version).toBe('v0.2.0');
    expect(world.rolledBack).toEqual([]);
    const hosts = r.services[0]!.result!.hosts;
    expect(hosts.map((h) => h.action)).toEqual(['upgraded', 'upgraded']);
    expect(hosts[0]!.detail).toBe('canary; continued by ana');
    // A second answer is refused: nothing awaits any more.
    const late = await run.handle
      .executeUpdate(canaryUpdate, { args: [{ decision: 'rollback' }] })
      .catch((e: unknown) => e);
    expect(late).toBeInstanceOf(Error);
  });

  it('rollback returns the canary to its previous identity and config; the other replica is never touched', async () => {
    const before = { ...at('commodore@h2') };
    const run = await upgrade({});
    await run.awaiting();
    // The decision names a service that is not waiting: refused, nothing decided.
    const wrong = await run.handle
      .executeUpdate(canaryUpdate, { args: [{ decision: 'rollback', service: 'purser' }] })
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((wrong as WorkflowUpdateFailedError).cause?.message)).toMatch(/no canary of purser is awaiting/);

    await run.handle.executeUpdate(canaryUpdate, {
      args: [{ decision: 'rollback', operator: 'ana', service: 'commodore' }],
    });
    const err = await run.result().catch((e: unknown) => e);
    await captureHistory(client, serviceChildWorkflowId(CLUSTER, 'commodore'), 'service-upgrade-canary-rollback');
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(
      /the canary on h2 was rolled back by ana; it runs v0\.1\.0 again/,
    );
    expect(world.rolledBack).toEqual([
      { key: 'commodore@h2', to: { identity: before.identity, configHash: 'old-config' } },
    ]);
    expect(at('commodore@h2')).toMatchObject({ identity: before.identity, configHash: 'old-config' });
    expect(world.activated).toEqual(['commodore@h2']);
    expect(at('commodore@h3').version).toBe('v0.1.0');
    const p = await run.progress();
    expect(p.canaries?.[0]).toMatchObject({ state: 'rolled-back', decidedBy: 'ana' });
    expect(p.summary?.rolledBack).toEqual(['commodore']);
    expect(p.services[0]!.result!.hosts.map((h) => h.action)).toEqual(['rolled-back', 'not-attempted']);
    expect((await child().describe()).typedSearchAttributes.get(FwState)).toBe('rolled-back');
  });

  it('no decision before --canary-timeout rolls the canary back like rollback', async () => {
    const before = { ...at('commodore@h2') };
    const run = await upgrade({ canaryTimeout: '1 second' });
    const err = await run.result().catch((e: unknown) => e);
    await captureHistory(client, run.handle.workflowId, 'cluster-upgrade-canary-expired');
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(
      /the canary on h2 was rolled back: no decision within 1 second/,
    );
    expect(at('commodore@h2')).toMatchObject({ identity: before.identity, configHash: 'old-config' });
    expect(at('commodore@h3').version).toBe('v0.1.0');
    expect(world.activated).toEqual(['commodore@h2']);
    const p = await run.progress();
    expect(p.canaries?.[0]).toMatchObject({ state: 'expired', host: 'h2' });
    expect(p.canaries?.[0]?.decidedBy).toBeUndefined();
    // The deadline is a durable timer of the parent: the 1 s the operator asked for.
    const timers = (await run.handle.fetchHistory()).events!.flatMap((e) =>
      e.timerStartedEventAttributes ? [Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0)] : [],
    );
    expect(timers).toContain(1);
  });

  it('--soak: the decision is asked for only after a durable soak timer; before it fires an answer is refused', async () => {
    const run = await upgrade({ soak: '10 minutes' });
    await waitFor('the canary soaking', async () => (await run.progress()).canaries?.[0]?.state === 'soaking');
    const early = await run.handle
      .executeUpdate(canaryUpdate, { args: [{ decision: 'continue' }] })
      .catch((e: unknown) => e);
    expect(String((early as WorkflowUpdateFailedError).cause?.message)).toMatch(/commodore is still soaking/);
    const soak = await waitFor('the soak timer in the history', async () =>
      (await run.handle.fetchHistory()).events!.find(
        (e) => Number(e.timerStartedEventAttributes?.startToFireTimeout?.seconds ?? 0) === 600,
      ),
    );
    expect(soak).toBeDefined();
    const p = await run.progress();
    expect(p.state).toBe('upgrading');
    expect(world.activated).toEqual(['commodore@h2']);
    await run.handle.terminate('test over');
  });

  it('a replica already at the target is no canary: the first one that changes is', async () => {
    const h2 = at('commodore@h2');
    world.hosts.set('commodore@h2', {
      ...h2,
      identity: identityIn('v0.2.0', 'commodore'),
      version: 'v0.2.0',
      configHash: configs.commodore!,
    });
    const run = await upgrade({});
    expect(await run.awaiting()).toMatchObject({ host: 'h3' });
    expect(world.activated).toEqual(['commodore@h3']);
    await run.handle.executeUpdate(canaryUpdate, { args: [{ decision: 'continue' }] });
    const r = await run.result();
    expect(r.services[0]!.result!.hosts.map((h) => h.action)).toEqual(['skipped', 'upgraded']);
    expect(world.activated).toEqual(['commodore@h3']);
  });

  it('--all: every service that changes pauses in turn; one continue without a service answers each', async () => {
    const run = await upgrade({ services: 'all' });
    const seen: string[] = [];
    for (;;) {
      const p = await waitFor('a canary awaiting, or the end', async () => {
        const x = await run.progress();
        return (x.state === 'awaiting-canary' || x.state === 'completed') && x;
      });
      if (p.state === 'completed') break;
      const c = p.canaries!.find((x) => x.state === 'awaiting')!;
      seen.push(c.service);
      await run.handle.executeUpdate(canaryUpdate, { args: [{ decision: 'continue' }] });
    }
    const r = await run.result();
    expect(r.state).toBe('completed');
    // foghorn is carried (same identity in v0.2.0): nothing changes, no canary.
    const changed = r.services.filter((s) => s.status === 'upgraded').map((s) => s.service);
    expect(seen.sort()).toEqual(changed.sort());
    expect(seen).not.toContain('foghorn');
    expect(seen.length).toBeGreaterThan(1);
    for (const key of world.activated) expect(at(key).version).toBe('v0.2.0');
  });
});
