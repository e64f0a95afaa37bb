// Is a worker serving fw-<cluster> right now? Temporal's DescribeTaskQueue keeps listing a poller for minutes
// after its process died, and refreshes a poller's lastAccessTime only when a long poll *starts*: an idle, live
// worker re-polls about once a minute, so its lastAccessTime is routinely 55–60 s old (measured against the dev
// server). Poll time alone therefore cannot tell "idle" from "just died" inside a minute. Two facts together give
// a true answer within seconds:
//   1. no poller seen within POLL_WINDOW_MS ⇒ no worker: say so at once and start nothing;
//   2. a recent poller may have died since its last poll: a read-only run is started and must be picked up within
//      PICKUP_WAIT_MS (a polling worker takes a new task in milliseconds); if not, the run is terminated — it
//      changes nothing — and the operator is told how to start a worker.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ExitError } from '../errors';
import { taskQueueFor } from '../temporal/ids';

/** Server long-poll expiry (60 s) plus slack: a live worker has started a poll within this window. */
export const POLL_WINDOW_MS = 75_000;
/** How long a read-only run may wait for a worker to pick up its first task before it is called unserved. */
export const PICKUP_WAIT_MS = 5_000;

export interface WorkerPresence {
  taskQueue: string;
  /** A poller started a poll within POLL_WINDOW_MS (it may still have died since: see pickup). */
  polling: boolean;
  /** The most recent poll start Temporal recorded, ISO; null when no poller is listed. */
  lastPollAt: string | null;
}

/** Pure verdict from the pollers Temporal lists (their lastAccessTime as epoch ms, null when absent). */
export function judgePresence(
  lastAccessMs: (number | null)[],
  nowMs: number,
): { polling: boolean; lastPollAt: string | null } {
  const known = lastAccessMs.filter((t): t is number => t !== null && Number.isFinite(t));
  if (known.length === 0) return { polling: false, lastPollAt: null };
  const last = Math.max(...known);
  return { polling: nowMs - last <= POLL_WINDOW_MS, lastPollAt: new Date(last).toISOString() };
}

export function workerCommand(manifestPath: string): string {
  return `frameworks worker --manifest ${manifestPath}`;
}

export async function workerPresence(client: Client, cluster: string): Promise<WorkerPresence> {
  const taskQueue = taskQueueFor(cluster);
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  const times = (res.pollers ?? []).map((p) => {
    const t = p.lastAccessTime;
    if (!t || t.seconds === null || t.seconds === undefined) return null;
    return Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
  });
  return { taskQueue, ...judgePresence(times, Date.now()) };
}

/** The operator-facing sentence for a task queue nobody serves, with the command that fixes it. */
export function noWorkerMessage(p: WorkerPresence, manifestPath: string): string {
  const seen = p.lastPollAt
    ? ` (the last poll Temporal recorded was at ${p.lastPollAt}, ${Math.round((Date.now() - Date.parse(p.lastPollAt)) / 1000)} s ago)`
    : '';
  return `no worker is polling ${p.taskQueue}${seen}: start one with \`${workerCommand(manifestPath)}\``;
}

/** A run no worker picked up (or a task queue nobody polls): the CLI says so and names the worker command. */
export class NoWorkerError extends ExitError {
  constructor(message: string) {
    super(message, 1);
  }
}

/** Refuses at once when no worker has polled the cluster's task queue recently. */
export async function requirePresence(client: Client, cluster: string, manifestPath: string): Promise<WorkerPresence> {
  const p = await workerPresence(client, cluster);
  if (!p.polling) throw new NoWorkerError(noWorkerMessage(p, manifestPath));
  return p;
}

/**
 * Waits until a worker has taken the run's first workflow task (or the run already closed). False after
 * `waitMs`: nothing serves the task queue even though a poller was listed recently.
 */
export async function pickedUp(handle: WorkflowHandle, waitMs = PICKUP_WAIT_MS): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const d = await handle.describe();
    const info = d.raw.workflowExecutionInfo;
    // PENDING_WORKFLOW_TASK_STATE_STARTED = 2 (numeric: @temporalio/proto is not a direct dependency).
    const started = Number(d.raw.pendingWorkflowTask?.state ?? 0) === 2;
    // History beyond WorkflowExecutionStarted + WorkflowTaskScheduled means a task was taken and completed.
    if (d.status.name !== 'RUNNING' || started || Number(info?.historyLength ?? 0) > 2) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * After starting a read-only run: make sure a worker took it, else terminate it (it has changed nothing) and
 * throw a NoWorkerError naming the worker command — instead of a CLI that waits silently for minutes.
 */
export async function ensurePickedUp(
  handle: WorkflowHandle,
  presence: WorkerPresence,
  manifestPath: string,
): Promise<void> {
  if (await pickedUp(handle)) return;
  await handle.terminate('no worker picked up this read-only run').catch(() => undefined);
  const waited = Math.round(PICKUP_WAIT_MS / 1000);
  throw new NoWorkerError(
    `no worker picked up run ${handle.workflowId} within ${waited} s; the worker that last polled ${presence.taskQueue}` +
      `${presence.lastPollAt ? ` at ${presence.lastPollAt}` : ''} has stopped. The run was terminated (it changed ` +
      `nothing); start a worker with \`${workerCommand(manifestPath)}\``,
  );
}
