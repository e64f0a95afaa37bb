// `frameworks cluster runs list|watch|cancel`: the cluster's runs from Temporal visibility (FwCluster), and
// reattaching to one. Watching renders the same progress the Web UI shows, from the run's own query.
import type { Client } from '@temporalio/client';
import Table from 'cli-table3';
import type { ChangeRunProgress } from '../../contracts/change-run';
import { ExitError } from '../../errors';
import { connectClient, webUiLink } from '../../temporal/connection';
import { FwOperation, FwOperator, FwState } from '../../temporal/search-attributes';
import { canaryUpdate, dataStatusQuery } from '../../workflows/messages';
import { loadClusterContext } from '../context';
import { createOutput } from '../output';
import { followChange, type ChangeView } from '../run-change';
import { describeRunFailure, operatorName } from '../runs';
import { migrateView } from './migrate';
import { progressLine } from './data-migrate';
import { noopView } from './noop';
import { releaseView } from './release';
import { rollbackView } from './rollback';
import { canaryLines, upgradeView } from './upgrade';

/** Every change run's workflow type and how it reads: `runs watch` reattaches and `runs cancel` cancels by them. */
const CHANGE_VIEWS: Record<string, ChangeView<ChangeRunProgress>> = {
  schemaMigrate: migrateView,
  clusterUpgrade: upgradeView,
  release: releaseView,
  noop: noopView,
  clusterRollback: rollbackView,
};

export interface RunsOptions {
  manifest?: string;
  json?: boolean;
  limit?: string;
  /** runs continue|rollback --service: answer only this service's canary. */
  service?: string;
}

export interface RunSummary {
  workflowId: string;
  runId: string;
  type: string;
  operation?: string;
  state?: string;
  status: string;
  operator?: string;
  startTime: string;
  closeTime?: string;
  webUi?: string;
}

// FwState values a run writes while it is still going; once Temporal says the run closed they are stale.
const LIVE_STATES = new Set([
  'running',
  'planning',
  'preparing',
  'awaiting-approval',
  'awaiting-canary',
  'pausing',
  'upgrading',
  'rolling-back',
]);

/**
 * The state column of a run: what it last wrote in FwState, unless the run has closed while that still names a
 * live state (a run cancelled while awaiting approval, a read-only run whose last word was "running", a run
 * that failed or was terminated before it could upsert) — then Temporal's close status is the truth.
 */
export function runState(status: string, fwState: string | undefined): { state?: string } {
  const live = fwState !== undefined && (LIVE_STATES.has(fwState) || fwState.startsWith('running:'));
  if (status === 'RUNNING' || (fwState !== undefined && !live)) return fwState !== undefined ? { state: fwState } : {};
  const closed: Record<string, string> = {
    COMPLETED: 'completed',
    FAILED: 'failed',
    CANCELLED: 'cancelled',
    TERMINATED: 'terminated',
    TIMED_OUT: 'timed-out',
    CONTINUED_AS_NEW: 'continued-as-new',
  };
  return { state: closed[status] ?? status.toLowerCase() };
}

export async function listRuns(
  client: Client,
  address: { address: string; namespace: string },
  cluster: string,
  limit: number,
): Promise<RunSummary[]> {
  const out: RunSummary[] = [];
  for await (const wf of client.workflow.list({
    // No ORDER BY: the dev server's SQLite visibility rejects it; lists come newest first anyway.
    query: `FwCluster = "${cluster}"`,
    pageSize: limit,
  })) {
    const link = webUiLink(address, wf.workflowId);
    out.push({
      workflowId: wf.workflowId,
      runId: wf.runId,
      type: wf.type,
      ...(wf.typedSearchAttributes.get(FwOperation) ? { operation: wf.typedSearchAttributes.get(FwOperation) } : {}),
      ...runState(wf.status.name, wf.typedSearchAttributes.get(FwState)),
      status: wf.status.name,
      ...(wf.typedSearchAttributes.get(FwOperator) ? { operator: wf.typedSearchAttributes.get(FwOperator) } : {}),
      startTime: wf.startTime.toISOString(),
      ...(wf.closeTime ? { closeTime: wf.closeTime.toISOString() } : {}),
      ...(link ? { webUi: link } : {}),
    });
    if (out.length >= limit) break;
  }
  return out;
}

