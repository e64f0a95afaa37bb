// The sides of the migrate benchmark and how each one is run and timed. Ours: the real `schemaMigrate`
// workflow. Baselines: psql in one session (the target, the SQL floor) and psql with one process per file.
// Diagnostics: our apply code in a plain loop (no Temporal), and Temporal's floors (a workflow calling a no-op
// local activity — what a transactional migration pays per file — or a no-op ordinary activity — what a `.notx`
// migration pays, and every migration paid before local apply — N times on the same server and worker defaults,
// no database at all).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MigrationItem } from '../src/contracts/migrations';
import type { SchemaMigrateInput, SchemaMigrateProgress } from '../src/contracts/schema-migrate';
import { readMigrationSql } from '../src/config/migrations';
import { applyStretchTo } from '../src/activities/postgres/apply';
import type { DatabaseTarget } from '../src/activities/postgres/connect';
import { changeWorkflowId, taskQueueFor } from '../src/temporal/ids';
import { dbUrl } from './migrate-db';
import { analyseHistory, type HistoryBreakdown } from './migrate-history';
import { BENCH_VERSION, psqlBinary, psqlUrl, type PsqlScripts } from './migrate-tree';
import { median, sum, type TemporalEnv } from './types';

export type Variant = 'workflow' | 'psql-per-file' | 'psql-session' | 'direct' | 'local-floor' | 'temporal-floor';
export const VARIANTS: Variant[] = [
  'workflow',
  'psql-per-file',
  'psql-session',
  'direct',
  'local-floor',
  'temporal-floor',
];

export const LABEL: Record<Variant, string> = {
  workflow: 'schemaMigrate workflow',
  'psql-per-file': 'psql, one process per file',
  'psql-session': 'psql, one session',
  direct: 'our apply code, no Temporal',
  'local-floor': 'Temporal floor: no-op local activities',
  'temporal-floor': 'Temporal floor: no-op ordinary activities',
};

export const FLOOR_TASK_QUEUE = 'bench-activity-loop';
/** A worker with sticky execution off (maxCachedWorkflows 0) for the dispatch probe. */
export const NONSTICKY_TASK_QUEUE = 'bench-activity-loop-nonsticky';
export const FLOOR_WORKFLOWS = join(__dirname, 'workflows', 'activity-loop.ts');

export interface Tree {
  root: string;
  items: MigrationItem[];
  psql: PsqlScripts;
}

/** What one timed execution of a side produced (the benchmark adds rep, load and a note). */
export interface SideRun {
  wallMs: number;
  historyEvents?: number;
  history?: HistoryBreakdown;
  /** Size of the workflow's result (the progress object, JSON) — Temporal warns at 256 KB, fails at 2 MB. */
  resultBytes?: number;
  /** Each migration's own durationMs (file read → BEGIN … COMMIT → DISCARD ALL), from the workflow result. */
  activityCode?: { medianMs: number; totalMs: number; count: number };
}

