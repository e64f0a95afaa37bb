// Stage-ahead (issue 12, speed of upgrades; STAGE_AHEAD_PATCH in src/workflows/cluster-stage-ahead.ts): while a
// service's child runs, the clusterUpgrade run stages the next services' artifacts on their hosts, and each child
// starts only once the stage-ahead of its service settled. The real workflows on the dev server with the host
// activities stubbed by an in-memory cluster (test/helpers/canary-world.ts) that journals every stage and
// activation, and whether the parent or a child asked. Order is read from that journal (the worker's order of
// calls), never from clocks. To make "before the first service's last activation completed" a fact rather than a
// race, that activation waits (bounded) until the stage-ahead it is compared with has happened; without
// stage-ahead it waits in vain and the order assertions fail. Before the patch the parent staged nothing.
import { Context } from '@temporalio/activity';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterUpgradeInput, ClusterUpgradeProgress } from '../../src/contracts/upgrade';
import type { StageStep } from '../../src/domain/stage-ahead';
import { taskQueueFor } from '../../src/temporal/ids';
import { identityIn, SERVICES, World } from '../helpers/canary-world';
import { writeFixtureCluster } from '../helpers/fixtures';
import { renderedConfigs, upgradeAllInput } from '../helpers/cluster-upgrade';
import { captureHistory } from '../helpers/history';
import { temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-stage-ahead';
const world = new World();
type Who = 'parent' | 'child';
type Step = { service: string; host: string };
const key = (i: Step) => `${i.service}@${i.host}`;

/** `stage-start|stage-end|stage-failed|stage-cancelled <svc@host> <who>`, `activate-start|activate-end <svc@host>`. */
let journal: string[] = [];
let stages: { who: Who; input: StageStep }[] = [];
/** Replicas whose stages overlapped (two at once). */
let overlapped: string[] = [];
const inFlight = new Map<string, number>();
/** The parent's stage of these replicas fails; a child's succeeds. */
const aheadFails = new Set<string>();
/** Every stage of these replicas fails. */
const stageFails = new Set<string>();
/** The parent's stage of these replicas runs (heartbeating) until cancelled. */
const aheadBlocks = new Set<string>();
const unhealthy = new Set<string>();
/** The activation of `key` waits (at most 20 s) until `until()` holds. */
let gate: { key: string; until: () => boolean } | undefined;

const has = (entry: string) => journal.includes(entry);
const at = (entry: string) => {
  const i = journal.indexOf(entry);
  expect(i, `journal has "${entry}"`).toBeGreaterThanOrEqual(0);
  return i;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function blockUntilCancelled(k: string): Promise<never> {
  const ctx = Context.current();
  for (let i = 0; i < 300; i++) {
    ctx.heartbeat();
    try {
      await Promise.race([ctx.cancelled, sleep(200)]);
    } catch (err) {
      journal.push(`stage-cancelled ${k} parent`);
      throw err;
    }
  }
  throw new Error(`${k}: stage-ahead never cancelled`);
}

function overrides(): Record<string, (...args: never[]) => Promise<unknown>> {
  const base = world.overrides();
  const activate = base.activateServiceOnHost as (i: Step) => Promise<unknown>;
  return {
    ...base,
    stageServiceOnHost: async (i: StageStep) => {
      const who: Who = (Context.current().info.workflowExecution?.workflowId ?? '').includes('/change/')
        ? 'child'
        : 'parent';
      const k = key(i);
      stages.push({ who, input: i });
      const n = (inFlight.get(k) ?? 0) + 1;
      inFlight.set(k, n);
      if (n > 1) overlapped.push(k);
      journal.push(`stage-start ${k} ${who}`);
      try {
        if (who === 'parent' && aheadBlocks.has(k)) await blockUntilCancelled(k);
        // Long enough for a second stage of the same replica, were one started, to overlap this one.
        await sleep(100);
        if (stageFails.has(k) || (who === 'parent' && aheadFails.has(k))) {
          journal.push(`stage-failed ${k} ${who}`);
          throw ApplicationFailure.nonRetryable(`download failed: HTTP 404 for ${k}`, 'ArtifactFetchFailed');
        }
        journal.push(`stage-end ${k} ${who}`);
        return { action: 'staged' };
      } finally {
        inFlight.set(k, inFlight.get(k)! - 1);
      }
    },
    activateServiceOnHost: async (i: Step) => {
      const k = key(i);
      journal.push(`activate-start ${k}`);
      if (gate?.key === k) {
        const g = gate;
        for (let t = 0; t < 200 && !g.until(); t++) await sleep(100);
      }
      const r = await activate(i);
      journal.push(`activate-end ${k}`);
      return r;
    },
    probeServiceHealth: async (i: Step) =>
      Promise.resolve(
        unhealthy.has(key(i)) && world.hosts.get(key(i))!.identity !== identityIn('v0.1.0', i.service)
          ? { healthy: false, error: 'HTTP 500 from /health' }
          : { healthy: true },
      ),
  };
}

let client: Client;
let workers: RunningWorkers;
let configs: Record<string, string>;
beforeAll(async () => {
  const manifest = writeFixtureCluster({ name: CLUSTER });
  workers = await startWorkers([manifest], overrides());
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  configs = await renderedConfigs(CLUSTER, manifest, Object.keys(SERVICES));
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});
beforeEach(() => {
  world.reset(configs);
  journal = [];
  stages = [];
  overlapped = [];
  inFlight.clear();
  aheadFails.clear();
  stageFails.clear();
  aheadBlocks.clear();
  unhealthy.clear();
  gate = undefined;
});

let seq = 0;
async function upgrade(input: Partial<ClusterUpgradeInput> = {}) {
  const handle = await client.workflow.start('clusterUpgrade', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/change-${++seq}`,
    args: [upgradeAllInput(CLUSTER, input)],
  });
  return { handle, result: () => handle.result() as Promise<ClusterUpgradeProgress> };
}

/** The replicas `who` staged, in run order of services (replicas of one service are staged at once: sorted). */
const stagedBy = (who: Who) => {
  const keys = stages.filter((s) => s.who === who).map((s) => key(s.input));
  const firstOf = (svc: string) => keys.findIndex((k) => k.startsWith(`${svc}@`));
  return [...keys].sort((a, b) => firstOf(a.split('@')[0]!) - firstOf(b.split('@')[0]!) || a.localeCompare(b));
};
/** The parent's stage of `k` settled (either way). */
const aheadSettled = (k: string) => has(`stage-end ${k} parent`) || has(`stage-failed ${k} parent`);

/** What holds for every run: each activated replica was staged before, never by two stages at once. */
function expectStagedBeforeActivation(): void {
  expect(overlapped, 'replicas staged twice at once').toEqual([]);
  for (const entry of journal.filter((j) => j.startsWith('activate-start '))) {
    const k = entry.slice('activate-start '.length);
    const i = journal.indexOf(entry);
    // The child still stages it itself (a quick no-op on a staged host), after the parent's stage settled.
    expect(journal.slice(0, i), `${k} staged by its child before activation`).toContain(`stage-end ${k} child`);
    const ahead = journal.findIndex((j) => j.startsWith(`stage-start ${k} parent`));
    if (ahead >= 0) {
      const settled = journal.findIndex((j) => j === `stage-end ${k} parent` || j === `stage-failed ${k} parent`);
      expect(settled, `${k}: parent's stage settled`).toBeGreaterThan(ahead);
      expect(settled, `${k}: parent's stage settled before the child's began`).toBeLessThan(
        at(`stage-start ${k} child`),
      );
    }
  }
}

/** Stage activities of the run (the parent's own history) whose cancellation it requested. */
async function cancelRequestedStages(handle: WorkflowHandle): Promise<number> {
  const stagesById = new Set<number>();
  let n = 0;
  for (const e of (await handle.fetchHistory()).events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'stageServiceOnHost') {
      stagesById.add(Number(e.eventId));
    }
    const req = e.activityTaskCancelRequestedEventAttributes;
    if (req && stagesById.has(Number(req.scheduledEventId))) n++;
  }
  return n;
}

