// Where a workflow run's time goes, read from the server's history. Two shapes of "one unit of work per item":
//
// - Ordinary activities (activity scheduled/started/completed events, each stamped by the server): planning
//   (start → first one scheduled), and per activity the dispatch (scheduled → started), the activity (started →
//   completed) and the workflow turnaround (completed → next scheduled: a workflow task round trip).
// - Local activities (schemaMigrate's transactional apply): one `core_local_activity` marker each, written when
//   the workflow task that ran it completes — so the marker's own event time is the task's completion, not the
//   activity's. Core's data in each marker carries `original_schedule_time`, the worker's wall clock when the
//   workflow scheduled it; consecutive schedule times give the cycle per migration (the activity plus the
//   workflow activation that hands its result to workflow code and schedules the next one). Its `complete_time`
//   is not used: Core writes it as *workflow time* (which only moves at workflow-task boundaries and local
//   activity resolutions) plus the runtime, not as a wall-clock time.
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { median, round, sum } from './types';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];
type Payload = temporal.api.common.v1.IPayload;

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

const id = (v: { toString(): string } | number | null | undefined): string => String(v ?? '');

/** History timestamps have millisecond resolution on the dev server: medians are whole ms, means are finer. */
export interface Spread {
  medianMs: number;
  totalMs: number;
  count: number;
  maxMs: number;
}

/** The local activities of the measured type (one marker each). */
export interface LocalBreakdown {
  markers: number;
  /** Markers whose summary (Web UI label) was set; `example` is the first one. */
  summaries: number;
  example?: string;
  /** Markers whose summary equals the expected one at its position (when the caller gave the expected list). */
  summariesAsExpected?: number;
  /** Attempts beyond the first (a retried local activity). */
  retries: number;
  /** Consecutive schedule times (worker wall clock): the activity + the workflow activation between two of them. */
  cycle: Spread;
  /** The cycles whose two markers were recorded by different workflow task completions (a heartbeat between). */
  cycleAcrossTasks: Spread;
  /** Encoded size of these markers' events in the history (result, Core's data, summary). */
  markerBytes: number;
  /** Workflow task completions that recorded markers, and the most markers one of them carried. */
  recordingTasks: number;
  maxMarkersPerTask: number;
}

export interface HistoryBreakdown {
  events: number;
  /** Size of the whole history, protobuf-encoded (the server limits it: warn 10 MiB, error 50 MiB by default). */
  bytes: number;
  workflowTasks: number;
  /** Ordinary activities of the measured type. */
  applyActivities: number;
  /** Local activities of the measured type (markers). */
  localApplies: number;
  /** Ordinary activities of any other type (planning reads). */
  otherActivities: number;
  /** Markers other than the measured local activities (patch markers, other local activities). */
  otherMarkers: number;
  /** Workflow started → first activity of the measured type scheduled (ordinary or local). */
  planningMs: number;
  /**
   * First one scheduled → last one completed. For local activities "completed" is the event time of the last
   * marker, i.e. the completion of the workflow task that recorded it (an upper bound, microseconds later).
   */
  applyPhaseMs: number;
  /** Last one completed → workflow completed. */
  tailMs: number;
  /** Ordinary activities: server → worker, scheduled → started. */
  dispatch: Spread;
  /** Ordinary activities: started → completed (our activity code plus the SDK's round trip). */
  execute: Spread;
  /** Ordinary activities: completed → next one scheduled (one workflow task through the server and the worker). */
  turnaround: Spread;
  /** Workflow task scheduled → started: the server handing the worker its next workflow task. */
  workflowTaskDispatch: Spread;
  /** Workflow task started → completed: the worker running workflow code (and, with local activities, them). */
  workflowTaskRun: Spread;
  local: LocalBreakdown;
}

function spread(values: number[]): Spread {
  return {
    medianMs: round(median(values), 3),
    totalMs: round(sum(values), 1),
    count: values.length,
    maxMs: values.length > 0 ? round(Math.max(...values), 1) : Number.NaN,
  };
}

function decode<T>(payload: Payload | null | undefined): T | undefined {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<T>(payload);
  } catch {
    return undefined;
  }
}

interface ProtoTime {
  seconds?: number | string;
  nanos?: number;
}
const protoMs = (t: ProtoTime | null | undefined): number =>
  t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : Number.NaN;

interface MarkerData {
  activity_type?: string;
  attempt?: number;
  original_schedule_time?: ProtoTime | null;
}

