// Health without idle waiting (issue 12 item 1): `serviceUpgrade` on the real dev server with stubbed host
// activities whose replica turns healthy ~300 ms after it was (re)started. The proof is read from the run's
// history (event timestamps and timer durations), not from the test machine's clock: the old loop probed, then
// slept the whole 5 s interval, so the same replica was declared healthy only after ≥ 5 s.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceUpgradeInput, ServiceUpgradeResult } from '../../src/contracts/upgrade';
import { taskQueueFor } from '../../src/temporal/ids';
import { writeFixtureCluster } from '../helpers/fixtures';
import { captureHistory } from '../helpers/history';
import { temporalAddress } from '../helpers/servers';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-health-backoff';
const WARMUP_MS = 300;
const OLD = 'sha256:' + 'a'.repeat(64);
const NEW = 'sha256:' + 'b'.repeat(64);

/** One docker replica per key `service@host`; healthy WARMUP_MS after its last (re)start, unless broken. */
const replicas = new Map<string, { identity: string; startedAt: number }>();
const broken = new Set<string>();
/** Replicas that take longer than WARMUP_MS to become healthy. */
const slow = new Map<string, number>();

// The stubs are synchronous bodies behind the activity's async signature.
/* eslint-disable @typescript-eslint/require-await */
type Step = { service: string; host: string };
const overrides = {
  detectServiceOnHost: async (i: Step) => ({
    host: i.host,
    present: true,
    identity: replicas.get(`${i.service}@${i.host}`)!.identity,
    version: 'v0.1.0',
    configHash: 'cfg',
    running: true,
    arch: 'linux-amd64',
  }),
  stageServiceOnHost: async () => ({ action: 'staged' }),
  activateServiceOnHost: async (i: Step & { identity: string }) => {
    replicas.set(`${i.service}@${i.host}`, { identity: i.identity, startedAt: Date.now() });
    return { action: 'restarted' };
  },
  probeServiceHealth: async (i: Step) => {
    const r = replicas.get(`${i.service}@${i.host}`)!;
    if (broken.has(`${i.service}@${i.host}`) && r.identity === NEW) return { healthy: false, error: 'HTTP 500' };
    const warmup = slow.get(`${i.service}@${i.host}`) ?? WARMUP_MS;
    return Date.now() - r.startedAt >= warmup ? { healthy: true } : { healthy: false, error: 'HTTP 503 warming up' };
  },
  finalizeServiceOnHost: async () => undefined,
  rollbackServiceOnHost: async (i: Step & { to: { identity: string } }) => {
    replicas.set(`${i.service}@${i.host}`, { identity: i.to.identity, startedAt: Date.now() });
    return { action: 'rolled-back' };
  },
};
/* eslint-enable @typescript-eslint/require-await */

let client: Client;
let workers: RunningWorkers;
beforeAll(async () => {
  workers = await startWorkers([writeFixtureCluster({ name: CLUSTER })], overrides);
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});
beforeEach(() => {
  replicas.clear();
  broken.clear();
  slow.clear();
});

