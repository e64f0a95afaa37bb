// Metrics counted where activities learn the facts: data-migration rows and rows/s per dmRunBatch call, emitted
// through the activity's metricMeter so they reach the worker's Prometheus endpoint with the SDK's metrics.
// Outside an activity (direct calls in tests, the benchmark) there is no meter and nothing is counted.
import { Context } from '@temporalio/activity';
import type { MetricMeter } from '@temporalio/common';
import { BatchProgressSchema, type RunBatchInput, type RunBatchResult } from '../contracts/data-migrate';
import { METRICS, batchIncrements, type Increment, type RowCounts } from '../domain/metrics';

function activityMeter(): MetricMeter | undefined {
  try {
    return Context.current().metricMeter;
  } catch {
    return undefined;
  }
}

export function emitActivityMetrics(increments: Increment[]): void {
  const meter = activityMeter();
  if (!meter) return;
  try {
    for (const i of increments) {
      const def = METRICS[i.metric];
      if (def.kind === 'counter') meter.createCounter(def.name, undefined, def.description).add(i.value, i.labels);
      else meter.createGauge(def.name, 'int', undefined, def.description).set(i.value, i.labels);
    }
  } catch (err) {
    // A metric must never fail the activity whose work is already committed.
    Context.current().log.warn('metric not recorded', { error: err instanceof Error ? err.message : String(err) });
  }
}

/** What earlier attempts of this batch loop committed (their heartbeats); those attempts counted those rows. */
function committedByEarlierAttempts(input: RunBatchInput): RowCounts | undefined {
  if (input.timeBudgetMs === undefined) return undefined; // one batch per call: nothing is carried over
  try {
    const parsed = BatchProgressSchema.safeParse(Context.current().info.heartbeatDetails);
    return parsed.success ? parsed.data.batch : undefined;
  } catch {
    return undefined;
  }
}

/** Runs one dmRunBatch body and counts the rows this attempt processed. */
export async function countedBatch(input: RunBatchInput, run: () => Promise<RunBatchResult>): Promise<RunBatchResult> {
  const before = committedByEarlierAttempts(input);
  const started = Date.now();
  const r = await run();
  emitActivityMetrics(
    batchIncrements({
      cluster: input.cluster,
      service: input.service,
      id: input.id,
      batch: r.batch,
      ...(before ? { before } : {}),
      done: r.done,
      elapsedMs: Date.now() - started,
    }),
  );
  return r;
}
