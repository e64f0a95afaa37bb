// Workflow histories in tests: captured into test/replay/histories/ (FW_CAPTURE_HISTORIES=1) so the replay test
// keeps checking that current workflow code can continue runs started by earlier code, and read to prove that a
// run is idle instead of sleeping and hoping nothing happens.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { expect } from 'vitest';
import { waitFor } from './wait';

const HISTORIES = join(__dirname, '..', 'replay', 'histories');

/**
 * Writes the run's history as a NEW file: `<name>.json`, or `<name>-<yyyy-mm-dd>[-n].json` when that exists.
 * Never overwrites: a checked-in history may be the only one that exercises an old `patched()` branch (e.g.
 * data-migration-pause-resume.json is the legacy one-batch-per-activity loop), and recapturing on current code
 * would silently replace it with one that takes the new branch.
 */
export async function captureHistory(client: Client, workflowId: string, name: string, runId?: string): Promise<void> {
  if (process.env.FW_CAPTURE_HISTORIES !== '1') return;
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  writeFileSync(newHistoryPath(name), historyToJSON(history), { flag: 'wx' });
}

export function newHistoryPath(name: string, dir = HISTORIES, today = new Date()): string {
  const first = join(dir, `${name}.json`);
  if (!existsSync(first)) return first;
  const day = today.toISOString().slice(0, 10);
  for (let n = 1; ; n++) {
    const path = join(dir, `${name}-${day}${n === 1 ? '' : `-${n}`}.json`);
    if (!existsSync(path)) return path;
  }
}

/**
 * Proves a run can do nothing more until someone signals, updates or cancels it: its workflow task has settled,
 * no activity or child is pending, and every timer it started has fired or been cancelled. What a fixed sleep
 * followed by "nothing changed" only hoped for.
 */
export async function expectIdle(handle: WorkflowHandle): Promise<void> {
  const d = await waitFor(`${handle.workflowId} to settle its workflow task`, async () => {
    const desc = await handle.describe();
    return desc.raw.pendingWorkflowTask ? undefined : desc;
  });
  expect(d.status.name).toBe('RUNNING');
  expect(d.raw.pendingActivities ?? [], 'pending activities').toEqual([]);
  expect(d.raw.pendingChildren ?? [], 'pending child workflows').toEqual([]);
  const open = new Set<string>();
  for (const e of (await handle.fetchHistory()).events ?? []) {
    if (e.timerStartedEventAttributes) open.add(String(e.eventId));
    const ended = e.timerFiredEventAttributes ?? e.timerCanceledEventAttributes;
    if (ended) open.delete(String(ended.startedEventId));
  }
  expect([...open], 'timers still running').toEqual([]);
}
