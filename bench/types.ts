// The contract between the bench harness (bench/run.ts) and each benchmark module: what a module needs started,
// what it is given, and what it hands back. Speed targets are ratios against a baseline measured side by side
// in the same run on the same machine (SPEC §12), never absolute timings, and never asserted in `npm test`.
import type { Client } from '@temporalio/client';
import type { Machine } from './machine';

export type Need = 'postgres' | 'temporal';

export interface RunningWorkers {
  stop(): Promise<void>;
}

export interface PlainWorkerOptions {
  taskQueue: string;
  /** A bench-only workflow module (bench/workflows/…). */
  workflowsPath: string;
  activities: Record<string, (...args: never[]) => Promise<unknown>>;
  /** 0 turns sticky execution off (every workflow task goes through the normal queue and replays history). */
  maxCachedWorkflows?: number;
}

export interface TemporalEnv {
  address: string;
  client: Client;
  /** Real workers (src/worker/create.ts) in this process for the given cluster manifests; the harness stops them. */
  startWorkers(manifests: string[]): Promise<RunningWorkers>;
  /** A worker with default options for a bench-only workflow (Temporal's own floor); the harness stops it. */
  startPlainWorker(opts: PlainWorkerOptions): Promise<RunningWorkers>;
}

export interface BenchContext {
  /** Server URL without a database name. */
  postgresUrl: string;
  temporal?: TemporalEnv;
  /** A private scratch folder, removed after the run. */
  workDir: string;
  log(line: string): void;
}

/** `ours` vs `baseline` for one metric; ratio = ours / baseline (for times: lower is better). */
export interface Comparison {
  metric: string;
  unit: string;
  ours: number;
  oursLabel: string;
  baseline: number;
  baselineLabel: string;
  ratio: number;
  /** Only the comparisons a target applies to carry one. */
  target?: Target;
  met?: boolean;
}

export interface Target {
  /** The comparison (by metric name) the target is judged on. */
  metric: string;
  op: '<=' | '>=';
  value: number;
  text: string;
}

/** What a benchmark module returns; the harness adds name, date and machine. */
export interface BenchOutcome {
  params: Record<string, unknown>;
  runs: unknown[];
  comparisons: Comparison[];
  target: Target;
  /** Medians and other headline numbers, by name. */
  metrics: Record<string, number>;
  /** Where the time goes, in sentences carrying the measured numbers (written into the results README). */
  findings: string[];
  /** What the baselines are and why they are a fair comparison. */
  method: string[];
}

export interface BenchResult extends BenchOutcome {
  name: string;
  date: string;
  machine: Machine;
  /** The commit measured; dirty when src/, lab/ or temporal-dev/ had uncommitted changes. */
  revision: { commit: string; dirty: boolean };
  ratios: Record<string, number>;
  met: boolean;
}

export interface Benchmark {
  name: string;
  summary: string;
  needs: Need[];
  run(ctx: BenchContext): Promise<BenchOutcome>;
}

export function meets(target: Target, ratio: number): boolean {
  return target.op === '<=' ? ratio <= target.value : ratio >= target.value;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
