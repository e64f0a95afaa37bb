// `data-migrate status`: what Temporal records of the migration's run, its live or final progress, and its state
// rows read through the worker — the same keys with --json whether a run is live, finished, or absent.
import { WorkflowNotFoundError } from '@temporalio/client';
import { type DataMigrationStatusView, type JobState } from '../../contracts/data-migrate';
import { ExitError } from '../../errors';
import { webUiLink } from '../../temporal/connection';
import { dataMigrationWorkflowId } from '../../temporal/ids';
import { dataStatusQuery } from '../../workflows/messages';
import { FwState } from '../../temporal/search-attributes';
import { describeRunFailure } from '../runs';
import { noWorkerMessage, NoWorkerError, PICKUP_WAIT_MS, workerCommand, type WorkerPresence } from '../worker-presence';
import { control, printJob, progressLine, type Session } from './data-migrate-session';

/** What `data-migrate status` prints with --json: the same keys whether a run is live, finished, or absent. */
export interface DataMigrateStatusReport {
  migration: string;
  worker: WorkerPresence;
  /** The migration's workflow as Temporal records it (readable without a worker); null when never run. */
  run: {
    workflowId: string;
    status: string;
    state: string | null;
    startTime: string;
    closeTime: string | null;
    webUi?: string;
  } | null;
  /** Live progress (query) while running; the final view of a finished run; null when it cannot be read. */
  progress: DataMigrationStatusView | null;
  /** The `_data_migrations` rows, read through the worker; null without one. */
  job: JobState | null;
  attention: string[];
}

export async function statusVerb(s: Session, service: string, id: string, opts: { json?: boolean }): Promise<void> {
  const report = await statusReport(s, service, id);
  if (opts.json) s.out.json(report);
  else {
    if (report.run) {
      const closed = report.run.closeTime ? `, closed ${report.run.closeTime}` : '';
      s.out.line(
        s.out.dim(
          `Run ${report.run.workflowId}: ${report.run.status}${report.run.state ? ` (${report.run.state})` : ''}, started ${report.run.startTime}${closed}`,
        ),
      );
    }
    if (report.progress) s.out.line(progressLine(report.progress));
    if (report.job) printJob(s.out, report.job);
    for (const a of report.attention) s.out.fail(a);
    if (!report.worker.polling || report.attention.some((a) => a.includes('frameworks worker')))
      s.out.nextSteps([{ cmd: workerCommand(s.manifestPath), why: 'start the worker for this cluster' }]);
  }
  if (report.attention.length > 0) throw new ExitError('', 3);
}

export async function statusReport(s: Session, service: string, id: string): Promise<DataMigrateStatusReport> {
  const workflowId = dataMigrationWorkflowId(s.cluster, service, id);
  const handle = s.client.workflow.getHandle(workflowId);
  const attention: string[] = [];
  let presence = s.presence;
  let run: DataMigrateStatusReport['run'] = null;
  let progress: DataMigrationStatusView | null = null;
  let job: JobState | null = null;
  try {
    const d = await handle.describe();
    const webUi = webUiLink(s.target, workflowId);
    run = {
      workflowId,
      status: d.status.name,
      state: d.typedSearchAttributes.get(FwState) ?? null,
      startTime: d.startTime.toISOString(),
      closeTime: d.closeTime?.toISOString() ?? null,
      ...(webUi ? { webUi } : {}),
    };
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  const gone = (): void => {
    presence = { ...presence, polling: false };
  };
  if (run?.status === 'RUNNING') {
    if (presence.polling) {
      try {
        progress = await s.client.connection.withDeadline(Date.now() + PICKUP_WAIT_MS, () =>
          handle.query(dataStatusQuery),
        );
      } catch {
        gone();
        attention.push(
          `run ${workflowId} is in progress but no worker answered its status query within ` +
            `${PICKUP_WAIT_MS / 1000} s: ${noWorkerMessage(presence, s.manifestPath)}`,
        );
      }
    } else {
      attention.push(`run ${workflowId} is in progress but ${noWorkerMessage(presence, s.manifestPath)}`);
    }
  } else if (run) {
    // A closed run's result is in its history: no worker needed.
    try {
      progress = (await handle.result()) as DataMigrationStatusView;
    } catch (err) {
      attention.push(`the last run ${workflowId} ended ${run.status}: ${describeRunFailure(err) ?? String(err)}`);
    }
  }
  if (presence.polling) {
    try {
      const r = await control({ ...s, presence }, { action: 'status', cluster: s.cluster, service, id });
      if (r.action === 'status') job = r.job;
    } catch (err) {
      if (!(err instanceof NoWorkerError)) throw err;
      gone();
      attention.push(err.message);
    }
  } else if (!attention.some((a) => a.includes('frameworks worker'))) {
    attention.push(
      `the migration's state rows are read through the worker: ${noWorkerMessage(presence, s.manifestPath)}`,
    );
  }
  return { migration: `${service}.${id}`, worker: presence, run, progress, job, attention };
}
