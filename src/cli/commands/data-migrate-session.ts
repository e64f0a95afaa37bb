// The session of a `data-migrate` verb (connection, cluster, worker presence) and what several verbs print:
// progress lines and the state rows of a job. Split from data-migrate.ts.
import { type Client, type WorkflowHandle } from '@temporalio/client';
import { type DataMigrationStatusView, type JobState, type Scope } from '../../contracts/data-migrate';
import { ExitError } from '../../errors';
import { connectClient, type TemporalTarget } from '../../temporal/connection';
import { dataMigrationWorkflowId, taskQueueFor } from '../../temporal/ids';
import type { DataControlInput, DataControlResult, dataMigrationControl } from '../../workflows/data-migration-control';
import { loadClusterContext } from '../context';
import { createOutput, type Output } from '../output';
import { describeRunFailure, newReadOnlyId, runSearchAttributes } from '../runs';
import {
  ensurePickedUp,
  NoWorkerError,
  requirePresence,
  workerPresence,
  type WorkerPresence,
} from '../worker-presence';
import type { DataMigrateOptions } from './data-migrate';

export interface Session {
  client: Client;
  target: TemporalTarget;
  cluster: string;
  manifestPath: string;
  presence: WorkerPresence;
  out: Output;
}

export async function withSession<T>(
  opts: DataMigrateOptions,
  globals: { color?: boolean },
  fn: (s: Session) => Promise<T>,
  needsWorker = true,
): Promise<T> {
  const ctx = await loadClusterContext(opts.manifest);
  const { client, target } = await connectClient();
  try {
    // `status` reads what Temporal holds without a worker; every other verb refuses at once without one.
    const presence = needsWorker
      ? await requirePresence(client, ctx.cluster, ctx.manifestPath)
      : await workerPresence(client, ctx.cluster);
    return await fn({
      client,
      target,
      cluster: ctx.cluster,
      manifestPath: ctx.manifestPath,
      presence,
      out: createOutput({ color: globals.color !== false }),
    });
  } finally {
    await client.connection.close();
  }
}

export async function control(s: Session, input: DataControlInput): Promise<DataControlResult> {
  const op = `data-${input.action}`;
  const workflowId = newReadOnlyId(s.cluster, op);
  try {
    const handle = await s.client.workflow.start<typeof dataMigrationControl>('dataMigrationControl', {
      taskQueue: taskQueueFor(s.cluster),
      workflowId,
      args: [input],
      typedSearchAttributes: runSearchAttributes(s.cluster, op),
      workflowExecutionTimeout: '15 minutes',
    });
    await ensurePickedUp(handle, s.presence, s.manifestPath);
    return await handle.result();
  } catch (err) {
    if (err instanceof NoWorkerError) throw err;
    const why = describeRunFailure(err);
    if (why) throw new ExitError(`data-migrate ${input.action} failed (run ${workflowId}): ${why}`, 1);
    throw err;
  }
}

export async function runningHandle(s: Session, service: string, id: string): Promise<WorkflowHandle | undefined> {
  const handle = s.client.workflow.getHandle(dataMigrationWorkflowId(s.cluster, service, id));
  try {
    const d = await handle.describe();
    return d.status.name === 'RUNNING' ? handle : undefined;
  } catch {
    return undefined;
  }
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function duration(seconds: number | null): string {
  if (seconds === null) return '?';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const sec = seconds % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export function progressLine(v: DataMigrationStatusView): string {
  const est = v.estimatedTotal !== null ? ` of ~${fmt(v.estimatedTotal)}` : '';
  const counts =
    `${v.service}.${v.id} ${v.state}: ${fmt(v.totals.scanned)}${est} rows scanned, ${fmt(v.totals.changed)} changed, ` +
    `${fmt(v.totals.errors)} errors`;
  // A rate and an ETA only mean something while batches run; a settled run states what it did instead (a run
  // that found the migration already completed ran no batch and has no rate to report).
  // Before its state is read a run has nothing to count yet: "0 rows/s · ETA ?" would read as a stalled run.
  if (v.state === 'preparing') return `${v.service}.${v.id} preparing: reading its state and scopes`;
  if (v.state === 'running' || v.state === 'pausing')
    return `${counts} · ${fmt(v.rowsPerSecond)} rows/s · ETA ${duration(v.etaSeconds)} · ${fmt(v.batches)} batches`;
  if (v.batches === 0) return counts;
  const rate = v.rowsPerSecond > 0 ? ` at ${fmt(v.rowsPerSecond)} rows/s` : '';
  return `${counts} · ${fmt(v.batches)} batches this run${rate}`;
}

export function scopeName(scope: Scope): string {
  return scope.kind === '' ? '<whole-job>' : `${scope.kind}=${scope.value}`;
}

export function printJob(out: Output, job: JobState): void {
  if (!job.tablesExist) {
    out.line(`${job.id}: no data-migration state tables (_data_migrations) yet: status pending`);
    return;
  }
  out.line(`${job.id}  status=${job.status ?? 'pending'}${job.lastError ? `  last_error=${job.lastError}` : ''}`);
  if (job.scopes.length === 0) out.line('  (no runs recorded)');
  for (const r of job.scopes) {
    out.line(
      `  scope=${scopeName(r.scope)}  status=${r.status}  scanned=${r.counts.scanned} changed=${r.counts.changed} ` +
        `skipped=${r.counts.skipped} errors=${r.counts.errors}${r.lastError ? `  last_error=${r.lastError}` : ''}`,
    );
  }
}
