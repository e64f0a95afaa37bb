// Starting runs from the CLI: the right task queue, search attributes and id, a fast refusal when no worker
// polls the cluster's task queue (instead of a run that waits forever), and failures rendered as one message.
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { durationProblem } from '../contracts/duration';
import { resolveSelector } from '../domain/selector';
import { failureMessage } from '../temporal/failures';
import { ExitError, InputError } from '../errors';
import { webUiLink, type TemporalTarget } from '../temporal/connection';
import { changeWorkflowId, readOnlyWorkflowId, taskQueueFor } from '../temporal/ids';
import { FwCluster, FwOperation, FwOperator, FwState } from '../temporal/search-attributes';
import { requirePresence } from './worker-presence';

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

/** Refuses at once when no worker polled the cluster's task queue recently (see worker-presence.ts). */
export async function requireWorker(client: Client, cluster: string, manifestPath: string): Promise<void> {
  await requirePresence(client, cluster, manifestPath);
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

/** The message of a failed run's ApplicationFailure: what was checked, what was found. */
export function describeRunFailure(err: unknown): string | undefined {
  return err instanceof WorkflowFailedError ? failureMessage(err) : undefined;
}

/** A change is already running on the lock: say who, what, since when, and how to watch it. */
export async function describeLockHolder(client: Client, target: TemporalTarget, workflowId: string): Promise<string> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    const op = d.typedSearchAttributes.get(FwOperation) ?? d.type;
    const who = d.typedSearchAttributes.get(FwOperator) ?? 'unknown operator';
    const link = webUiLink(target, workflowId);
    return (
      `another change is already running on this cluster: ${op} (${d.type}) started by ${who} at ` +
      `${d.startTime.toISOString()}, run ${d.runId}.\n` +
      `Watch it: frameworks cluster runs watch ${workflowId}${link ? `\nWeb UI: ${link}` : ''}`
    );
  } catch {
    return `another change is already running on this cluster (${workflowId}); watch it: frameworks cluster runs watch ${workflowId}`;
  }
}

/**
 * Starts a mutating run on the cluster's change lock (SPEC §4: workflow id `fw/<cluster>/change`, conflict
 * policy FAIL), or under a unique read-only id for a dry-run, which changes nothing and takes no lock. A held
 * lock becomes one message saying who holds it, since when, and how to watch it.
 */
export async function startChange(
  client: Client,
  target: TemporalTarget,
  opts: {
    cluster: string;
    workflowType: string;
    dryRunOperation: string;
    dryRun: boolean;
    args: unknown[];
    typedSearchAttributes: ReturnType<typeof runSearchAttributes>;
  },
): Promise<{ handle: WorkflowHandleWithFirstExecutionRunId; workflowId: string }> {
  const workflowId = opts.dryRun ? newReadOnlyId(opts.cluster, opts.dryRunOperation) : changeWorkflowId(opts.cluster);
  try {
    const handle = await client.workflow.start(opts.workflowType, {
      taskQueue: taskQueueFor(opts.cluster),
      workflowId,
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      args: opts.args,
      typedSearchAttributes: opts.typedSearchAttributes,
    });
    return { handle, workflowId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new ExitError(await describeLockHolder(client, target, workflowId), 1);
    }
    throw err;
  }
}

/**
 * Health-wait overrides, deliberately NOT in --help (SPEC §6 fixes 5 s / 90 s for operators; the workflow input
 * makes them configurable): FRAMEWORKS_HEALTH_INTERVAL and FRAMEWORKS_HEALTH_DEADLINE take a Temporal duration
 * ("500 milliseconds", "10 seconds"). They exist so the lab e2e and the demo can fail a bad release in seconds
 * instead of waiting out the 90 s deadline; unset or empty ⇒ the workflow's defaults.
 */
export function healthOverrides(): { healthInterval?: string; healthDeadline?: string } {
  const interval = process.env.FRAMEWORKS_HEALTH_INTERVAL?.trim();
  const deadline = process.env.FRAMEWORKS_HEALTH_DEADLINE?.trim();
  // Refused here, before a run starts, with the same parser the workflow validates with.
  for (const [name, value] of [
    ['FRAMEWORKS_HEALTH_INTERVAL', interval],
    ['FRAMEWORKS_HEALTH_DEADLINE', deadline],
  ] as const) {
    const problem = value ? durationProblem(value) : undefined;
    if (problem) throw new InputError('environment', [{ path: name, message: problem }]);
  }
  return { ...(interval ? { healthInterval: interval } : {}), ...(deadline ? { healthDeadline: deadline } : {}) };
}

/** Warns (stderr) when an explicit selector's channel is not the cluster's channel. */
export function warnOtherChannel(selector: string, channel: string, verb: string): void {
  if (selector.trim() === '') return;
  const implied = resolveSelector(selector).channel;
  if (implied !== channel) {
    process.stderr.write(`Warning: cluster channel is "${channel}" but ${verb} "${implied}" channel\n`);
  }
}

/** --batch-size: a whole number from 1 to 1000000, else a usage error (exit 2) naming the flag. */
export function parseBatchSize(raw: string | undefined): number {
  if (raw === undefined) return 1000;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) {
    throw new ExitError(`--batch-size must be a whole number from 1 to 1000000, got ${JSON.stringify(raw)}`, 2);
  }
  return n;
}