export async function runsCommand(
  verb: string,
  id: string | undefined,
  opts: RunsOptions,
  globals: { color?: boolean },
): Promise<void> {
  const out = createOutput({ color: globals.color !== false });
  const { client, target } = await connectClient();
  try {
    if (verb === 'list') {
      const ctx = await loadClusterContext(opts.manifest);
      const limit = Number(opts.limit ?? 20);
      const runs = await listRuns(client, target, ctx.cluster, Number.isInteger(limit) && limit > 0 ? limit : 20);
      if (opts.json) {
        out.json(runs);
        return;
      }
      if (runs.length === 0) {
        out.line(`No runs of cluster ${ctx.cluster} yet.`);
        return;
      }
      const t = new Table({
        head: ['workflow id', 'run id', 'operation', 'state', 'status', 'operator', 'started'],
        style: { head: [], border: [] },
      });
      for (const r of runs)
        t.push([r.workflowId, r.runId, r.operation ?? r.type, r.state ?? '', r.status, r.operator ?? '', r.startTime]);
      out.line(t.toString());
      const ui = runs[0]?.webUi?.replace(/\/workflows\/.*$/, '/workflows');
      if (ui) out.line(out.dim(`Web UI: ${ui}?query=${encodeURIComponent(`FwCluster="${ctx.cluster}"`)}`));
      return;
    }
    if (!id) throw new ExitError(`runs ${verb} needs a workflow id (see \`frameworks cluster runs list\`)`, 2);
    if (typeof opts.manifest === 'string') {
      // An explicit manifest guards against watching or cancelling another cluster's run by mistake.
      const name = (await loadClusterContext(opts.manifest)).cluster;
      if (!id.startsWith(`fw/${name}/`)) {
        throw new ExitError(`${id} is not a run of cluster ${name} (its runs are fw/${name}/…)`, 1);
      }
    }
    const handle = client.workflow.getHandle(id);
    let d;
    try {
      d = await handle.describe();
    } catch {
      throw new ExitError(`no run with id ${id} in namespace ${target.namespace}`, 1);
    }
    if (verb === 'cancel') {
      if (d.status.name !== 'RUNNING') throw new ExitError(`${id} is ${d.status.name}; nothing to cancel`, 1);
      const view = CHANGE_VIEWS[d.type];
      if (view) {
        try {
          await handle.executeUpdate(view.messages.cancel, { args: [{ reason: `cancelled by ${operatorName()}` }] });
          out.ok(`${id} cancelled before changing anything`);
          return;
        } catch {
          // Already changing: fall through to a workflow cancellation request.
        }
      }
      await handle.cancel();
      out.ok(`cancellation requested for ${id}; the run stops at its next safe point`);
      return;
    }
    if (verb === 'continue' || verb === 'rollback') {
      if (d.type !== 'clusterUpgrade' || d.status.name !== 'RUNNING') {
        throw new ExitError(
          `${id} is a ${d.status.name.toLowerCase()} ${d.type} run; no canary waits for a decision`,
          1,
        );
      }
      let p;
      try {
        p = await handle.executeUpdate(canaryUpdate, {
          args: [{ decision: verb, operator: operatorName(), ...(opts.service ? { service: opts.service } : {}) }],
        });
      } catch (err) {
        // The run's refusal (nothing waiting, still soaking, another service) is the update's failure cause.
        const cause = (err as { cause?: { message?: string } }).cause?.message;
        throw new ExitError(`${id}: ${cause ?? describeRunFailure(err) ?? String(err)}`, 1);
      }
      for (const line of canaryLines(p)) out.line(line.trim());
      out.ok(verb === 'continue' ? `${id} continues` : `${id}: the canary rolls back`);
      out.line(`Follow it with: frameworks cluster runs watch ${id}`);
      return;
    }
    // watch
    const link = webUiLink(target, id);
    out.line(out.dim(`Watching ${id} (${d.type}, ${d.status.name})${link ? ` — ${link}` : ''}`));
    try {
      const view = CHANGE_VIEWS[d.type];
      if (view) {
        // The same lines the command that started the run prints while it follows it.
        const final = await followChange(client, target, handle, id, view, out, { cancelOnDecline: false });
        out.line(`${id} ${final.state}`);
        if (final.state === 'refused' || final.state === 'expired') throw new ExitError('', 1);
      } else if (d.type === 'dataMigration') {
        for (;;) {
          const v = await handle.query(dataStatusQuery);
          out.line(progressLine(v));
          if (['completed', 'failed', 'refused'].includes(v.state)) break;
          await new Promise((r) => setTimeout(r, 2_000));
        }
      } else {
        await handle.result();
        out.ok(`${id} completed`);
      }
      await handle.result();
    } catch (err) {
      const why = describeRunFailure(err);
      if (why) throw new ExitError(`${id} failed: ${why}`, 1);
      throw err;
    }
  } finally {
    await client.connection.close();
  }
}
