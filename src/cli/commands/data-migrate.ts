// `frameworks cluster data-migrate list|run|status|verify|pause|resume`. A running migration is a workflow
// (fw/<cluster>/data/<service>.<id>) that the CLI queries and steers with updates; without one, the short
// `dataMigrationControl` workflow reads or marks the state rows through the worker.
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import Table from 'cli-table3';
import {
  MigrationRefSchema,
  type DataMigrationStatusView,
  type JobState,
  type Scope,
} from '../../contracts/data-migrate';
import type { LiveState } from '../../domain/data-migrations/gates';
import { validateVersion } from '../../contracts/version';
import { ExitError, InputError } from '../../errors';
import { connectClient, webUiLink, type TemporalTarget } from '../../temporal/connection';
import { dataMigrationWorkflowId, taskQueueFor } from '../../temporal/ids';
import type { DataControlInput, DataControlResult, dataMigrationControl } from '../../workflows/data-migration-control';
import { dataStatusQuery, pauseUpdate, resumeUpdate } from '../../workflows/messages';
import { FwState } from '../../temporal/search-attributes';
import { loadClusterContext } from '../context';
import { createOutput, type Output } from '../output';
import { reconnecting } from '../reconnect';
import { describeRunFailure, newReadOnlyId, operatorName, runSearchAttributes } from '../runs';
import {
  ensurePickedUp,
  noWorkerMessage,
  NoWorkerError,
  PICKUP_WAIT_MS,
  requirePresence,
  workerCommand,
  workerPresence,
  type WorkerPresence,
} from '../worker-presence';

export interface DataMigrateOptions {
  manifest?: string;
  json?: boolean;
  toVersion?: string;
  batchSize?: string;
  dryRun?: boolean;
  scopeKind?: string;
  scopeValue?: string;
  detach?: boolean;
}

export function parseRef(ref: string): { service: string; id: string } {
  const r = MigrationRefSchema.safeParse(ref);
  if (!r.success)
    throw new InputError('<service.id>', `"${ref}": expected <service>.<id>, e.g. purser.invoice-line-items`);
  const dot = ref.indexOf('.');
  return { service: ref.slice(0, dot), id: ref.slice(dot + 1) };
}

interface Session {
  client: Client;
  target: TemporalTarget;
  cluster: string;
  manifestPath: string;
  presence: WorkerPresence;
  out: Output;
}

