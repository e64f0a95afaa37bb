// The one duration parser (issue 11 item 8): it must read exactly what Temporal's own timers read (the `ms`
// grammar, compared here with Temporal's own msToNumber), and the contracts must refuse anything else.
import { msToNumber } from '@temporalio/common/lib/time';
import type { Duration } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ClusterUpgradeInputSchema, ServiceUpgradeInputSchema } from '../../src/contracts/upgrade';
import { ReleaseInputSchema } from '../../src/contracts/release-run';
import { durationMs, durationProblem, parseDurationMs } from '../../src/contracts/duration';

const ACCEPTED = [
  '90s',
  '90 s',
  '2 mins',
  '2 minutes',
  '1 min',
  '5m',
  '1d',
  '1 day',
  '2 weeks',
  '1.5h',
  '3 hrs',
  '.5s',
  '100',
  '250ms',
  '250 milliseconds',
  '2 msecs',
  '1y',
  '5 SECONDS',
  '-1s',
];
const REFUSED = ['', 'soon', '2 fortnights', '1h30m', 's', '1 s s', ' 5s', '5s ', '1e3', 'x'.repeat(101)];

describe('parseDurationMs reads what Temporal reads', () => {
  it.each(ACCEPTED)('%j is the same number of ms as Temporal (ms) says', (text) => {
    expect(parseDurationMs(text)).toBe(msToNumber(text as Duration));
  });
  it.each(REFUSED)('%j is not a duration (Temporal refuses it too)', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
    expect(() => msToNumber(text as Duration)).toThrow();
  });
  it('numbers are milliseconds', () => {
    expect(parseDurationMs(1500)).toBe(1500);
    expect(parseDurationMs(Number.NaN)).toBeUndefined();
  });
  it('the workflow deadline of "2 mins" and "1d" is not 0 (the old durationMs read them as 0 ms)', () => {
    expect(durationMs('2 mins')).toBe(120_000);
    expect(durationMs('1d')).toBe(86_400_000);
    expect(() => durationMs('0s')).toThrow(/must be longer than 0/);
  });
  it('problems name the value and the grammar', () => {
    expect(durationProblem('soon')).toBe(
      '"soon" is not a duration (e.g. "90s", "2 mins", "1.5h", "1d", or a number of milliseconds)',
    );
    expect(durationProblem('-1s')).toBe('"-1s" must be longer than 0');
    expect(durationProblem('90s')).toBeUndefined();
  });
});

describe('contracts validate durations at the boundary', () => {
  const upgrade = { cluster: 'c', services: 'all', cliVersion: 'v0.3.0' } as const;
  it('clusterUpgrade accepts Temporal grammar and refuses anything else, naming the key', () => {
    expect(ClusterUpgradeInputSchema.parse({ ...upgrade, healthDeadline: '2 mins' }).healthDeadline).toBe('2 mins');
    expect(ClusterUpgradeInputSchema.parse({ ...upgrade, approvalTimeout: '1d' }).approvalTimeout).toBe('1d');
    const bad = ClusterUpgradeInputSchema.safeParse({ ...upgrade, healthInterval: 'soon' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['healthInterval']);
    expect(bad.error!.issues[0]!.message).toMatch(/"soon" is not a duration/);
    expect(ClusterUpgradeInputSchema.safeParse({ ...upgrade, healthDeadline: '0s' }).success).toBe(false);
  });
  it('serviceUpgrade and release refuse a bad duration too', () => {
    const child = {
      cluster: 'c',
      service: 's',
      mode: 'docker',
      hosts: ['h'],
      version: 'v0.2.0',
      artifacts: [],
      configHash: 'x',
      rollback: true,
      skipValidation: false,
      healthInterval: '5s',
      healthDeadline: '90 seconds',
    };
    expect(ServiceUpgradeInputSchema.safeParse(child).success).toBe(true);
    expect(ServiceUpgradeInputSchema.safeParse({ ...child, healthDeadline: '90 secondz' }).success).toBe(false);
    const rel = { cluster: 'c', cliVersion: 'v0.3.0' };
    expect(ReleaseInputSchema.safeParse({ ...rel, healthDeadline: '3 mins' }).success).toBe(true);
    expect(ReleaseInputSchema.safeParse({ ...rel, approvalTimeout: 'later' }).success).toBe(false);
  });
});
