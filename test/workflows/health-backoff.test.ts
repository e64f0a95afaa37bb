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

/** The replica's answer now. */
function answer(key: string): { healthy: boolean; error?: string } {
  const r = replicas.get(key)!;
  if (broken.has(key) && r.identity === NEW) return { healthy: false, error: 'HTTP 500' };
  const warmup = slow.get(key) ?? WARMUP_MS;
  return Date.now() - r.startedAt >= warmup ? { healthy: true } : { healthy: false, error: 'HTTP 503 warming up' };
}
/** Every probe activity call, and every probe the (stub) host answered. */
const probeCalls: { key: string; pollForMs?: number }[] = [];
const hostProbes = new Map<string, number>();
/** Play a worker from before HEALTH_POLL_PATCH: one probe per call whatever pollForMs says. */
let ignorePoll = false;

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
  // Polls like the real activity (probeHealthPolling) when asked to, unless the test plays an older worker.
  probeServiceHealth: async (i: Step & { pollForMs?: number }) => {
    const key = `${i.service}@${i.host}`;
    probeCalls.push({ key, pollForMs: i.pollForMs });
    const until = Date.now() + (ignorePoll ? 0 : (i.pollForMs ?? 0));
    for (;;) {
      hostProbes.set(key, (hostProbes.get(key) ?? 0) + 1);
      const r = answer(key);
      if (r.healthy || Date.now() + 50 >= until) return r;
      await new Promise((res) => setTimeout(res, 50));
    }
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
  probeCalls.length = 0;
  hostProbes.clear();
  ignorePoll = false;
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
    // The probe polled on the host (the quick phase): no durable timer was needed before healthy.
    expect(probeCalls.map((c) => c.pollForMs)).toEqual([1000, 1000]);
    expect(h.timersMs).toEqual([]);
  });

  it('a replica healthy after 1.2 s is seen so by the second probe, polling on the host, with no timer', async () => {
    slow.set('quartermaster@h2', 1200);
    const { handle, result } = await run('quartermaster', ['h2'], '90 seconds');
    await captureHistory(client, handle.workflowId, 'service-upgrade-health-poll');
    expect(result.outcome).toBe('upgraded');
    const h = await history(handle);
    // Two probe activities back to back (1 s of polling each at most); the doubling timers waited 250, 500, then
    // 1000 ms (healthy seen at 1.75 s) and the 250 ms steps up to 250 ms late plus a timer round trip per step.
    expect(probeCalls).toEqual([
      { key: 'quartermaster@h2', pollForMs: 1000 },
      { key: 'quartermaster@h2', pollForMs: 1000 },
    ]);
    expect(h.timersMs).toEqual([]);
    expect(hostProbes.get('quartermaster@h2')).toBeGreaterThan(10);
    const healthyAfter = h.scheduled('finalizeServiceOnHost')[0]! - h.completed('activateServiceOnHost')[0]!;
    expect(healthyAfter).toBeGreaterThanOrEqual(1200 - 50);
  });

  it('a probe that does not poll (an older worker) cannot spin the loop: probes stay ≥ 250 ms apart', async () => {
    ignorePoll = true;
    slow.set('foghorn@h2', 1200);
    const { handle, result } = await run('foghorn', ['h2'], '90 seconds');
    expect(result.outcome).toBe('upgraded');
    const h = await history(handle);
    const probes = h.scheduled('probeServiceHealth');
    expect(probes.length).toBeGreaterThanOrEqual(3);
    // One probe per call, each started ≥ 250 ms (workflow time) after the one before: until healthy at 1.2 s that
    // is at most 6 probes (a loop without the step would have sent one per activity round trip, dozens). Any wait
    // between them was a durable timer of at most one step. (Server timestamps of the probes are not compared: they
    // carry each workflow task's own processing time, a few ms either way on a loaded machine.)
    expect(probeCalls.length).toBe(probes.length);
    expect(probes.length).toBeLessThanOrEqual(Math.ceil(1200 / 250) + 1);
    expect(h.timersMs.length).toBeGreaterThan(0);
    for (const t of h.timersMs) expect(t).toBeLessThanOrEqual(250);
  });

  it('rollback health backs off too: the previous identity, healthy after 300 ms, is declared so in < 1 s', async () => {
    broken.add('bridge@h3');
    const { handle, result } = await run('bridge', ['h3'], '3 seconds');
    expect(result.outcome).toBe('rolled-back');
    expect(replicas.get('bridge@h3')!.identity).toBe(OLD);
    const h = await history(handle);
    // The new identity was probed several times within the 3 s deadline, not once then abandoned.
    const upgradeProbes = h.scheduled('probeServiceHealth').filter((t) => t < h.scheduled('rollbackServiceOnHost')[0]!);
    expect(upgradeProbes.length).toBeGreaterThanOrEqual(2);
    expect(hostProbes.get('bridge@h3')).toBeGreaterThan(20);
    const rolledBack = h.completed('rollbackServiceOnHost')[0]!;
    expect(h.closedMs - rolledBack, 'rollback → declared healthy (run closed)').toBeLessThan(1000);
  });
});
