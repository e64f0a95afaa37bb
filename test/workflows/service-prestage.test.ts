// Detect and stage every replica first (issue 12, speed of upgrades; PRESTAGE_PATCH in
// src/workflows/service-replicas.ts): `serviceUpgrade` on the real dev server with stubbed host activities that
// journal every call. The order is read from the run's history (event ids: the server's order) and from the
// journal; nothing here measures time. Before the patch each replica was detected and staged just before its own
// activation, so the second replica's detection followed the first one's activation.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceUpgradeInput, ServiceUpgradeResult } from '../../src/contracts/upgrade';
import { taskQueueFor } from '../../src/temporal/ids';
import { writeFixtureCluster } from '../helpers/fixtures';
import { captureHistory } from '../helpers/history';
import { temporalAddress } from '../helpers/servers';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-prestage';
const OLD = 'sha256:' + 'a'.repeat(64);
const NEW = 'sha256:' + 'b'.repeat(64);

/** One docker replica per key `service@host`. */
const replicas = new Map<string, { identity: string; running: boolean }>();
/** Every host-step call, in the order the worker ran them: `step service@host`. */
let journal: string[] = [];
const stageFails = new Set<string>();
const unhealthy = new Set<string>();

// The stubs are synchronous bodies behind the activity's async signature.
/* eslint-disable @typescript-eslint/require-await */
type Step = { service: string; host: string };
const key = (i: Step) => `${i.service}@${i.host}`;
const overrides = {
  detectServiceOnHost: async (i: Step) => {
    journal.push(`detect ${key(i)}`);
    const r = replicas.get(key(i))!;
    return {
      host: i.host,
      present: true,
      identity: r.identity,
      version: r.identity === NEW ? 'v0.2.0' : 'v0.1.0',
      configHash: 'cfg',
      running: r.running,
      arch: 'linux-amd64',
    };
  },
  stageServiceOnHost: async (i: Step) => {
    journal.push(`stage ${key(i)}`);
    if (stageFails.has(key(i)))
      throw ApplicationFailure.nonRetryable('pull failed: manifest unknown', 'ArtifactFetchFailed');
    return { action: 'staged' };
  },
  activateServiceOnHost: async (i: Step & { identity: string }) => {
    journal.push(`activate ${key(i)}`);
    replicas.set(key(i), { identity: i.identity, running: true });
    return { action: 'restarted' };
  },
  probeServiceHealth: async (i: Step) =>
    unhealthy.has(key(i)) && replicas.get(key(i))!.identity === NEW
      ? { healthy: false, error: 'HTTP 500' }
      : { healthy: true },
  finalizeServiceOnHost: async (i: Step) => {
    journal.push(`finalize ${key(i)}`);
  },
  rollbackServiceOnHost: async (i: Step & { to: { identity: string } }) => {
    journal.push(`rollback ${key(i)}`);
    replicas.set(key(i), { identity: i.to.identity, running: true });
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
  journal = [];
  stageFails.clear();
  unhealthy.clear();
});

