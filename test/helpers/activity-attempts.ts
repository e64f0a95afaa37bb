// What a run's history and its pending activities say about one activity's attempts and heartbeats: the proof that
// a step longer than its heartbeat timeout ran ONCE because it heartbeated (not because the timeout in effect was
// longer than the test thought, nor because nothing timed it out).
import type { WorkflowHandle } from '@temporalio/client';

/** Per activity type: the attempt of each ActivityTaskStarted event (written once the attempt that ends it ran). */
export async function startedAttempts(handle: WorkflowHandle): Promise<Record<string, number[]>> {
  const events = (await handle.fetchHistory()).events ?? [];
  const typeOf = new Map<string, string>();
  const out: Record<string, number[]> = {};
  for (const e of events) {
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) typeOf.set(String(e.eventId), sched.activityType?.name ?? '');
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const name = typeOf.get(String(started.scheduledEventId)) ?? '?';
      (out[name] ??= []).push(started.attempt ?? 0);
    }
  }
  return out;
}

/** The heartbeat timeout (ms) the server applied to each scheduled activity of this type, in history order. */
export async function scheduledHeartbeatTimeoutsMs(handle: WorkflowHandle, activityType: string): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a?.activityType?.name === activityType)
    .map((a) => {
      const d = a!.heartbeatTimeout;
      return Number(d?.seconds ?? 0) * 1000 + Math.round((d?.nanos ?? 0) / 1e6);
    });
}

/** From history: how long each completed activity of this type took, scheduled → completed (ms). */
export async function activityDurationsMs(handle: WorkflowHandle, activityType: string): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduledAt = new Map<string, number>();
  const out: number[] = [];
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    Number(t?.seconds ?? 0) * 1000 + Math.round((t?.nanos ?? 0) / 1e6);
  for (const e of events) {
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched?.activityType?.name === activityType) scheduledAt.set(String(e.eventId), ms(e.eventTime));
    const done = e.activityTaskCompletedEventAttributes;
    const from = done ? scheduledAt.get(String(done.scheduledEventId)) : undefined;
    if (from !== undefined) out.push(ms(e.eventTime) - from);
  }
  return out;
}

export interface HeartbeatWatch {
  /** Stops watching; the distinct last-heartbeat times the server reported for the activity while it was pending. */
  stop(): Promise<{ heartbeats: number }>;
}

/**
 * Polls the run's pending activities and collects the distinct `lastHeartbeatTime`s the server recorded for the
 * activity type: heartbeats that actually reached the server while the activity ran.
 */
export function watchHeartbeats(handle: WorkflowHandle, activityType: string): HeartbeatWatch {
  const seen = new Set<string>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const d = await handle.describe();
        for (const p of d.raw.pendingActivities ?? []) {
          const t = p.lastHeartbeatTime;
          if (p.activityType?.name === activityType && t) seen.add(`${String(t.seconds)}.${t.nanos ?? 0}`);
        }
      } catch {
        // The run may have closed meanwhile; the next poll (or stop) ends the loop.
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { heartbeats: seen.size };
    },
  };
}
