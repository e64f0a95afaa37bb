// Temporal's own floor for the migrate benchmark: a workflow that only calls a no-op activity N times, one after
// another — the shape of schemaMigrate's apply loop with nothing inside. Bench-only; never registered by the
// product worker.
import { proxyActivities } from '@temporalio/workflow';

export interface LoopActivities {
  noop(): Promise<void>;
}

const { noop } = proxyActivities<LoopActivities>({ startToCloseTimeout: '1 minute' });

export async function activityLoop(count: number): Promise<number> {
  for (let i = 0; i < count; i++) await noop();
  return count;
}
