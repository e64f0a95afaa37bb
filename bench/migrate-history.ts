// Where a schemaMigrate run's time goes, read from the server's own history timestamps: planning (start → first
// applyMigration scheduled), and per migration the dispatch (scheduled → started), the activity (started →
// completed) and the workflow turnaround (completed → next scheduled: a workflow task round trip).
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { median, round, sum } from './types';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

const id = (v: { toString(): string } | number | null | undefined): string => String(v ?? '');

/** History timestamps have millisecond resolution on the dev server: medians are whole ms, means are finer. */
export interface Spread {
  medianMs: number;
  totalMs: number;
  count: number;
}

export interface HistoryBreakdown {
  events: number;
  workflowTasks: number;
  applyActivities: number;
  otherActivities: number;
  /** Workflow started → first applyMigration scheduled (the five planning activities and their workflow tasks). */
  planningMs: number;
  /** First applyMigration scheduled → last one completed. */
  applyPhaseMs: number;
  /** Last applyMigration completed → workflow completed. */
  tailMs: number;
  /** Server → worker: activity scheduled → started. */
  dispatch: Spread;
  /** Worker: activity started → completed (our activity code plus the SDK's round trip). */
  execute: Spread;
  /** Activity completed → next applyMigration scheduled: one workflow task through the server and the worker. */
  turnaround: Spread;
  /** Workflow task scheduled → started: the server handing the worker its next workflow task. */
  workflowTaskDispatch: Spread;
  /** Workflow task started → completed: the worker running workflow code and reporting back. */
  workflowTaskRun: Spread;
}

function spread(values: number[]): Spread {
  return { medianMs: round(median(values), 3), totalMs: round(sum(values), 1), count: values.length };
}

export function analyseHistory(history: History, applyActivityType = 'applyMigration'): HistoryBreakdown {
  const events: HistoryEvent[] = history.events ?? [];
  const at = (e: HistoryEvent): number => tsToMs(e.eventTime);
  const scheduled = new Map<string, { ms: number; type: string }>();
  const started = new Map<string, number>();
  const applies: { scheduled: number; started: number; completed: number }[] = [];
  const wftScheduled = new Map<string, number>();
  const wftStarted = new Map<string, number>();
  const wftDispatch: number[] = [];
  const wftRun: number[] = [];
  let workflowStarted = Number.NaN;
  let workflowClosed = Number.NaN;
  let otherActivities = 0;
  let workflowTasks = 0;

  for (const e of events) {
    if (e.workflowExecutionStartedEventAttributes) workflowStarted = at(e);
    if (e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes) {
      workflowClosed = at(e);
    }
    if (e.workflowTaskScheduledEventAttributes) wftScheduled.set(id(e.eventId), at(e));
    const wftStart = e.workflowTaskStartedEventAttributes;
    if (wftStart) {
      workflowTasks++;
      wftStarted.set(id(e.eventId), at(e));
      const s = wftScheduled.get(id(wftStart.scheduledEventId));
      if (s !== undefined) wftDispatch.push(at(e) - s);
    }
    const wftDone = e.workflowTaskCompletedEventAttributes;
    if (wftDone) {
      const s = wftStarted.get(id(wftDone.startedEventId));
      if (s !== undefined) wftRun.push(at(e) - s);
    }
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) {
      const type = sched.activityType?.name ?? '';
      scheduled.set(id(e.eventId), { ms: at(e), type });
      if (type !== applyActivityType) otherActivities++;
    }
    const start = e.activityTaskStartedEventAttributes;
    if (start) started.set(id(start.scheduledEventId), at(e));
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const key = id(done.scheduledEventId);
      const s = scheduled.get(key);
      if (s?.type === applyActivityType) {
        applies.push({ scheduled: s.ms, started: started.get(key) ?? s.ms, completed: at(e) });
      }
    }
  }

  const first = applies[0];
  const last = applies[applies.length - 1];
  const turnaround = applies.slice(1).map((a, i) => a.scheduled - applies[i]!.completed);
  return {
    events: events.length,
    workflowTasks,
    applyActivities: applies.length,
    otherActivities,
    planningMs: first ? round(first.scheduled - workflowStarted, 1) : Number.NaN,
    applyPhaseMs: first && last ? round(last.completed - first.scheduled, 1) : Number.NaN,
    tailMs: last ? round(workflowClosed - last.completed, 1) : Number.NaN,
    dispatch: spread(applies.map((a) => a.started - a.scheduled)),
    execute: spread(applies.map((a) => a.completed - a.started)),
    turnaround: spread(turnaround),
    workflowTaskDispatch: spread(wftDispatch),
    workflowTaskRun: spread(wftRun),
  };
}
