import { describe, expect, it } from 'vitest';
import { healthBackoffMs } from '../../src/domain/health-backoff';

describe('healthBackoffMs', () => {
  it('doubles from 250 ms and stops at the configured interval', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => healthBackoffMs(a, 5000))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
  });
  it('an interval shorter than 250 ms caps every wait', () => {
    expect([1, 2, 3].map((a) => healthBackoffMs(a, 100))).toEqual([100, 100, 100]);
  });
  it('stays at the interval for any number of attempts (no overflow)', () => {
    expect(healthBackoffMs(5000, 90_000)).toBe(90_000);
  });
  it('refuses a nonsensical attempt or interval', () => {
    expect(() => healthBackoffMs(0, 5000)).toThrow(/attempt must be ≥ 1, got 0/);
    expect(() => healthBackoffMs(1, Number.NaN)).toThrow(/interval must be ≥ 0 ms/);
  });
});