const HOSTS = ['h1', 'h2', 'h3'];
let seq = 0;
async function run(service: string, extra: Partial<ServiceUpgradeInput> = {}) {
  const input: ServiceUpgradeInput = {
    cluster: CLUSTER,
    service,
    mode: 'docker',
    hosts: HOSTS,
    version: 'v0.2.0',
    imageRef: `registry.lab.test/frameworks/${service}:v0.2.0@${NEW}`,
    artifacts: [],
    configHash: 'cfg',
    rollback: true,
    skipValidation: false,
    healthInterval: '200 milliseconds',
    healthDeadline: '2 seconds',
    ...extra,
  };
  const handle = await client.workflow.start('serviceUpgrade', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/change/${service}-${++seq}`,
    args: [input],
  });
  return { handle, result: (await handle.result()) as ServiceUpgradeResult };
}

/** The run's host steps as the server recorded them: event ids of each one's scheduling and completion. */
async function steps(handle: WorkflowHandle) {
  const acts = new Map<number, { name: string; scheduled: number; closed: number }>();
  for (const e of (await handle.fetchHistory()).events ?? []) {
    const id = Number(e.eventId);
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) acts.set(id, { name: sched.activityType?.name ?? '', scheduled: id, closed: 0 });
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
    if (done) acts.get(Number(done.scheduledEventId))!.closed = id;
  }
  const list = [...acts.values()];
  return (name: string) => list.filter((a) => a.name === `${name}ServiceOnHost`);
}
const ofStep = (step: string) => journal.filter((j) => j.startsWith(`${step} `));

describe('serviceUpgrade detects and stages every replica before the first activation', () => {
  it('all detections start together, all stages complete before the first activation; then one by one', async () => {
    for (const h of HOSTS) replicas.set(`commodore@${h}`, { identity: OLD, running: true });
    const { handle, result } = await run('commodore');
    await captureHistory(client, handle.workflowId, 'service-upgrade-prestage');
    expect(result.outcome).toBe('upgraded');
    expect(result.hosts.map((h) => h.action)).toEqual(['upgraded', 'upgraded', 'upgraded']);
    const of = await steps(handle);
    const [detect, stage, activate, finalize] = ['detect', 'stage', 'activate', 'finalize'].map(of);
    expect(detect).toHaveLength(3);
    expect(stage).toHaveLength(3);
    expect(activate).toHaveLength(3);
    // Concurrent: every detection was scheduled before the first one completed; likewise every stage.
    const firstClosed = (xs: { closed: number }[]) => Math.min(...xs.map((x) => x.closed));
    expect(Math.max(...detect!.map((d) => d.scheduled))).toBeLessThan(firstClosed(detect!));
    expect(Math.max(...stage!.map((s) => s.scheduled))).toBeLessThan(firstClosed(stage!));
    // Staging starts once every replica is detected, and the first activation once every stage completed.
    expect(Math.min(...stage!.map((s) => s.scheduled))).toBeGreaterThan(Math.max(...detect!.map((d) => d.closed)));
    expect(Math.min(...activate!.map((a) => a.scheduled))).toBeGreaterThan(Math.max(...stage!.map((s) => s.closed)));
    // Activation stays one replica after the other: activate → health → finalize, then the next.
    expect(journal.filter((j) => /^(activate|finalize) /.test(j))).toEqual(
      HOSTS.flatMap((h) => [`activate commodore@${h}`, `finalize commodore@${h}`]),
    );
    for (const [i, f] of finalize!.entries()) {
      if (i + 1 < activate!.length) expect(activate![i + 1]!.scheduled).toBeGreaterThan(f.closed);
    }
  });

  it('a stage failing on the LAST replica fails the service before anything changed on any replica', async () => {
    for (const h of HOSTS) replicas.set(`foghorn@${h}`, { identity: OLD, running: true });
    stageFails.add('foghorn@h3');
    const { result } = await run('foghorn');
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatch(
      /^upgrade failed on h3 before anything changed: .*manifest unknown.*; nothing changed on any replica$/,
    );
    expect(result.hosts.map((h) => [h.host, h.action])).toEqual([
      ['h1', 'not-attempted'],
      ['h2', 'not-attempted'],
      ['h3', 'failed'],
    ]);
    expect(result.hosts[2]!.detail).toMatch(/failed before activation: nothing changed on h3, nothing to roll back$/);
    // No replica was activated, finalized or rolled back: every one still runs what it ran.
    expect(ofStep('activate')).toEqual([]);
    expect(ofStep('finalize')).toEqual([]);
    expect(ofStep('rollback')).toEqual([]);
    for (const h of HOSTS) expect(replicas.get(`foghorn@${h}`)!.identity).toBe(OLD);
    // Every stage was awaited (none left running behind the failed one).
    expect(ofStep('stage').sort()).toEqual(HOSTS.map((h) => `stage foghorn@${h}`));
  });

  it('replicas at target are not staged: skipped, or started if stopped; only the others are staged', async () => {
    replicas.set('bridge@h1', { identity: NEW, running: true });
    replicas.set('bridge@h2', { identity: NEW, running: false });
    replicas.set('bridge@h3', { identity: OLD, running: true });
    const { result } = await run('bridge');
    expect(result.outcome).toBe('upgraded');
    expect(result.hosts.map((h) => h.action)).toEqual(['skipped', 'started', 'upgraded']);
    expect(ofStep('stage')).toEqual(['stage bridge@h3']);
    expect(journal.filter((j) => !j.startsWith('detect '))).toEqual([
      'stage bridge@h3',
      'activate bridge@h2',
      'activate bridge@h3',
      'finalize bridge@h3',
    ]);
  });

  it('a failed activation still rolls back that replica and leaves the later ones untouched (staged only)', async () => {
    for (const h of HOSTS) replicas.set(`purser@${h}`, { identity: OLD, running: true });
    unhealthy.add('purser@h2');
    const { result } = await run('purser');
    expect(result.outcome).toBe('rolled-back');
    expect(result.hosts.map((h) => h.action)).toEqual(['upgraded', 'rolled-back', 'not-attempted']);
    expect(journal.filter((j) => /^(activate|finalize|rollback) /.test(j))).toEqual([
      'activate purser@h1',
      'finalize purser@h1',
      'activate purser@h2',
      'rollback purser@h2',
    ]);
    expect(replicas.get('purser@h2')!.identity).toBe(OLD);
    expect(replicas.get('purser@h3')!.identity).toBe(OLD);
  });

  it('a rollback run (onHost) detects every replica at once, stages nothing and still moves replica by replica', async () => {
    for (const h of HOSTS) replicas.set(`quartermaster@${h}`, { identity: NEW, running: true });
    const { handle, result } = await run('quartermaster', { version: 'v0.1.0', onHost: { identity: OLD } });
    expect(result.outcome).toBe('upgraded');
    expect(ofStep('stage')).toEqual([]);
    // `cluster rollback`'s children are this child with onHost: their detections overlap and all complete before
    // the first activation, as an upgrade's do.
    const of = await steps(handle);
    const [detect, activate] = [of('detect'), of('activate')];
    expect(detect).toHaveLength(3);
    expect(Math.max(...detect.map((d) => d.scheduled))).toBeLessThan(Math.min(...detect.map((d) => d.closed)));
    expect(Math.min(...activate.map((a) => a.scheduled))).toBeGreaterThan(Math.max(...detect.map((d) => d.closed)));
    expect(journal.filter((j) => !j.startsWith('detect '))).toEqual(
      HOSTS.flatMap((h) => [`activate quartermaster@${h}`, `finalize quartermaster@${h}`]),
    );
    for (const h of HOSTS) expect(replicas.get(`quartermaster@${h}`)!.identity).toBe(OLD);
  });

  it('native replicas are not finalized (a no-op on the host): activate → health, then the next replica', async () => {
    for (const h of HOSTS) replicas.set(`commodore@${h}`, { identity: OLD, running: true });
    const artifacts = [{ arch: 'linux-amd64', url: 'https://releases.test/commodore.tar.gz', checksum: NEW }];
    const { handle, result } = await run('commodore', { mode: 'native', imageRef: undefined, artifacts });
    await captureHistory(client, handle.workflowId, 'service-upgrade-native-no-finalize');
    expect(result.outcome).toBe('upgraded');
    expect(journal.filter((j) => !j.startsWith('detect ') && !j.startsWith('stage '))).toEqual(
      HOSTS.map((h) => `activate commodore@${h}`),
    );
    expect((await steps(handle))('finalize')).toEqual([]);
    for (const h of HOSTS) expect(replicas.get(`commodore@${h}`)!.identity).toBe(NEW);
  });
});
