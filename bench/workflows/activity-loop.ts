// Temporal's own floors for the migrate benchmark: workflows that only call a no-op activity N times, one after
// another — the shape of schemaMigrate's apply loop with nothing inside. `activityLoop` uses ordinary activities
// (what `.notx` migrations, and every migration before local apply, pay per file); `localActivityLoop` uses local
// activities with the same options shape schemaMigrate's transactional apply uses (what a transactional migration
// pays per file). Bench-only; never registered by the product worker.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

export interface LoopActivities {
  noop(): Promise<void>;
}

const { noop } = proxyActivities<LoopActivities>({ startToCloseTimeout: '1 minute' });
const LOCAL = { startToCloseTimeout: '1 minute', localRetryThreshold: '1 minute' } as const;

export async function activityLoop(count: number): Promise<number> {
  for (let i = 0; i < count; i++) await noop();
  return count;
}

export async function localActivityLoop(count: number): Promise<number> {
  // A proxy per call with a summary naming the call, as schemaMigrate does for each migration.
  for (let i = 0; i < count; i++) await proxyLocalActivities<LoopActivities>({ ...LOCAL, summary: `noop ${i}` }).noop();
  return count;
}
