// A health probe lost with its worker is retried, not taken as the service's verdict (commit 5f7c9c4, issue 15).
// probeServiceHealth answers every outcome of the service (healthy or not) as its RESULT and never throws, so an
// attempt that fails is a worker lost mid-probe: its attempt timed out, often after the health deadline had
// passed. With `maximumAttempts: 1` that attempt was the last word: the wait gave up (deadline passed), and a
// healthy replica was declared unhealthy and rolled back (bench/chaos.ts, probeServiceHealth:before).
// Here, on the real dev server with stub host activities: the first probe attempt stalls past the health
// deadline and fails as a lost worker looks to the server (a retryable failure), the next attempt answers healthy.
// The upgrade must end `upgraded` with no rollback, the probe retried by the server as the SAME activity.
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceUpgradeInput, ServiceUpgradeResult } from '../../src/contracts/upgrade';
import { taskQueueFor } from '../../src/temporal/ids';
import { startedAttempts } from '../helpers/activity-attempts';
import { writeFixtureCluster } from '../helpers/fixtures';
import { temporalAddress } from '../helpers/servers';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-health-probe-retry';
const OLD = 'sha256:' + 'a'.repeat(64);
const NEW = 'sha256:' + 'b'.repeat(64);
const HEALTH_DEADLINE_MS = 1000;

const identities = new Map<string, string>();
const calls = { probe: 0, rollback: 0 };

// The stubs are synchronous bodies behind the activity's async signature (the probe's first call excepted).
/* eslint-disable @typescript-eslint/require-await */
type Step = { service: string; host: string };
const overrides = {
  detectServiceOnHost: async (i: Step) => ({
    host: i.host,
    present: true,
    identity: identities.get(`${i.service}@${i.host}`)!,
    version: 'v0.1.0',
    configHash: 'cfg',
    running: true,
    arch: 'linux-amd64',
  }),
  stageServiceOnHost: async () => ({ action: 'staged' }),
  activateServiceOnHost: async (i: Step & { identity: string }) => {
    identities.set(`${i.service}@${i.host}`, i.identity);
    return { action: 'restarted' };
  },
  probeServiceHealth: async () => {
    calls.probe += 1;
    if (calls.probe === 1) {
      // The lost worker: the attempt outlives the health deadline, then the server sees it fail (retryable).
      await new Promise((r) => setTimeout(r, HEALTH_DEADLINE_MS + 500));
      throw ApplicationFailure.retryable('worker lost mid-probe', 'WorkerLost');
    }
    return { healthy: true };
  },
  finalizeServiceOnHost: async () => undefined,
  rollbackServiceOnHost: async (i: Step & { to: { identity: string } }) => {
    calls.rollback += 1;
    identities.set(`${i.service}@${i.host}`, i.to.identity);
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
  identities.clear();
  calls.probe = 0;
  calls.rollback = 0;
});

describe('health probe lost with its worker', () => {
  it('is retried on a live worker: the upgrade ends upgraded, nothing rolled back', async () => {
    identities.set('commodore@h2', OLD);
    const input: ServiceUpgradeInput = {
      cluster: CLUSTER,
      service: 'commodore',
      mode: 'docker',
      hosts: ['h2'],
      version: 'v0.2.0',
      imageRef: `registry.lab.test/frameworks/commodore:v0.2.0@${NEW}`,
      artifacts: [],
      configHash: 'cfg',
      rollback: true,
      skipValidation: false,
      healthInterval: '5 seconds',
      healthDeadline: `${HEALTH_DEADLINE_MS / 1000} seconds`,
    };
    const handle = await client.workflow.start('serviceUpgrade', {
      taskQueue: taskQueueFor(CLUSTER),
      workflowId: `fw/${CLUSTER}/change/commodore-probe-retry`,
      args: [input],
    });
    const result = (await handle.result()) as ServiceUpgradeResult;

    expect(result.outcome, result.error).toBe('upgraded');
    expect(calls.rollback).toBe(0);
    expect(identities.get('commodore@h2')).toBe(NEW);
    // One probe activity, answered by its second attempt (the server's retry), not a second probe after a verdict.
    expect(calls.probe).toBe(2);
    expect((await startedAttempts(handle)).probeServiceHealth).toEqual([2]);
  });
});