async function withSession<T>(
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

async function control(s: Session, input: DataControlInput): Promise<DataControlResult> {
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

async function runningHandle(s: Session, service: string, id: string): Promise<WorkflowHandle | undefined> {
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

function printJob(out: Output, job: JobState): void {
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

async function follow(s: Session, handle: WorkflowHandle, opts: { json?: boolean }): Promise<DataMigrationStatusView> {
  let detached = false;
  const onSigint = (): void => {
    detached = true;
  };
  process.once('SIGINT', onSigint);
  const tty = s.out.tty && !opts.json;
  let lastPrinted = 0;
  let lastState = '';
  const reattach = `frameworks cluster data-migrate run ${handle.workflowId.split('/data/')[1]}`;
  const read = reconnecting(() => handle.query(dataStatusQuery), {
    reattach,
    say: (line) => process.stderr.write(`${tty ? '\n' : ''}${line}\n`),
  });
  try {
    for (;;) {
      if (detached) {
        if (tty) process.stdout.write('\n');
        throw new ExitError(`Detached; the migration continues. Reattach with: ${reattach}`, 130);
      }
      const v = await read();
      if (!opts.json) {
        if (tty) process.stdout.write(`\r\x1b[2K${progressLine(v)}`);
        else if (Date.now() - lastPrinted > 5_000 || v.state !== lastState) {
          // Off a terminal: a line on every state change and every 5 s, so logs stay readable.
          s.out.line(progressLine(v));
          lastPrinted = Date.now();
        }
        lastState = v.state;
      }
      if (['completed', 'failed', 'refused'].includes(v.state)) {
        if (tty) process.stdout.write('\n');
        return v;
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export async function dataMigrateCommand(
  verb: string,
  ref: string | undefined,
  opts: DataMigrateOptions,
  globals: { color?: boolean },
): Promise<void> {
  if (verb === 'list') return listCommand(opts, globals);
  const { service, id } = parseRef(ref ?? '');
  if (opts.scopeValue !== undefined && opts.scopeKind === undefined) {
    throw new InputError('--scope-value', '--scope-value needs --scope-kind');
  }
  const scope = opts.scopeKind !== undefined ? { kind: opts.scopeKind, value: opts.scopeValue ?? '' } : undefined;
  const batchSize = opts.batchSize !== undefined ? Number(opts.batchSize) : 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1_000_000) {
    throw new InputError('--batch-size', `"${opts.batchSize}": a whole number from 1 to 1000000`);
  }
  await withSession(
    opts,
    globals,
    async (s) => {
      const ref2 = { cluster: s.cluster, service, id };
      switch (verb) {
        case 'run':
          return run(s, ref2, { ...opts, batchSize, scope });
        case 'status':
          return statusVerb(s, service, id, opts);
        case 'verify': {
          const r = await control(s, { action: 'verify', ...ref2 });
          if (r.action !== 'verify') return;
          const failed = r.checks.filter((c) => !c.ok);
          if (opts.json) s.out.json({ id, ok: failed.length === 0, checks: r.checks });
          else {
            const t = new Table({ head: ['check', 'expected', 'actual', ''], style: { head: [], border: [] } });
            for (const c of r.checks) t.push([c.name, c.expected, c.actual, c.ok ? 'ok' : 'MISMATCH']);
            s.out.line(t.toString());
            if (failed.length === 0) s.out.ok(`${service}.${id} verified: ${r.checks.length} check(s) match`);
          }
          if (failed.length > 0) throw new ExitError(`${service}.${id}: ${failed.length} check(s) do not match`, 1);
          return;
        }
        case 'pause':
        case 'resume': {
          const h = await runningHandle(s, service, id);
          if (h) {
            let v: DataMigrationStatusView;
            try {
              v =
                verb === 'pause'
                  ? await h.executeUpdate(pauseUpdate, { args: [{}] })
                  : await h.executeUpdate(resumeUpdate);
            } catch (err) {
              const cause = (err as { cause?: Error }).cause;
              throw new ExitError(`${verb} refused: ${cause?.message ?? (err as Error).message}`, 1);
            }
            if (opts.json) s.out.json(v);
            else s.out.ok(`${service}.${id} ${v.state} (acknowledged by run ${h.workflowId}): ${progressLine(v)}`);
            return;
          }
          const r = await control(s, { action: verb, ...ref2 });
          if (r.action !== 'pause' && r.action !== 'resume') return;
          if (opts.json) s.out.json(r.job);
          else
            s.out.ok(
              verb === 'pause'
                ? `${service}.${id} paused (no run in progress; \`run\` refuses until resume)`
                : `${service}.${id} resumed: status ${r.job.status ?? 'pending'}; continue it with \`frameworks cluster data-migrate run ${service}.${id}\``,
            );
          return;
        }
        default:
          throw new ExitError(`unknown data-migrate command ${verb}`, 2);
      }
    },
    verb !== 'status',
  );
}

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

async function statusVerb(s: Session, service: string, id: string, opts: { json?: boolean }): Promise<void> {
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

async function run(
  s: Session,
  ref: { cluster: string; service: string; id: string },
  opts: Omit<DataMigrateOptions, 'batchSize'> & { batchSize: number; scope: Scope | undefined },
): Promise<void> {
  if (opts.dryRun) {
    const r = await control(s, {
      action: 'dry-run',
      ...ref,
      batchSize: opts.batchSize,
      ...(opts.scope ? { scope: opts.scope } : {}),
    });
    if (r.action !== 'dry-run') return;
    if (opts.json) s.out.json(r.scopes);
    for (const x of r.scopes) {
      if (!opts.json)
        s.out.line(
          `${ref.id}/${scopeName(x.scope)} dry-run: scanned=${x.batch.scanned} changed=${x.batch.changed} skipped=${x.batch.skipped} errors=${x.batch.errors} done=${x.done}`,
        );
    }
    return;
  }
  const workflowId = dataMigrationWorkflowId(ref.cluster, ref.service, ref.id);
  let handle = await runningHandle(s, ref.service, ref.id);
  if (handle) {
    if (!opts.json)
      s.out.line(`Attaching to the running ${ref.service}.${ref.id} (${workflowId}); it was not started again.`);
  } else {
    try {
      handle = await s.client.workflow.start('dataMigration', {
        taskQueue: taskQueueFor(ref.cluster),
        workflowId,
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        args: [
          { ...ref, batchSize: opts.batchSize, ...(opts.scope ? { scope: opts.scope } : {}), operator: operatorName() },
        ],
        typedSearchAttributes: runSearchAttributes(ref.cluster, 'data-migrate'),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      handle = s.client.workflow.getHandle(workflowId);
    }
  }
  const link = webUiLink(s.target, workflowId);
  if (!opts.json) s.out.line(s.out.dim(`Run ${workflowId}${link ? ` — ${link}` : ''}`));
  if (opts.detach) {
    if (opts.json) s.out.json({ workflowId, webUi: link });
    return;
  }
  let v: DataMigrationStatusView;
  try {
    v = await follow(s, handle, opts);
  } catch (err) {
    const why = describeRunFailure(err);
    if (why) throw new ExitError(`data-migrate run failed (${workflowId}): ${why}`, 1);
    throw err;
  }
  if (v.state === 'failed') {
    const why = await handle.result().then(
      () => v.lastError,
      (err: unknown) => describeRunFailure(err) ?? v.lastError,
    );
    throw new ExitError(`data-migrate run failed (${workflowId}): ${why ?? 'unknown error'}`, 1);
  }
  if (opts.json) s.out.json(v);
  if (v.state === 'refused') throw new ExitError(`${ref.service}.${ref.id} refused: ${v.reason ?? ''}`, 1);
  if (!opts.json) {
    s.out.ok(
      v.reason ??
        `${ref.service}.${ref.id} completed: scanned=${v.totals.scanned} changed=${v.totals.changed} errors=${v.totals.errors}`,
    );
    s.out.nextSteps([
      { cmd: `frameworks cluster data-migrate verify ${ref.service}.${ref.id}`, why: 'compare counts and totals' },
    ]);
  }
}

function liveText(l: LiveState): string {
  switch (l.kind) {
    case 'status':
      return `status: ${l.status}`;
    case 'missing_table':
      return 'status: pending (no _data_migrations table yet)';
    case 'not_adopted':
      return 'service binary has NOT ADOPTED data-migrations';
    case 'not_registered':
      return 'DECLARED in catalog but NOT REGISTERED in service binary';
    case 'fetch_error':
      return `fetch failed: ${l.error}`;
  }
}

async function listCommand(opts: DataMigrateOptions, globals: { color?: boolean }): Promise<void> {
  const toVersion = opts.toVersion ? validateVersion(opts.toVersion, '--to-version') : '';
  await withSession(opts, globals, async (s) => {
    const r = await control(s, { action: 'list', cluster: s.cluster, toVersion });
    if (r.action !== 'list') return;
    if (r.catalogError) throw new ExitError(`release catalog failed to load: ${r.catalogError}`, 1);
    if (opts.json) {
      s.out.json({
        target_version: r.target,
        requirements: r.requirements.map((x) => ({
          id: x.requirement.id,
          service: x.requirement.service,
          introduced_in: x.requirement.introduced_in,
          required_before_phase: x.requirement.required_before_phase,
          driver: x.requirement.driver,
          ...(x.live.kind === 'status' ? { status: x.live.status } : {}),
          ...(x.live.kind === 'missing_table' ? { status: 'pending' } : {}),
          ...(x.live.kind === 'not_registered' ? { not_registered: true } : {}),
          ...(x.live.kind === 'not_adopted' ? { not_adopted: true } : {}),
          ...(x.live.kind === 'fetch_error' ? { error: x.live.error } : {}),
        })),
        ...(r.message ? { message: r.message } : {}),
      });
      return;
    }
    if (r.message) {
      s.out.line(r.message);
      return;
    }
    s.out.line(`Required data migrations up to ${r.target}:`);
    for (const x of r.requirements) {
      const q = x.requirement;
      s.out.line(
        `  ${q.service}.${q.id} (introduced ${q.introduced_in}, required before ${q.required_before_phase}) — ${liveText(x.live)}`,
      );
    }
  });
}
