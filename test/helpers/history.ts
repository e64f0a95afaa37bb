// Captures a finished run's history into test/replay/histories/ when FW_CAPTURE_HISTORIES=1, so the replay
// test keeps checking that current workflow code can continue runs started by earlier code.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export async function captureHistory(client: Client, workflowId: string, name: string, runId?: string): Promise<void> {
  if (process.env.FW_CAPTURE_HISTORIES !== '1') return;
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  writeFileSync(join(__dirname, '..', 'replay', 'histories', `${name}.json`), historyToJSON(history));
}