describe('clusterUpgrade stages upcoming services ahead of their children', () => {
  it('sequential: the next services are staged while the first one upgrades; skipped services never', async () => {
    // Order: quartermaster (h1), commodore (h2, h3), foghorn (at target: skipped), purser (h1), bridge (h3).
    gate = {
      key: 'quartermaster@h1',
      until: () => ['commodore@h2', 'commodore@h3', 'purser@h1'].every(aheadSettled),
    };
    const run = await upgrade();
    const r = await run.result();
    await captureHistory(client, run.handle.workflowId, 'cluster-upgrade-stage-ahead', run.handle.firstExecutionRunId);
    expect(r.state).toBe('completed');
    expect(Object.fromEntries(r.services.map((s) => [s.service, s.status]))).toEqual({
      quartermaster: 'upgraded',
      commodore: 'upgraded',
      foghorn: 'skipped',
      purser: 'upgraded',
      bridge: 'upgraded',
    });
    // The two services after the first were staged before its (last) activation completed…
    const firstDone = at('activate-end quartermaster@h1');
    for (const k of ['commodore@h2', 'commodore@h3', 'purser@h1']) {
      expect(at(`stage-start ${k} parent`), k).toBeLessThan(firstDone);
    }
    // …but no more than two services ahead: bridge only once commodore started.
    expect(at('stage-start bridge@h3 parent')).toBeGreaterThan(firstDone);
    // The first service is its child's alone; the skipped one is staged by nobody.
    expect(stagedBy('parent')).toEqual(['commodore@h2', 'commodore@h3', 'purser@h1', 'bridge@h3']);
    expect(stages.filter((s) => s.input.service === 'foghorn')).toEqual([]);
    expectStagedBeforeActivation();
    // The parent stages exactly what the child stages for the same replica.
    for (const s of stages.filter((x) => x.who === 'parent')) {
      expect(stages.find((x) => x.who === 'child' && key(x.input) === key(s.input))?.input).toEqual(s.input);
    }
  });

  it('a failed stage-ahead changes nothing: the child stages the replica itself', async () => {
    aheadFails.add('purser@h1');
    gate = { key: 'quartermaster@h1', until: () => aheadSettled('purser@h1') };
    const r = await (await upgrade()).result();
    expect(r.state).toBe('completed');
    expect(has('stage-failed purser@h1 parent')).toBe(true);
    expect(r.services.find((s) => s.service === 'purser')?.status).toBe('upgraded');
    expectStagedBeforeActivation();
  });

  it("a replica that cannot be staged fails the run as its child's stage decides, stage-ahead or not", async () => {
    stageFails.add('purser@h1');
    gate = { key: 'quartermaster@h1', until: () => aheadSettled('purser@h1') };
    const run = await upgrade();
    const err = await run.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const msg = String((err as WorkflowFailedError).cause?.message);
    expect(msg).toMatch(/upgrade failed on h1 before anything changed: .*HTTP 404 for purser@h1/);
    expect(msg).toMatch(/Succeeded: \[quartermaster, commodore, foghorn\], Failed: \[purser\], Remaining: \[bridge\]/);
    expect(has('stage-failed purser@h1 parent')).toBe(true);
    expect(has('stage-failed purser@h1 child')).toBe(true);
    expect(world.rolledBack).toEqual([]);
    expect(journal.filter((j) => j.startsWith('activate-start bridge'))).toEqual([]);
    expectStagedBeforeActivation();
  });

  it('the first failure stops stage-ahead: nothing further is staged, an unstarted service’s stage is cancelled', async () => {
    unhealthy.add('quartermaster@h1');
    aheadBlocks.add('purser@h1');
    gate = {
      key: 'quartermaster@h1',
      until: () => aheadSettled('commodore@h2') && has('stage-start purser@h1 parent'),
    };
    const run = await upgrade();
    const err = await run.result().catch((e: unknown) => e);
    await captureHistory(client, run.handle.workflowId, 'cluster-upgrade-stage-ahead-stopped');
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(/Failed: \[quartermaster\]/);
    expect(world.rolledBack.map((x) => x.key)).toEqual(['quartermaster@h1']);
    // The run asked for the in-flight stage of purser (never started) to be cancelled, and it was.
    expect(await cancelRequestedStages(run.handle)).toBe(1);
    await waitFor('the stage-ahead of purser to see its cancellation', () => has('stage-cancelled purser@h1 parent'));
    // Nothing was staged after the failure (bridge is beyond the two ahead), and no later child ran.
    expect(stages.some((s) => s.input.service === 'bridge')).toBe(false);
    expect(stagedBy('child')).toEqual(['quartermaster@h1']);
  });

  it('a failure while the stage-ahead waits for its turn ends it there: the run ends, nothing more is staged', async () => {
    unhealthy.add('quartermaster@h1');
    // commodore and purser are staged ahead; bridge (a third service ahead) waits for commodore to start.
    gate = { key: 'quartermaster@h1', until: () => aheadSettled('purser@h1') };
    const run = await upgrade();
    const err = await run.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(/Failed: \[quartermaster\]/);
    expect(stagedBy('parent')).toEqual(['commodore@h2', 'commodore@h3', 'purser@h1']);
    expect(await cancelRequestedStages(run.handle)).toBe(0);
    expect(stages.some((s) => s.input.service === 'bridge')).toBe(false);
  });

  it('a cancelled run cancels its stage-ahead and starts no further child', async () => {
    aheadBlocks.add('purser@h1');
    let cancelSent = false;
    gate = { key: 'quartermaster@h1', until: () => cancelSent };
    const run = await upgrade();
    // Cancelled while quartermaster activates (its stage done) and purser's stage-ahead runs.
    await waitFor('quartermaster activating and purser staged ahead', () =>
      ['activate-start quartermaster@h1', 'stage-start purser@h1 parent'].every(has),
    );
    await run.handle.cancel();
    cancelSent = true;
    await run.result().catch((e: unknown) => e);
    expect((await run.handle.describe()).status.name).not.toBe('COMPLETED');
    expect(await cancelRequestedStages(run.handle)).toBe(1);
    await waitFor('the stage-ahead of purser to see its cancellation', () => has('stage-cancelled purser@h1 parent'));
    expect(stagedBy('child')).toEqual(['quartermaster@h1']);
    expect(stages.some((s) => s.input.service === 'bridge')).toBe(false);
  });

  it('--parallel 2: the next wave is staged while the current one upgrades', async () => {
    // A stale config makes foghorn change too: wave 3 is foghorn and purser, at once.
    world.hosts.get('foghorn@h2')!.configHash = 'stale';
    gate = { key: 'commodore@h3', until: () => ['foghorn@h2', 'purser@h1'].every(aheadSettled) };
    const r = await (await upgrade({ parallel: 2 })).result();
    expect(r.state).toBe('completed');
    expect(r.summary?.succeeded).toEqual(['quartermaster', 'commodore', 'foghorn', 'purser', 'bridge']);
    const waveDone = at('activate-end commodore@h3');
    for (const k of ['foghorn@h2', 'purser@h1']) expect(at(`stage-start ${k} parent`), k).toBeLessThan(waveDone);
    expect(stagedBy('parent')).toEqual(['commodore@h2', 'commodore@h3', 'foghorn@h2', 'purser@h1', 'bridge@h3']);
    expectStagedBeforeActivation();
  });
});
