// The sizing rules of long steps (issue 11 item 7): how often an activity heartbeats for its heartbeat timeout, and
// the stage timeout a run derives from the artifact it stages. The behaviour itself (no retry of a slow step, a
// cancelled step stops) is proven end to end in test/workflows/host-step-heartbeat.test.ts.
import { describe, expect, it } from 'vitest';
import { activitySignal, HEARTBEAT_EVERY_MS, heartbeating, heartbeatIntervalMs } from '../../src/activities/heartbeat';
import { stageTimeoutMs } from '../../src/workflows/service-host-steps';

describe('heartbeat interval', () => {
  it('beats three times per heartbeat timeout, at most every 5 s', () => {
    expect(heartbeatIntervalMs(30_000)).toBe(HEARTBEAT_EVERY_MS);
    expect(heartbeatIntervalMs(2_000)).toBe(666);
    expect(heartbeatIntervalMs(undefined)).toBe(HEARTBEAT_EVERY_MS);
  });

  it('outside an activity runs the body as is, with a signal that never aborts', async () => {
    await expect(heartbeating(() => Promise.resolve(42))).resolves.toBe(42);
    expect(activitySignal().aborted).toBe(false);
  });
});

describe('stage timeout', () => {
  const MIN = 60_000;
  it('is 10 minutes plus the artifact moved twice at 1 MiB/s, at most 6 hours', () => {
    expect(stageTimeoutMs('native', 0)).toBe(10 * MIN);
    expect(stageTimeoutMs('native', 300 * 1024 ** 2)).toBe(10 * MIN + 600_000);
    expect(stageTimeoutMs('native', 50 * 1024 ** 3)).toBe(6 * 60 * MIN);
  });
  it('bounds an unsized artifact by the 2 GiB download cap, and an image pull by an hour', () => {
    expect(stageTimeoutMs('native', undefined)).toBe(10 * MIN + 4096_000);
    expect(stageTimeoutMs('docker', undefined)).toBe(60 * MIN);
  });
});
