// `frameworks cluster status` (SPEC §5, §8; reference §7.2): the library function (start the read-only
// `clusterStatus` workflow on the worker, list the cluster's runs from Temporal visibility) and the thin adapter
// that renders a table or prints JSON. Exit 0 when every replica runs healthy (upgrades may be available),
// 3 when something needs attention, 1 when status itself could not be taken.
import type { Client } from '@temporalio/client';
import Table from 'cli-table3';
import { StatusReportSchema, type ClusterStatusResult, type StatusReport } from '../../contracts/status';
import { resolveSelector } from '../../domain/selector';
import { ExitError, errorMessage } from '../../errors';
import { connectClient, webUiLink, type TemporalTarget } from '../../temporal/connection';
import { taskQueueFor } from '../../temporal/ids';
import { loadClusterContext } from '../context';
import { createOutput, type Output } from '../output';
import { describeRunFailure, newReadOnlyId, operatorName, runSearchAttributes } from '../runs';
import { listRuns } from './runs';
import { ensurePickedUp, noWorkerMessage, NoWorkerError, workerCommand, workerPresence } from '../worker-presence';

export interface StatusOptions {
  manifest?: string;
  version?: string;
  json?: boolean;
  limit?: string;
}

async function runsOf(client: Client, target: TemporalTarget, cluster: string, limit: number, exclude?: string) {
  try {
    const all = (await listRuns(client, target, cluster, limit + 1)).filter((r) => r.workflowId !== exclude);
    const ui = webUiLink(target, 'x')?.replace(/\/x$/, '');
    return {
      inFlight: all.filter((r) => r.status === 'RUNNING'),
      recent: all.filter((r) => r.status !== 'RUNNING').slice(0, limit),
      ...(ui ? { webUi: `${ui}?query=${encodeURIComponent(`FwCluster="${cluster}"`)}` } : {}),
    };
  } catch (err) {
    // Visibility without the FwCluster attribute registered answers with an error: say so, keep the rest.
    return { inFlight: [], recent: [], error: `cannot list runs: ${errorMessage(err)}` };
  }
}

export async function runStatus(opts: StatusOptions): Promise<StatusReport> {
  const ctx = await loadClusterContext(opts.manifest);
  // The channel comes from the cluster.yaml the operator points at (the worker's copy may predate set-channel).
  const selector = opts.version?.trim() || ctx.channel;
  resolveSelector(selector); // a bad --version fails here, before any run starts
  const limit = Number(opts.limit ?? 10);
  if (!Number.isInteger(limit) || limit < 1)
    throw new ExitError(`--limit: expected a positive integer, got "${opts.limit}"`, 2);
  const cluster = ctx.cluster;
  const { client, target } = await connectClient();
  try {
    const taskQueue = taskQueueFor(cluster);
    const presence = await workerPresence(client, cluster);
    let polling = presence.polling;
    let status: ClusterStatusResult | null = null;
    let run: StatusReport['run'];
    let startedId: string | undefined;
    const attention: string[] = [];
    if (polling) {
      const workflowId = newReadOnlyId(cluster, 'status');
      startedId = workflowId;
      const handle = await client.workflow.start('clusterStatus', {
        taskQueue,
        workflowId,
        args: [{ cluster, selector, operator: operatorName() }],
        typedSearchAttributes: runSearchAttributes(cluster, 'status'),
        workflowExecutionTimeout: '5 minutes',
      });
      try {
        await ensurePickedUp(handle, presence, ctx.manifestPath);
        status = (await handle.result()) as ClusterStatusResult;
      } catch (err) {
        // A worker that polled recently but no longer serves: report what visibility knows, not a silent wait.
        if (!(err instanceof NoWorkerError)) {
          const why = describeRunFailure(err);
          if (why) throw new ExitError(`status failed (run ${workflowId}): ${why}`, 1);
          throw err;
        }
        polling = false;
        attention.push(`${err.message}; deployed versions and health are unknown until a worker runs`);
      }
      if (status) {
        const webUi = webUiLink(target, workflowId);
        run = { workflowId, runId: handle.firstExecutionRunId, ...(webUi ? { webUi } : {}) };
        attention.push(...status.attention);
        if (status.workerChannel !== ctx.channel) {
          attention.push(
            `the worker serves ${cluster} with channel ${status.workerChannel} but ${ctx.manifestPath} says ${ctx.channel}: ` +
              `restart it (${workerCommand(ctx.manifestPath)}) so runs without --version follow the file`,
          );
        }
      }
    } else {
      attention.push(`${noWorkerMessage(presence, ctx.manifestPath)}; deployed versions and health are unknown`);
    }
    const runs = await runsOf(client, target, cluster, limit, startedId);
    return StatusReportSchema.parse({
      cluster,
      manifest: ctx.manifestPath,
      worker: { taskQueue, polling, lastPollAt: presence.lastPollAt },
      status,
      runs,
      needsAttention: attention.length > 0,
      attention,
      ...(run ? { run } : {}),
    });
  } finally {
    await client.connection.close();
  }
}

