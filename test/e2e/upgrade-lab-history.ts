// Reads back every run whose workflow id starts with a prefix (parent runs, per-service children, migrate runs),
// fetches each history from the server, and turns it into one searchable text: the history JSON plus every
// payload decoded (payload data is base64 in the JSON, so a secret inside an activity input or failure would not
// be visible to a plain search). Used by the upgrade e2e tests to prove no lab secret reached any history.
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export interface ScannedRun {
  workflowId: string;
  runId: string;
  type: string;
  events: number;
  text: string;
}

function decodedPayloads(json: string): string[] {
  const out: string[] = [];
  for (const m of json.matchAll(/"data"\s*:\s*"([A-Za-z0-9+/=]+)"/g)) {
    out.push(Buffer.from(m[1]!, 'base64').toString('utf8'));
  }
  return out;
}

export async function fetchHistories(client: Client, idPrefix: string): Promise<ScannedRun[]> {
  const runs: ScannedRun[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH "${idPrefix}"` })) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const json = historyToJSON(history);
    runs.push({
      workflowId: wf.workflowId,
      runId: wf.runId,
      type: wf.type,
      events: history.events?.length ?? 0,
      text: `${json}\n${decodedPayloads(json).join('\n')}`,
    });
  }
  return runs;
}

/** `name: value` pairs whose value (or any 16-character slice of it, for long values) occurs in some run. */
export function secretHits(runs: ScannedRun[], secrets: Record<string, string>): string[] {
  const hits: string[] = [];
  for (const [name, value] of Object.entries(secrets)) {
    if (value.length < 8) throw new Error(`secret ${name} is too short to scan for meaningfully`);
    const needles = value.length <= 32 ? [value] : slices(value, 16);
    for (const r of runs) {
      const found = needles.find((n) => r.text.includes(n));
      if (found) hits.push(`${name} in ${r.workflowId} (${r.runId}): …${found}…`);
    }
  }
  return hits;
}

function slices(value: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + size <= value.length; i += size) out.push(value.slice(i, i + size));
  return out;
}