/** Runs a command to completion; its wall time from spawn to exit, or an error with its stderr. */
async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`);
  return ms;
}

export async function runWorkflow(temporal: TemporalEnv, cluster: string, count: number): Promise<SideRun> {
  const input: SchemaMigrateInput = { cluster, phase: 'expand', toVersion: BENCH_VERSION, approved: true };
  const t0 = performance.now();
  const handle = await temporal.client.workflow.start('schemaMigrate', {
    taskQueue: taskQueueFor(cluster),
    workflowId: changeWorkflowId(cluster),
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    // A stuck run fails the benchmark instead of hanging it.
    workflowExecutionTimeout: '30 minutes',
    args: [input],
  });
  const progress = (await handle.result()) as SchemaMigrateProgress;
  const wallMs = performance.now() - t0;
  const applied = progress.migrations.filter((m) => m.status === 'applied').length;
  if (progress.state !== 'completed' || applied !== count) {
    throw new Error(`schemaMigrate ended ${progress.state} with ${applied}/${count} applied: ${progress.error ?? ''}`);
  }
  // Transactional migrations run in stretches: one applyMigrations local activity (one marker) per stretch call.
  const history = analyseHistory(await handle.fetchHistory(), 'applyMigrations');
  const code = progress.migrations.map((m) => m.durationMs ?? 0);
  return {
    wallMs,
    historyEvents: history.events,
    resultBytes: Buffer.byteLength(JSON.stringify(progress)),
    history,
    activityCode: { medianMs: median(code), totalMs: sum(code), count: code.length },
  };
}

export type FloorWorkflow = 'activityLoop' | 'localActivityLoop';

export async function runFloor(
  temporal: TemporalEnv,
  count: number,
  rep: number,
  taskQueue = FLOOR_TASK_QUEUE,
  workflowType: FloorWorkflow = 'activityLoop',
): Promise<SideRun> {
  const t0 = performance.now();
  const handle = await temporal.client.workflow.start(workflowType, {
    taskQueue,
    workflowId: `bench/${taskQueue}/${workflowType}/${rep}/${count}`,
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    workflowExecutionTimeout: '30 minutes',
    args: [count],
  });
  await handle.result();
  const wallMs = performance.now() - t0;
  const history = analyseHistory(await handle.fetchHistory(), 'noop');
  return { wallMs, historyEvents: history.events, history };
}

export interface DispatchProbe {
  activities: number;
  /** Workflow task scheduled → started, median and mean, with sticky execution (the default) and without. */
  sticky: { medianMs: number; meanMs: number; perActivityMs: number };
  nonSticky: { medianMs: number; meanMs: number; perActivityMs: number };
}

/**
 * Where the floor's time goes: the same no-op loop with sticky execution on (default) and off. Without the
 * sticky cache every workflow task replays the whole history, so only the dispatch times are comparable.
 */
export async function probeDispatch(temporal: TemporalEnv, count: number): Promise<DispatchProbe> {
  const summary = (r: SideRun) => {
    const d = r.history!.workflowTaskDispatch;
    return { medianMs: d.medianMs, meanMs: d.count > 0 ? d.totalMs / d.count : 0, perActivityMs: r.wallMs / count };
  };
  const sticky = await runFloor(temporal, count, 0, FLOOR_TASK_QUEUE);
  const nonSticky = await runFloor(temporal, count, 0, NONSTICKY_TASK_QUEUE);
  return { activities: count, sticky: summary(sticky), nonSticky: summary(nonSticky) };
}

export async function runPsqlPerFile(url: string, tree: Tree): Promise<SideRun> {
  return { wallMs: await timed('sh', [tree.psql.perFile], { ...process.env, BENCH_PSQL_URL: psqlUrl(url) }) };
}

export async function runPsqlSession(url: string, tree: Tree): Promise<SideRun> {
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', psqlUrl(url), '-f', tree.psql.session];
  return { wallMs: await timed(psqlBinary(), args) };
}

/** schemaMigrate's STRETCH_MAX_ITEMS and STRETCH_BUDGET_MS (workflow constants, not exported to bench code). */
const DIRECT_STRETCH_MAX_ITEMS = 500;
const DIRECT_STRETCH_BUDGET_MS = 2_000;

export async function runDirect(serverUrl: string, database: string, tree: Tree): Promise<SideRun> {
  const target: DatabaseTarget = { database, engine: 'postgres', url: dbUrl(serverUrl, database), secrets: [] };
  const t0 = performance.now();
  // The activity's body as schemaMigrate calls it: stretches of at most STRETCH_MAX_ITEMS, each until its budget.
  for (let i = 0; i < tree.items.length;) {
    const items = tree.items.slice(i, i + DIRECT_STRETCH_MAX_ITEMS);
    const done = await applyStretchTo(target, items, (item) => readMigrationSql(tree.root, item), 'bench#direct', {
      budgetMs: DIRECT_STRETCH_BUDGET_MS,
    });
    i += done.length;
  }
  return { wallMs: performance.now() - t0 };
}

/** Median start-to-exit time of `<bin> --version` (process start cost); NaN when the binary cannot run. */
export async function measureProcessStart(bin: string, samples = 20): Promise<number> {
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) times.push(await timed(bin, ['--version']));
  } catch {
    return Number.NaN;
  }
  return median(times);
}
