// What the upgrade-lab benchmark's runs share: the real CLI as a child process (timed from process start to exit),
// and where a change run's time went, read from the server's histories (event timestamps) of the parent on
// fw/<cluster>/change and every child it started — an upgrade's or a rollback's alike.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { LAB_CLUSTER } from './upgrade-lab-world';

const CLI = resolve(__dirname, '..', 'bin', 'frameworks');
export const CHANGE = `fw/${LAB_CLUSTER}/change`;

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string; wallMs: number }> {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => done({ code, out, wallMs: performance.now() - started }));
  });
}

/** An event's server timestamp in ms. */
export const at = (e: temporal.api.history.v1.IHistoryEvent): number =>
  Number(e.eventTime!.seconds ?? 0) * 1000 + Math.round((e.eventTime!.nanos ?? 0) / 1e6);

/** A probeServiceHealth result as recorded (the default converter's json/plain payload): did it answer healthy? */
function answeredHealthy(done: temporal.api.history.v1.IActivityTaskCompletedEventAttributes): boolean {
  const data = done.result?.payloads?.[0]?.data;
  if (!data) return false;
  try {
    return (JSON.parse(Buffer.from(data).toString('utf8')) as { healthy?: unknown }).healthy === true;
  } catch {
    return false;
  }
}

export interface RunTimings {
  workflowMs: number;
  /** Parent start → first child started (planning, gates, the pre-deploy detection). */
  beforeChildrenMs: number;
  /** Per activity type over the parent and every child: count and summed duration (scheduled → completed). */
  activities: Record<string, { n: number; ms: number }>;
  /**
   * Per replica: activateServiceOnHost scheduled → the next probe that answered healthy completed (its result read
   * from the history), summed: the restart, every probe and every backoff wait until the replica was declared healthy.
   */
  activateToHealthyMs: number;
  /** How many activations that sum covers (one per replica moved when every probe result was read). */
  declaredHealthy: number;
  children: number;
}

/** FW_BENCH_HISTORIES=<dir>: the measured runs' histories (parent and children) are written there for analysis. */
function keepHistory(workflowId: string, runId: string, history: temporal.api.history.v1.IHistory): void {
  const dir = process.env.FW_BENCH_HISTORIES;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const name = `${workflowId.replace(/[^A-Za-z0-9.-]+/g, '_')}-${runId}.json`;
  writeFileSync(join(dir, name), historyToJSON(history));
}

export async function timings(client: Client, runId: string): Promise<RunTimings> {
  const parentHistory = await client.workflow.getHandle(CHANGE, runId).fetchHistory();
  keepHistory(CHANGE, runId, parentHistory);
  const parent = parentHistory.events ?? [];
  const activities: Record<string, { n: number; ms: number }> = {};
  let activateToHealthyMs = 0;
  let declaredHealthy = 0;
  let children = 0;
  let firstChild: number | undefined;
  const scan = (events: temporal.api.history.v1.IHistoryEvent[]) => {
    const scheduled = new Map<string, { type: string; at: number }>();
    let activated: number | undefined;
    for (const ev of events) {
      const s = ev.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(ev.eventId), { type: s.activityType?.name ?? '', at: at(ev) });
      const done = ev.activityTaskCompletedEventAttributes;
      if (!done) continue;
      const from = scheduled.get(String(done.scheduledEventId));
      if (!from) continue;
      const a = (activities[from.type] ??= { n: 0, ms: 0 });
      a.n++;
      a.ms += at(ev) - from.at;
      if (from.type === 'activateServiceOnHost') activated = from.at;
      if (from.type === 'probeServiceHealth' && activated !== undefined && answeredHealthy(done)) {
        activateToHealthyMs += at(ev) - activated;
        declaredHealthy++;
        activated = undefined;
      }
    }
  };
  scan(parent);
  for (const e of parent) {
    const c = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (!c?.workflowId) continue;
    children++;
    firstChild ??= at(e);
    const history = await client.workflow.getHandle(c.workflowId, c.runId ?? undefined).fetchHistory();
    keepHistory(c.workflowId, c.runId ?? 'run', history);
    scan(history.events ?? []);
  }
  const start = at(parent[0]!);
  return {
    workflowMs: at(parent[parent.length - 1]!) - start,
    beforeChildrenMs: (firstChild ?? start) - start,
    activities,
    activateToHealthyMs,
    declaredHealthy,
    children,
  };
}
