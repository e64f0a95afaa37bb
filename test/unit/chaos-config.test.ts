// The kill-point setting (src/worker/chaos.ts) is off by default and refused wherever the worker could be a
// production one: without the explicit lab flag, against a non-loopback Temporal, or with an API key, TLS or a
// named profile.
import { describe, expect, it } from 'vitest';
import { chaosConfig } from '../../src/worker/chaos';

const lab = { FRAMEWORKS_CHAOS_LAB: '1' };

describe('chaosConfig', () => {
  it('is off unless FRAMEWORKS_CHAOS is set', () => {
    expect(chaosConfig('127.0.0.1:7233', {})).toBeUndefined();
    expect(chaosConfig('127.0.0.1:7233', { ...lab, FRAMEWORKS_CHAOS: '  ' })).toBeUndefined();
  });

  it('parses <activityType|*>:<before|after|wft> and the once-file', () => {
    expect(
      chaosConfig('127.0.0.1:7233', { ...lab, FRAMEWORKS_CHAOS: 'dmRunBatch:after', FRAMEWORKS_CHAOS_ONCE: '/tmp/x' }),
    ).toEqual({ activityType: 'dmRunBatch', point: 'after', onceFile: '/tmp/x' });
    expect(chaosConfig('localhost:7233', { ...lab, FRAMEWORKS_CHAOS: '*:wft' })).toEqual({
      activityType: '*',
      point: 'wft',
    });
    expect(() => chaosConfig('127.0.0.1:7233', { ...lab, FRAMEWORKS_CHAOS: 'dmRunBatch:during' })).toThrow(
      /not a kill-point; expected <activityType\|\*>:<before\|after\|wft>/,
    );
  });

  it('is refused in a production profile', () => {
    const armed = { FRAMEWORKS_CHAOS: 'activateServiceOnHost:after' };
    expect(() => chaosConfig('127.0.0.1:7233', armed)).toThrow(/needs FRAMEWORKS_CHAOS_LAB=1/);
    expect(() => chaosConfig('temporal.prod.example.com:7233', { ...armed, ...lab })).toThrow(
      /not a local \(loopback\) server/,
    );
    expect(() => chaosConfig('127.0.0.1:7233', { ...armed, ...lab, TEMPORAL_API_KEY: 'k' })).toThrow(
      /production Temporal/,
    );
    expect(() => chaosConfig('127.0.0.1:7233', { ...armed, ...lab, TEMPORAL_PROFILE: 'prod' })).toThrow(
      /production Temporal/,
    );
  });
});
