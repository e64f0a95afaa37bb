// `frameworks cluster data-migrate list|run|status|verify|pause|resume`. A running migration is a workflow
// (fw/<cluster>/data/<service>.<id>) that the CLI queries and steers with updates; without one, the short
// `dataMigrationControl` workflow reads or marks the state rows through the worker.
import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import Table from 'cli-table3';
import { MigrationRefSchema, type DataMigrationStatusView, type Scope } from '../../contracts/data-migrate';
import { validateVersion } from '../../contracts/version';
import { ExitError, UsageError } from '../../errors';
import { webUiLink } from '../../temporal/connection';
import { dataMigrationWorkflowId, taskQueueFor } from '../../temporal/ids';
import { dataStatusQuery, pauseUpdate, resumeUpdate } from '../../workflows/messages';
import { describeRunFailure, operatorName, parseBatchSize, runSearchAttributes } from '../runs';
import { reconnecting } from '../reconnect';
import { liveText } from '../../domain/data-migrations/live-text';
import { control, progressLine, runningHandle, scopeName, withSession, type Session } from './data-migrate-session';
import { statusReport, statusVerb } from './data-migrate-status';

export { progressLine, scopeName, statusReport };
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
    throw new UsageError(`<service.id>: "${ref}": expected <service>.<id>, e.g. purser.invoice-line-items`);
  const dot = ref.indexOf('.');
  return { service: ref.slice(0, dot), id: ref.slice(dot + 1) };
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
    throw new UsageError('--scope-value needs --scope-kind');
  }
  const scope = opts.scopeKind !== undefined ? { kind: opts.scopeKind, value: opts.scopeValue ?? '' } : undefined;
  const batchSize = parseBatchSize(opts.batchSize);
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
