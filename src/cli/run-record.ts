// The record `cluster rollback` judges, read from Temporal: the reverted run's own progress (per service and host:
// action, identities and config hashes before and after) and the change runs of the cluster that started after it
// closed. Queries of closed runs are answered by a worker replaying their history (a worker must poll anyway).
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { LaterRun, RunRecord, RunReplica } from '../contracts/rollback';
import type { ClusterRollbackProgress } from '../contracts/rollback';
import type { ClusterUpgradeProgress } from '../contracts/upgrade';
import { movedReplicas, replicasOfResults } from '../domain/rollback-plan';
import { ExitError } from '../errors';
import { changeWorkflowId } from '../temporal/ids';
import { clusterRollbackMessages, clusterUpgradeMessages, releaseMessages } from '../workflows/messages';

/** The progress of the `clusterUpgrade` child a release ran for real (its dry-run children change nothing). */
async function releaseUpgrade(client: Client, handle: WorkflowHandle): Promise<ClusterUpgradeProgress | null> {
  const history = await handle.fetchHistory();
  let found: ClusterUpgradeProgress | null = null;
  for (const e of history.events ?? []) {
    const a = e.childWorkflowExecutionStartedEventAttributes;
    if (a?.workflowType?.name !== 'clusterUpgrade' || !a.workflowExecution?.workflowId) continue;
    const child = client.workflow.getHandle(a.workflowExecution.workflowId, a.workflowExecution.runId ?? undefined);
    const p = await child.query(clusterUpgradeMessages.progress);
    if (p.state !== 'dry-run') found = p;
  }
  return found;
}

/** Run `runId` of the cluster's change lock as a rollback record (a run of another type is recorded as such). */
export async function readRunRecord(client: Client, cluster: string, runId: string): Promise<RunRecord> {
  const workflowId = changeWorkflowId(cluster);
  const handle = client.workflow.getHandle(workflowId, runId);
  const d = await handle.describe().catch(() => {
    throw new ExitError(
      `no run ${runId} of ${workflowId}: rollback takes the run id of an upgrade or release of this cluster ` +
        '(frameworks cluster runs list)',
      1,
    );
  });
  const base = {
    workflowId,
    runId,
    type: d.type,
    closedAt: d.closeTime ? d.closeTime.toISOString() : null,
  };
  let progress: ClusterUpgradeProgress | null = null;
  let state = d.status.name.toLowerCase();
  if (d.type === 'clusterUpgrade') {
    progress = await handle.query(clusterUpgradeMessages.progress);
    state = progress.state;
  } else if (d.type === 'release') {
    state = (await handle.query(releaseMessages.progress)).state;
    progress = await releaseUpgrade(client, handle);
  }
  if (d.status.name === 'RUNNING') state = 'running';
  return {
    ...base,
    state,
    target: progress?.target ?? '',
    order: progress?.order ?? [],
    replicas: progress ? replicasOfResults(progress.services.map((s) => s.result)) : [],
  };
}

/** Replicas a run of the change lock moved (upgrades, releases, rollbacks); none for other runs. */
async function movedBy(client: Client, cluster: string, runId: string, type: string): Promise<RunReplica[]> {
  if (type === 'clusterRollback') {
    const p: ClusterRollbackProgress = await client.workflow
      .getHandle(changeWorkflowId(cluster), runId)
      .query(clusterRollbackMessages.progress);
    return movedReplicas(replicasOfResults(p.services.flatMap((s) => s.results)));
  }
  if (type !== 'clusterUpgrade' && type !== 'release') return [];
  return movedReplicas((await readRunRecord(client, cluster, runId)).replicas);
}

/** Change runs of the cluster started after `after`, with the replicas each moved. */
export async function laterRuns(client: Client, cluster: string, after: string, runId: string): Promise<LaterRun[]> {
  const out: LaterRun[] = [];
  const query = `WorkflowId = '${changeWorkflowId(cluster)}' AND StartTime > '${after}'`;
  for await (const w of client.workflow.list({ query })) {
    if (w.runId === runId) continue;
    const moved = await movedBy(client, cluster, w.runId, w.type);
    out.push({
      runId: w.runId,
      type: w.type,
      startedAt: w.startTime.toISOString(),
      moved: moved.map((m) => ({ service: m.service, host: m.host })),
    });
  }
  return out;
}