interface LocalRun {
  scheduled: number;
  recorded: number;
  task: string;
  bytes: number;
}

function analyseLocal(
  runs: LocalRun[],
  summaries: string[],
  retries: number,
  expected: string[] | undefined,
): LocalBreakdown {
  const cycle = runs.slice(1).map((r, i) => r.scheduled - runs[i]!.scheduled);
  const across = runs.slice(1).flatMap((r, i) => (r.task !== runs[i]!.task ? [r.scheduled - runs[i]!.scheduled] : []));
  const perTask = new Map<string, number>();
  for (const r of runs) perTask.set(r.task, (perTask.get(r.task) ?? 0) + 1);
  return {
    markers: runs.length,
    summaries: summaries.length,
    ...(summaries[0] !== undefined ? { example: summaries[0] } : {}),
    ...(expected ? { summariesAsExpected: summaries.filter((t, i) => t === expected[i]).length } : {}),
    retries,
    cycle: spread(cycle),
    cycleAcrossTasks: spread(across),
    markerBytes: sum(runs.map((r) => r.bytes)),
    recordingTasks: perTask.size,
    maxMarkersPerTask: Math.max(0, ...perTask.values()),
  };
}

/** `expectedSummaries`: the summary each local activity of the measured type should carry, in order. */
export function analyseHistory(
  history: History,
  applyActivityType = 'applyMigration',
  expectedSummaries?: string[],
): HistoryBreakdown {
  const events: HistoryEvent[] = history.events ?? [];
  const at = (e: HistoryEvent): number => tsToMs(e.eventTime);
  const scheduled = new Map<string, { ms: number; type: string }>();
  const started = new Map<string, number>();
  const applies: { scheduled: number; started: number; completed: number }[] = [];
  const locals: LocalRun[] = [];
  const summaries: string[] = [];
  const wftScheduled = new Map<string, number>();
  const wftStarted = new Map<string, number>();
  const wftDispatch: number[] = [];
  const wftRun: number[] = [];
  let workflowStarted = Number.NaN;
  let workflowClosed = Number.NaN;
  let otherActivities = 0;
  let otherMarkers = 0;
  let workflowTasks = 0;
  let retries = 0;

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
    const marker = e.markerRecordedEventAttributes;
    if (marker) {
      const data =
        marker.markerName === LOCAL_ACTIVITY_MARKER
          ? decode<MarkerData>(marker.details?.data?.payloads?.[0])
          : undefined;
      if (data?.activity_type !== applyActivityType) {
        otherMarkers++;
        continue;
      }
      locals.push({
        scheduled: protoMs(data.original_schedule_time),
        recorded: at(e),
        task: id(marker.workflowTaskCompletedEventId),
        bytes: temporal.api.history.v1.HistoryEvent.encode(e).finish().length,
      });
      if ((data.attempt ?? 1) > 1) retries++;
      const summary = decode<string>(e.userMetadata?.summary);
      if (typeof summary === 'string' && summary !== '') summaries.push(summary);
    }
  }

  // Both kinds on one time line: first scheduled → last completed, whichever kind they were.
  const firsts = [applies[0]?.scheduled, locals[0]?.scheduled].filter((v): v is number => v !== undefined);
  const lasts = [applies[applies.length - 1]?.completed, locals[locals.length - 1]?.recorded].filter(
    (v): v is number => v !== undefined,
  );
  const first = firsts.length > 0 ? Math.min(...firsts) : undefined;
  const last = lasts.length > 0 ? Math.max(...lasts) : undefined;
  const turnaround = applies.slice(1).map((a, i) => a.scheduled - applies[i]!.completed);
  return {
    events: events.length,
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
    workflowTasks,
    applyActivities: applies.length,
    localApplies: locals.length,
    otherActivities,
    otherMarkers,
    planningMs: first !== undefined ? round(first - workflowStarted, 1) : Number.NaN,
    applyPhaseMs: first !== undefined && last !== undefined ? round(last - first, 1) : Number.NaN,
    tailMs: last !== undefined ? round(workflowClosed - last, 1) : Number.NaN,
    dispatch: spread(applies.map((a) => a.started - a.scheduled)),
    execute: spread(applies.map((a) => a.completed - a.started)),
    turnaround: spread(turnaround),
    workflowTaskDispatch: spread(wftDispatch),
    workflowTaskRun: spread(wftRun),
    local: analyseLocal(locals, summaries, retries, expectedSummaries),
  };
}