let seq = 0;
async function run(service: string, hosts: string[], healthDeadline: string) {
  for (const h of hosts) replicas.set(`${service}@${h}`, { identity: OLD, startedAt: 0 });
  const input: ServiceUpgradeInput = {
    cluster: CLUSTER,
    service,
    mode: 'docker',
    hosts,
    version: 'v0.2.0',
    imageRef: `registry.lab.test/frameworks/${service}:v0.2.0@${NEW}`,
    artifacts: [],
    configHash: 'cfg',
    rollback: true,
    skipValidation: false,
    // The shipped default interval: the old loop slept all of it after the first unhealthy probe.
    healthInterval: '5 seconds',
    healthDeadline,
  };
  const handle = await client.workflow.start('serviceUpgrade', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/change/${service}-${++seq}`,
    args: [input],
  });
  return { handle, result: (await handle.result()) as ServiceUpgradeResult };
}

interface Act {
  name: string;
  scheduledMs: number;
  completedMs: number | null;
}
/** Activities and timers of a run as recorded by the server (its timestamps, its timer durations). */
async function history(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  const acts = new Map<number, Act>();
  const timersMs: number[] = [];
  let closedMs = 0;
  for (const e of events) {
    const at = tsToMs(e.eventTime);
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched)
      acts.set(Number(e.eventId), { name: sched.activityType?.name ?? '', scheduledMs: at, completedMs: null });
    const done = e.activityTaskCompletedEventAttributes;
    if (done) acts.get(Number(done.scheduledEventId))!.completedMs = at;
    const timer = e.timerStartedEventAttributes;
    if (timer) timersMs.push(tsToMs(timer.startToFireTimeout));
    if (e.workflowExecutionCompletedEventAttributes) closedMs = at;
  }
  const list = [...acts.values()];
  const completed = (name: string) => list.filter((a) => a.name === name).map((a) => a.completedMs!);
  const scheduled = (name: string) => list.filter((a) => a.name === name).map((a) => a.scheduledMs);
  return { completed, scheduled, timersMs, closedMs };
}

describe('health without idle waiting', () => {
  it('a replica healthy after 300 ms is declared healthy in < 1 s (history timestamps), on every host', async () => {
    const { handle, result } = await run('commodore', ['h2', 'h3'], '90 seconds');
    await captureHistory(client, handle.workflowId, 'service-upgrade-health-backoff');
    expect(result.outcome).toBe('upgraded');
    const h = await history(handle);
    const activated = h.completed('activateServiceOnHost');
    const finalized = h.scheduled('finalizeServiceOnHost');
    expect(activated).toHaveLength(2);
    expect(finalized).toHaveLength(2);
    for (const [i, at] of activated.entries()) {
      const healthyAfter = finalized[i]! - at;
      expect(healthyAfter, `replica ${i}: activation → declared healthy`).toBeLessThan(1000);
      expect(healthyAfter).toBeGreaterThanOrEqual(WARMUP_MS - 50);
    }
    // Waits back off from 250 ms; none is the full 5 s interval.
    expect(h.timersMs[0]).toBe(250);
    expect(Math.max(...h.timersMs)).toBeLessThan(5000);
  });

  it('a replica healthy after 1.2 s is probed every 250 ms meanwhile (the doubling waited 250, 500, then 1000 ms)', async () => {
    slow.set('quartermaster@h2', 1200);
    const { handle, result } = await run('quartermaster', ['h2'], '90 seconds');
    await captureHistory(client, handle.workflowId, 'service-upgrade-health-quick');
    expect(result.outcome).toBe('upgraded');
    const h = await history(handle);
    // At least 4 waits were needed before 1.2 s had passed; every one of them was 250 ms (server timer durations).
    expect(h.timersMs.length).toBeGreaterThanOrEqual(4);
    expect(h.timersMs.every((t) => t === 250)).toBe(true);
  });

  it('rollback health backs off too: the previous identity, healthy after 300 ms, is declared so in < 1 s', async () => {
    broken.add('bridge@h3');
    const { handle, result } = await run('bridge', ['h3'], '3 seconds');
    expect(result.outcome).toBe('rolled-back');
    expect(replicas.get('bridge@h3')!.identity).toBe(OLD);
    const h = await history(handle);
    // The new identity was probed several times within the 3 s deadline, not once then abandoned.
    const upgradeProbes = h.scheduled('probeServiceHealth').filter((t) => t < h.scheduled('rollbackServiceOnHost')[0]!);
    expect(upgradeProbes.length).toBeGreaterThanOrEqual(3);
    const rolledBack = h.completed('rollbackServiceOnHost')[0]!;
    expect(h.closedMs - rolledBack, 'rollback → declared healthy (run closed)').toBeLessThan(1000);
  });
});
