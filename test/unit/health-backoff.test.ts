import { describe, expect, it } from 'vitest';
import {
  HEALTH_POLL_CALL_MS,
  HEALTH_POLL_WINDOW_MS,
  HEALTH_QUICK_WAITS,
  healthBackoffMs,
  healthPollForMs,
  healthQuickBackoffMs,
} from '../../src/domain/health-backoff';

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

describe('healthQuickBackoffMs', () => {
  it('waits 250 ms for the first 3 s of probes, then doubles from 500 ms to the interval', () => {
    const waits = Array.from({ length: HEALTH_QUICK_WAITS + 6 }, (_, i) => healthQuickBackoffMs(i + 1, 5000));
    expect(waits.slice(0, HEALTH_QUICK_WAITS)).toEqual(Array<number>(HEALTH_QUICK_WAITS).fill(250));
    expect(waits.slice(HEALTH_QUICK_WAITS)).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect(waits.slice(0, HEALTH_QUICK_WAITS).reduce((a, b) => a + b, 0)).toBe(3000);
  });
  it('a service healthy 1 s after activation is seen by the probe after the 4th wait (the doubling: 1.75 s)', () => {
    const probeTimes = (f: (a: number, i: number) => number) => {
      const t = [0];
      for (let a = 1; a < 8; a++) t.push(t[a - 1]! + f(a, 5000));
      return t;
    };
    expect(probeTimes(healthQuickBackoffMs).find((t) => t >= 1000)).toBe(1000);
    expect(probeTimes(healthBackoffMs).find((t) => t >= 1000)).toBe(1750);
  });
  it('is capped by a short interval and never overflows', () => {
    expect([1, 13, 14].map((a) => healthQuickBackoffMs(a, 100))).toEqual([100, 100, 100]);
    expect(healthQuickBackoffMs(5000, 90_000)).toBe(90_000);
    expect(() => healthQuickBackoffMs(0, 5000)).toThrow(/attempt must be ≥ 1, got 0/);
  });
});

describe('healthPollForMs', () => {
  it('polls up to 1 s per probe for the first 3 s, never past the deadline, then not at all', () => {
    expect(healthPollForMs(0, 90_000)).toBe(HEALTH_POLL_CALL_MS);
    expect(healthPollForMs(1_050, 90_000)).toBe(1_000);
    expect(healthPollForMs(2_400, 90_000)).toBe(HEALTH_POLL_WINDOW_MS - 2_400);
    expect(healthPollForMs(HEALTH_POLL_WINDOW_MS, 90_000)).toBe(0);
    expect(healthPollForMs(5_000, 90_000)).toBe(0);
    // A short deadline caps the poll; a passed one ends it.
    expect(healthPollForMs(0, 700)).toBe(700);
    expect(healthPollForMs(100, 0)).toBe(0);
    expect(healthPollForMs(100, -5)).toBe(0);
  });
});
