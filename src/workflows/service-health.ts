// The health wait of a service upgrade (moved whole from service-upgrade.ts): probes on durable timers until
// healthy or the deadline passes, and the duration parser of runs recorded before START_STOPPED_PATCH.
import type { Duration } from '@temporalio/common';
import { patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ServiceUpgradeInput } from '../contracts/upgrade';
import {
  HEALTH_BACKOFF_FIRST_MS,
  HEALTH_QUICK_WAITS,
  healthBackoffMs,
  healthPollForMs,
  healthQuickBackoffMs,
} from '../domain/health-backoff';
import { failureMessage } from '../temporal/failures';
import { decide } from './util';

// probeServiceHealth answers every outcome of the service (healthy or not) as its result and never throws, so an
// activity failure here is the worker lost mid-probe (a crash, a kill): that attempt times out and is retried on a
// live worker rather than counted as the service's verdict — a worker SIGKILLed during a short health deadline
// otherwise failed (and rolled back) a healthy upgrade (bench/chaos.ts, probeServiceHealth:before). Retry options
// are not part of the history's commands: no patch.
const probe = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

/**
 * Patch (issue 12, upgrade speed): the backoff keeps 250 ms waits for the first 3 s before doubling
 * (healthQuickBackoffMs); runs recorded before double from the first wait (healthBackoffMs).
 */
export const HEALTH_QUICK_PATCH = 'service-upgrade-health-quick-v1';

/**
 * Probes right away, then (with `backoff`) after 250 ms waits for the first 3 s (runs before HEALTH_QUICK_PATCH:
 * 250 ms, 500 ms, … doubling) up to the interval, else every interval, until healthy or the deadline passes; the
 * LAST error is reported (reference item 2). The waits are durable timers.
 */
export async function waitHealthy(
  input: ServiceUpgradeInput,
  hostName: string,
  parse: (d: string) => number,
  backoff: boolean,
): Promise<{ healthy: boolean; error?: string }> {
  const deadline = Date.now() + parse(input.healthDeadline);
  if (backoff && patched(HEALTH_POLL_PATCH)) return pollHealthy(input, hostName, parse(input.healthInterval), deadline);
  const schedule = backoff && patched(HEALTH_QUICK_PATCH) ? healthQuickBackoffMs : healthBackoffMs;
  let last: string;
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await probe.probeServiceHealth({ cluster: input.cluster, service: input.service, host: hostName });
      if (r.healthy) return { healthy: true };
      last = r.error ?? 'unhealthy';
    } catch (err) {
      last = failureMessage(err);
    }
    const wait = backoff ? decide(() => schedule(attempt, parse(input.healthInterval))) : undefined;
    if (Date.now() + (wait ?? parse(input.healthInterval)) > deadline) return { healthy: false, error: last };
    await sleep(wait ?? (input.healthInterval as Duration));
  }
}

/**
 * Patch (issue 12, upgrade speed): for the first 3 s the probe activity itself polls the replica every 50 ms (up to
 * 1 s per activity, back to back), so a replica is declared healthy within ~50 ms of becoming so; after that the
 * doubling durable timers of HEALTH_QUICK_PATCH (500 ms, 1 s, … up to the interval) until the deadline.
 */
export const HEALTH_POLL_PATCH = 'service-upgrade-health-poll-v1';

async function pollHealthy(
  input: ServiceUpgradeInput,
  hostName: string,
  intervalMs: number,
  deadline: number,
): Promise<{ healthy: boolean; error?: string }> {
  const start = Date.now();
  let last: string;
  for (let waits = 0; ;) {
    const began = Date.now();
    const pollForMs = healthPollForMs(began - start, deadline - began);
    try {
      const step = { cluster: input.cluster, service: input.service, host: hostName };
      const r = await probe.probeServiceHealth(pollForMs > 0 ? { ...step, pollForMs } : step);
      if (r.healthy) return { healthy: true };
      last = r.error ?? 'unhealthy';
    } catch (err) {
      last = failureMessage(err);
    }
    const now = Date.now();
    if (healthPollForMs(now - start, deadline - now) > 0) {
      // Still in the quick phase: poll again at once — but not sooner than 250 ms after the last probe began, so a
      // probe that returned without polling (a lost attempt, an older worker) cannot spin the loop.
      const gap = HEALTH_BACKOFF_FIRST_MS - (now - began);
      if (gap > 0) await sleep(gap);
      continue;
    }
    const wait = decide(() => healthQuickBackoffMs(HEALTH_QUICK_WAITS + ++waits, intervalMs));
    if (now + wait > deadline) return { healthy: false, error: last };
    await sleep(wait);
  }
}

/** The parser of runs recorded before START_STOPPED_PATCH (it read "2 mins" or "1d" as 0 ms); replay only. */
export function legacyDurationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?)$/.exec(d.trim());
  if (!m) return Number(d) || 0;
  const n = Number(m[1]);
  const unit = m[2]!;
  if (unit.startsWith('ms') || unit.startsWith('milli')) return n;
  if (unit.startsWith('s')) return n * 1000;
  if (unit.startsWith('m')) return n * 60_000;
  return n * 3_600_000;
}