const short = (identity: string | null): string => (identity ? identity.replace(/^sha256:/, '').slice(0, 12) : '-');

export function printStatus(out: Output, report: StatusReport): void {
  const s = report.status;
  out.heading(`Cluster: ${report.cluster} (${report.manifest})`);
  if (s) {
    const t = s.target;
    out.line(
      `Target: ${t.platformVersion ?? 'unknown'} (${t.version === 'latest' ? `head of channel ${t.channel}` : `--version ${s.selector}`})` +
        (t.source ? out.dim(` from ${t.source}`) : ''),
    );
    if (t.error) out.fail(`target release unavailable: ${t.error}`);
    out.line();
    const table = new Table({
      head: ['SERVICE', 'HOST', 'MODE', 'DEPLOYED', 'AVAILABLE', 'HEALTH', 'STATUS'],
      style: { head: [], border: [] },
    });
    for (const r of s.replicas) {
      const available = r.available.version
        ? `${r.available.version} ${out.dim(short(r.available.identity))}${r.available.carriedFrom ? ' (carried)' : ''}`
        : '-';
      table.push([
        r.service,
        r.host,
        r.mode,
        r.deployed.version ? `${r.deployed.version} ${out.dim(short(r.deployed.identity))}` : 'unknown',
        available,
        r.health,
        r.detail ? `${r.state}\n${out.dim(r.detail.length > 60 ? `${r.detail.slice(0, 57)}...` : r.detail)}` : r.state,
      ]);
    }
    out.line(table.toString());
  }
  out.line();
  out.line(report.runs.inFlight.length > 0 ? 'In-flight runs:' : 'In-flight runs: none');
  for (const r of report.runs.inFlight) {
    out.line(
      `  ${r.workflowId}  ${r.operation ?? r.type}  ${r.state ?? ''}  started ${r.startTime} by ${r.operator ?? '?'}`,
    );
    if (r.webUi) out.line(`    ${out.dim(r.webUi)}`);
  }
  if (report.runs.recent.length > 0) {
    out.line('Recent runs:');
    for (const r of report.runs.recent) {
      out.line(
        `  ${r.workflowId}  ${r.operation ?? r.type}  ${r.status}${r.state ? ` (${r.state})` : ''}  ${r.startTime}`,
      );
      if (r.webUi) out.line(`    ${out.dim(r.webUi)}`);
    }
  }
  if (report.runs.error) out.warn(report.runs.error);
  if (report.runs.webUi) out.line(out.dim(`All runs of ${report.cluster}: ${report.runs.webUi}`));
  out.line();
  if (report.needsAttention) {
    for (const a of report.attention) out.fail(a);
  } else {
    out.ok('every replica is running and healthy');
  }
  const steps: { cmd: string; why?: string }[] = [];
  if (!report.worker.polling)
    steps.push({ cmd: workerCommand(report.manifest), why: 'start the worker for this cluster' });
  if (s?.replicas.some((r) => r.upgradeAvailable)) {
    const v = s.target.platformVersion ?? s.selector;
    steps.push({ cmd: `frameworks cluster upgrade plan --version ${v}`, why: 'see what an upgrade would do' });
  }
  if (report.needsAttention) steps.push({ cmd: 'frameworks cluster doctor', why: 'diagnose what needs attention' });
  out.nextSteps(steps);
  if (report.run)
    out.line(out.dim(`\nRun ${report.run.workflowId}${report.run.webUi ? ` — ${report.run.webUi}` : ''}`));
}

export async function statusCommand(opts: StatusOptions, globals: { color?: boolean }): Promise<void> {
  const report = await runStatus(opts);
  const out = createOutput({ color: globals.color !== false });
  if (opts.json) out.json(report);
  else printStatus(out, report);
  if (report.needsAttention) throw new ExitError('', 3);
}
