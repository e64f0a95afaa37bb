// Starting runs from the CLI: the right task queue, search attributes and id, a fast refusal when no worker
// polls the cluster's task queue (instead of a run that waits forever), and failures rendered as one message.
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ExitError } from '../errors';
import { readOnlyWorkflowId, taskQueueFor } from '../temporal/ids';
import { FwCluster, FwOperation, FwOperator, FwState } from '../temporal/search-attributes';

export function operatorName(): string {
  return (
    process.env.FRAMEWORKS_OPERATOR ??
    (() => {
      try {
        return userInfo().username;
      } catch {
        return 'unknown';
      }
    })()
  );
}

export async function requireWorker(client: Client, cluster: string): Promise<void> {
  const taskQueue = taskQueueFor(cluster);
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  if ((res.pollers ?? []).length === 0) {
    throw new ExitError(
      `no worker is polling task queue ${taskQueue}: start one near the cluster with ` +
        '`frameworks worker --manifest <cluster.yaml>` (it needs the same Temporal address and namespace)',
      1,
    );
  }
}

export function newReadOnlyId(cluster: string, op: string): string {
  return readOnlyWorkflowId(cluster, op, randomUUID());
}

export function runSearchAttributes(cluster: string, operation: string) {
  return [
    { key: FwCluster, value: cluster },
    { key: FwOperation, value: operation },
    { key: FwOperator, value: operatorName() },
    { key: FwState, value: 'running' },
  ];
}

/** The innermost ApplicationFailure message of a failed run: what was checked, what was found. */
export function describeRunFailure(err: unknown): string | undefined {
  if (!(err instanceof WorkflowFailedError)) return undefined;
  let cause: unknown = err.cause;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  return cause instanceof Error ? cause.message : err.message;
}
