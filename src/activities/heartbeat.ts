// Heartbeats for activities whose duration the code cannot bound (image pulls, tarball downloads, uploads, unpacks,
// verification queries): Temporal declares an activity dead when it goes `heartbeatTimeout` without a heartbeat and
// starts another attempt — on the same host, while the first may still run. Work that heartbeats while it works is
// never mistaken for a dead worker, however long it legitimately takes; a worker that really dies stops
// heartbeating and is noticed within the (short) heartbeat timeout instead of the (long) start-to-close timeout.
//
// Decisions:
// - One timer per activity, not heartbeats sprinkled through the step: a single SSH command or HTTP body can take
//   minutes on its own. The interval is a third of the activity's heartbeat timeout, at most HEARTBEAT_EVERY_MS
//   (the SDK throttles what it actually sends to the server, so frequent calls are cheap).
// - Heartbeat details are the step's latest progress (`{ step, bytes, totalBytes, detail }`): what an operator sees for a
//   pending activity (Web UI, `temporal workflow describe`) and what a retried attempt reads
//   (`Context.current().info.heartbeatDetails`) to say where the previous one got to.
// - Cancellation (the run is cancelled, or the server timed the attempt out) aborts `activitySignal()`; the SSH
//   session (withHostSsh), docker's SSH connection and downloads listen to it, so the work stops instead of
//   running on as a zombie attempt, and the activity fails with Temporal's CancelledFailure.
// - Outside an activity (direct calls in tests, the CLI) there is no context: no timer, a signal that never aborts.
import { Context } from '@temporalio/activity';

/**
 * Upper bound of the heartbeat interval. A cancellation reaches the activity only in the answer to a heartbeat, so
 * this (with the worker's heartbeat throttle, src/worker/create.ts) bounds how long a cancelled step runs on.
 */
export const HEARTBEAT_EVERY_MS = 2_000;

/** What a long step reports while it works (heartbeat details). */
export interface StepProgress {
  step: string;
  bytes?: number;
  totalBytes?: number;
  detail?: string;
}

/** The current activity's context, or undefined outside an activity. */
function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

const NEVER = new AbortController().signal;

/** The current activity's cancellation signal; one that never aborts outside an activity. */
export function activitySignal(): AbortSignal {
  return currentContext()?.cancellationSignal ?? NEVER;
}

/** The heartbeat interval for an activity with this heartbeat timeout (none set: the upper bound). */
export function heartbeatIntervalMs(heartbeatTimeoutMs: number | undefined): number {
  if (!heartbeatTimeoutMs || heartbeatTimeoutMs <= 0) return HEARTBEAT_EVERY_MS;
  return Math.max(100, Math.min(HEARTBEAT_EVERY_MS, Math.floor(heartbeatTimeoutMs / 3)));
}

/** The progress sink of each running `heartbeating` step, by its activity context. */
const reporters = new WeakMap<Context, (p: StepProgress) => void>();

/**
 * Progress of the step running in the current activity, for code deep in a step (the download meter, the SFTP
 * upload) that has no handle on the activity. Activities run concurrently in one worker, so this looks up the
 * reporter of the CURRENT activity context, not a global.
 */
export function reportProgress(p: StepProgress): void {
  const ctx = currentContext();
  if (!ctx) return;
  reporters.get(ctx)?.(p);
}

/**
 * Runs `fn` as the body of the current activity while heartbeating its latest progress every few seconds, and
 * rejects with the cancellation reason (CancelledFailure) as soon as the activity is cancelled — `fn` itself is
 * stopped by the resources that listen to `activitySignal()`. Outside an activity, just runs `fn`.
 */
export async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = currentContext();
  if (!ctx) return fn();
  let latest: StepProgress | undefined;
  const beat = (): void => (latest ? ctx.heartbeat(latest) : ctx.heartbeat());
  reporters.set(ctx, (p) => {
    latest = p;
  });
  beat();
  const timer = setInterval(beat, heartbeatIntervalMs(ctx.info.heartbeatTimeoutMs));
  try {
    // ctx.cancelled rejects with the CancelledFailure; fn's own rejection (e.g. the closed SSH channel) would only
    // say "connection lost", so the cancellation wins the race.
    const work = fn();
    work.catch(() => undefined);
    return await Promise.race([work, ctx.cancelled]);
  } finally {
    clearInterval(timer);
    reporters.delete(ctx);
  }
}

/**
 * The body of a read (planning facts, gates, status): heartbeats while it runs when the activity was scheduled with
 * a heartbeat timeout (the workflows' read options, src/workflows/util.ts), so a worker that dies mid-read is noticed
 * within that timeout instead of the read's start-to-close. Without one (the health loop's many quick probes) it just
 * runs the body: no heartbeat traffic. A synchronous throw becomes a rejection either way.
 */
export async function reading<T>(fn: () => Promise<T> | T): Promise<T> {
  const ctx = currentContext();
  if (!ctx?.info.heartbeatTimeoutMs) return fn();
  return heartbeating(async () => fn());
}
