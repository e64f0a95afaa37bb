// Where the time of a `cluster rollback` run goes, read from the server's histories (event timestamps): the
// parent's span and its plan phase, each child's span, and per activity type (parent and children together) how
// many ran and how long they took from scheduled to completed; durable timers (the health backoff) likewise.
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

const at = (e: Event): number => Number(e.eventTime!.seconds ?? 0) * 1000 + Math.round((e.eventTime!.nanos ?? 0) / 1e6);

export interface RollbackBreakdown {
  /** Parent: first event → last event. */
  workflowMs: number;
  /** Parent: first event → first child started (facts, gates, plan). */
  planMs: number;
  /** Each child: service, first → last event. */
  children: { service: string; ms: number }[];
  /** Per activity type over parent and children: count and total scheduled → completed. */
  activities: Record<string, { count: number; totalMs: number }>;
  /** Durable timers (health backoff) over the children: count and total started → fired. */
  timers: { count: number; totalMs: number };
}

function tally(events: readonly Event[], out: RollbackBreakdown): void {
  const scheduled = new Map<string, { type: string; at: number }>();
  const timers = new Map<string, number>();
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '?', at: at(e) });
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
    if (done) {
      const from = scheduled.get(String(done.scheduledEventId));
      if (from) {
        const a = (out.activities[from.type] ??= { count: 0, totalMs: 0 });
        a.count += 1;
        a.totalMs += at(e) - from.at;
      }
    }
    if (e.timerStartedEventAttributes) timers.set(String(e.eventId), at(e));
    const fired = e.timerFiredEventAttributes;
    if (fired) {
      const t0 = timers.get(String(fired.startedEventId));
      if (t0 !== undefined) {
        out.timers.count += 1;
        out.timers.totalMs += at(e) - t0;
      }
    }
  }
}

export async function rollbackBreakdown(client: Client, workflowId: string, runId: string): Promise<RollbackBreakdown> {
  const parent = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
  const out: RollbackBreakdown = {
    workflowMs: parent.length > 0 ? at(parent[parent.length - 1]!) - at(parent[0]!) : 0,
    planMs: 0,
    children: [],
    activities: {},
    timers: { count: 0, totalMs: 0 },
  };
  tally(parent, out);
  const firstChild = parent.find((e) => e.childWorkflowExecutionStartedEventAttributes);
  out.planMs = firstChild ? at(firstChild) - at(parent[0]!) : out.workflowMs;
  for (const e of parent) {
    const c = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (!c?.workflowId) continue;
    const events = (await client.workflow.getHandle(c.workflowId, c.runId ?? undefined).fetchHistory()).events ?? [];
    if (events.length === 0) continue;
    out.children.push({ service: c.workflowId.split('/').pop()!, ms: at(events[events.length - 1]!) - at(events[0]!) });
    tally(events, out);
  }
  return out;
}

/** One sentence per part, with the numbers. */
export function describeBreakdown(b: RollbackBreakdown, wallMs: number): string[] {
  const acts = Object.entries(b.activities)
    .sort((x, y) => y[1].totalMs - x[1].totalMs)
    .map(([t, a]) => `${t} ${a.count}× ${a.totalMs} ms (${Math.round(a.totalMs / a.count)} ms each)`)
    .join(', ');
  const childSum = b.children.reduce((k, c) => k + c.ms, 0);
  return [
    `Of ${Math.round(wallMs)} ms end to end, the rollback workflow itself spans ${b.workflowMs} ms (first to last ` +
      `history event); the other ${Math.round(wallMs - b.workflowMs)} ms are the CLI process: Node and the CLI ` +
      'loading, reading the run record and the later runs from Temporal, starting the run, and following it.',
    `Inside the workflow: ${b.planMs} ms gathering facts and judging the plan before the first child started; ` +
      `${childSum} ms in ${b.children.length} per-service children (${b.children.map((c) => `${c.service} ${c.ms} ms`).join(', ')}).`,
    `Activities, scheduled → completed, parent and children together: ${acts}. Health backoff timers: ` +
      `${b.timers.count}, ${b.timers.totalMs} ms in total.`,
  ];
}
