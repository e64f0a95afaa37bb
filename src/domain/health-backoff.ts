// When to probe a just-activated replica again (issue 12 item 1). A service healthy after 300 ms must not cost the
// operator's full probe interval (5 s by default): the first probe runs right after activation, then the waits
// double from 250 ms up to the configured interval. Pure: workflows use it to size their durable timers.

/** The first wait after an unhealthy probe. */
export const HEALTH_BACKOFF_FIRST_MS = 250;

/**
 * The wait before probe number `attempt + 1`, given `attempt` unhealthy probes so far (attempt ≥ 1):
 * 250 ms, 500 ms, 1 s, 2 s … never more than `intervalMs` (a shorter interval caps every wait, so an operator
 * asking for 100 ms probes still gets them).
 */
export function healthBackoffMs(attempt: number, intervalMs: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new Error(`health backoff attempt must be ≥ 1, got ${attempt}`);
  if (!(intervalMs >= 0)) throw new Error(`health interval must be ≥ 0 ms, got ${intervalMs}`);
  // 2^(attempt-1) overflows to Infinity long after it passed any sane interval; min() keeps the cap.
  return Math.min(HEALTH_BACKOFF_FIRST_MS * 2 ** (attempt - 1), intervalMs);
}

/** Quick waits before the doubling starts (HEALTH_QUICK_PATCH): 12 × 250 ms, the first 3 s after activation. */
export const HEALTH_QUICK_WAITS = 12;

/**
 * The schedule of runs with HEALTH_QUICK_PATCH: 250 ms waits for the first HEALTH_QUICK_WAITS probes (a replica
 * becomes healthy within a few seconds of its restart in most cases, and the doubling overshot that moment by up to
 * half of it: a service healthy 1 s after activation was seen at 1.75 s), then doubling from 500 ms up to the
 * interval; never more than the interval.
 */
export function healthQuickBackoffMs(attempt: number, intervalMs: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new Error(`health backoff attempt must be ≥ 1, got ${attempt}`);
  if (!(intervalMs >= 0)) throw new Error(`health interval must be ≥ 0 ms, got ${intervalMs}`);
  if (attempt <= HEALTH_QUICK_WAITS) return Math.min(HEALTH_BACKOFF_FIRST_MS, intervalMs);
  return Math.min(HEALTH_BACKOFF_FIRST_MS * 2 ** Math.min(attempt - HEALTH_QUICK_WAITS, 40), intervalMs);
}

/**
 * The quick phase of runs with HEALTH_POLL_PATCH: for this long after the first probe, probes poll on the host
 * (every 50 ms, inside the probe activity) instead of waiting on durable timers between activities — the timers'
 * 250 ms steps and round trips overshot a replica's healthy moment by ~150 ms on average.
 */
export const HEALTH_POLL_WINDOW_MS = 3_000;
/** The longest one probe activity polls in the quick phase (a lost one costs little; the timeline stays visible). */
export const HEALTH_POLL_CALL_MS = 1_000;

/**
 * How long the next probe may poll on the host, `sinceStartMs` after the health wait began and `untilDeadlineMs`
 * before its deadline: the rest of the quick phase, at most HEALTH_POLL_CALL_MS, never past the deadline; 0 once the
 * quick phase is over (a single probe, then the doubling timers).
 */
export function healthPollForMs(sinceStartMs: number, untilDeadlineMs: number): number {
  const left = Math.min(HEALTH_POLL_WINDOW_MS - sinceStartMs, untilDeadlineMs);
  return left > 0 ? Math.min(HEALTH_POLL_CALL_MS, left) : 0;
}
