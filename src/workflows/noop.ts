// `noop` (a test command): a change run that changes nothing. It is the whole recipe for a mutating command —
// one contract (src/contracts/noop.ts), this workflow on changeRun, one CLI spec (src/cli/commands/noop.ts) — and
// it lets tests drive the shared lifecycle (lock, gates, approval, follow, exit codes) without a cluster to change.
import { proxyActivities, upsertMemo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NoopInputSchema, type NoopInput, type NoopProgress } from '../contracts/noop';
import { fingerprint } from '../domain/hash';
import { changeRun } from './change-run';
import { noopMessages } from './messages';
import { parseInput, readOptions } from './util';

const reads = proxyActivities<Activities>(readOptions('1 minute', 3));

export async function noop(rawInput: NoopInput): Promise<NoopProgress> {
  const input = parseInput(NoopInputSchema, rawInput, 'noop');
  const progress: NoopProgress = {
    cluster: input.cluster,
    target: '',
    state: 'planning',
    checks: [],
    warnings: [],
    steps: input.steps.map((name) => ({ name, status: 'pending' })),
    planHash: '',
  };
  return changeRun({
    progress,
    messages: noopMessages,
    input,
    changing: 'its steps run',
    executing: 'running',
    plan: async () => {
      // One real read, so the run proves the worker serves the cluster (an unknown one fails non-retryably).
      await reads.describeCluster({ cluster: input.cluster });
      progress.checks.push(
        input.refuse === undefined
          ? {
              id: 'noop',
              label: 'noop gate',
              status: 'pass',
              detail: `${input.steps.length} step(s), none changes anything`,
            }
          : { id: 'noop', label: 'noop gate', status: 'refuse', detail: input.refuse, fix: 'run it without --refuse' },
      );
      progress.planHash = fingerprint({ steps: input.steps });
      upsertMemo({ summary: `noop: ${input.steps.join(', ')}` });
      return { refused: input.refuse !== undefined, nothingToDo: input.steps.length === 0 };
    },
    execute: () => {
      for (const s of progress.steps) s.status = 'done';
      return Promise.resolve();
    },
  });
}
