// `frameworks cluster release [--version] [--yes] [--dry-run]`: the recommended flow as one durable run (SPEC §5).
// Shows every step's plan and gates before the single approval, then follows the steps; Ctrl-C detaches.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { ReleaseProgress } from '../../contracts/release-run';
import { resolveSelector } from '../../domain/selector';
import { ExitError } from '../../errors';
import { connectClient, webUiLink, type TemporalTarget } from '../../temporal/connection';
import { ORCHESTRATOR_VERSION } from '../../version';
import {
  dataStatusQuery,
  releaseApproveUpdate,
  releaseCancelUpdate,
  releaseProgressQuery,
} from '../../workflows/messages';
import { loadClusterContext } from '../context';
import { parseParallel } from './upgrade';
import { askApproval, follow, readProgress } from '../follow';
import { createOutput, gateDetail, type Output } from '../output';
import { canPrompt } from '../prompt';
import {
  describeRunFailure,
  healthOverrides,
  operatorName,
  requireWorker,
  runSearchAttributes,
  startChange,
} from '../runs';

export interface ReleaseOptions {
  manifest?: string;
  version?: string;
  yes?: boolean;
  dryRun?: boolean;
  batchSize?: string;
  unsafeAllowUnknownVersion?: boolean;
  allowDowngrade?: boolean;
  parallel?: string;
  detach?: boolean;
  json?: boolean;
}

const TERMINAL = new Set(['completed', 'failed', 'refused', 'dry-run', 'cancelled', 'expired']);
const MARK: Record<string, string> = {
  pending: '·',
  running: '…',
  completed: '✓',
  'nothing-to-do': '=',
  failed: '✗',
};

export function renderReleaseProgress(p: ReleaseProgress, link?: (id: string) => string | undefined): string[] {
  const lines: string[] = [];
  if (p.target) lines.push(`Release ${p.cluster} → ${p.target}`);
  for (const c of p.checks) {
    lines.push(
      `[gate] ${c.step}: ${c.label}: ${c.status === 'pass' ? 'ok' : c.status.toUpperCase()} — ${gateDetail(c.detail)}`,
    );
    if (c.status === 'refuse' && c.fix) lines.push(`         fix: ${c.fix}`);
  }
  for (const w of p.warnings) lines.push(`WARNING: ${w}`);
  if (p.state === 'dry-run' || p.state === 'awaiting-approval' || p.state === 'refused') {
    lines.push('Plan:');
    p.steps.forEach((s, i) => lines.push(`  ${i + 1}. ${s.name}: ${s.summary}`));
    for (const x of p.preview) lines.push(`     ${x}`);
    lines.push('  (contract migrations stay a separate step: frameworks cluster migrate --phase contract --yes)');
  }
  for (const s of p.steps) {
    if (s.status === 'pending') continue;
    const url = s.workflowId ? link?.(s.workflowId) : undefined;
    lines.push(`  ${MARK[s.status] ?? '?'} ${s.name}: ${s.status}${s.status === 'running' ? '' : ` — ${s.summary}`}`);
    if (s.status === 'running' && s.workflowId) {
      lines.push(`      run ${s.workflowId}${url ? ` — ${url}` : ''}`);
    }
    if (s.error) lines.push(`      ${s.error}`);
  }
  for (const d of p.dataMigrations) {
    if (d.status === 'running' || d.status === 'completed' || d.status === 'failed') {
      lines.push(
        `      data migration ${d.key}: ${d.status}${d.detail && d.status !== 'running' ? ` — ${d.detail}` : ''}`,
      );
    }
  }
  return lines;
}

/** A coarse progress line for a running data migration (every 10%, so follow() prints it a few times only). */
async function dataLine(client: Client, p: ReleaseProgress): Promise<string[]> {
  const d = p.dataMigrations.find((x) => x.status === 'running');
  if (!d) return [];
  try {
    const v = await client.workflow.getHandle(d.workflowId).query(dataStatusQuery);
    if (v.state === 'paused') {
      return [`      ${d.key}: paused — resume with: frameworks cluster data-migrate resume ${d.key}`];
    }
    if (!v.estimatedTotal) return [];
    const pct = Math.min(100, Math.floor((v.totals.scanned / v.estimatedTotal) * 10) * 10);
    return [`      ${d.key}: ${pct}% of ~${v.estimatedTotal} rows`];
  } catch {
    return [];
  }
}

export async function releaseCommand(opts: ReleaseOptions, globals: { color?: boolean }): Promise<void> {
  const out: Output = createOutput({ color: globals.color !== false });
  const ctx = await loadClusterContext(opts.manifest);
  const cluster = ctx.cluster;
  const selector = opts.version ?? '';
  if (selector.trim() !== '') {
    const implied = resolveSelector(selector).channel;
    if (implied !== ctx.channel) {
      process.stderr.write(`Warning: cluster channel is "${ctx.channel}" but releasing from "${implied}"\n`);
    }
  }
  let batchSize = 1000;
  if (opts.batchSize !== undefined) {
    batchSize = Number(opts.batchSize);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1_000_000) {
      throw new ExitError(
        `--batch-size must be an integer from 1 to 1000000 (got ${JSON.stringify(opts.batchSize)})`,
        2,
      );
    }
  }
  const parallel = parseParallel(opts.parallel);
  if (!opts.yes && !opts.dryRun && !opts.detach && !canPrompt()) {
    throw new ExitError('no terminal to ask for approval on: pass --yes to approve, or --dry-run to preview', 1);
  }
  const { client, target } = await connectClient();
  try {
    await requireWorker(client, cluster, ctx.manifestPath);
    const { handle, workflowId } = await startChange(client, target, {
      cluster,
      workflowType: 'release',
      dryRunOperation: 'release-dry-run',
      dryRun: opts.dryRun ?? false,
      args: [
        {
          cluster,
          selector,
          cliVersion: ORCHESTRATOR_VERSION,
          dryRun: opts.dryRun ?? false,
          approved: opts.yes ?? false,
          operator: operatorName(),
          batchSize,
          ...(opts.unsafeAllowUnknownVersion ? { unsafeAllowUnknownVersion: true } : {}),
          ...(opts.allowDowngrade ? { allowDowngrade: true } : {}),
          ...(parallel > 1 ? { parallel } : {}),
          ...healthOverrides(),
        },
      ],
      typedSearchAttributes: runSearchAttributes(cluster, 'release'),
    });
    const link = webUiLink(target, workflowId);
    if (!opts.json) out.line(out.dim(`Run ${workflowId}${link ? ` — ${link}` : ''}`));
    if (opts.detach) {
      if (opts.json) out.json({ workflowId, runId: handle.firstExecutionRunId, webUi: link });
      else out.line(`Started; follow it with: frameworks cluster runs watch ${workflowId}`);
      return;
    }
    const final = await followRelease(client, target, handle, workflowId, opts, out, cluster);
    if (opts.json) out.json({ ...final, run: { workflowId, webUi: link } });
    if (final.state === 'completed') {
      out.ok(`${cluster} released to ${final.target}: expand, upgrade, data migrations and postdeploy done`);
      out.nextSteps([
        { cmd: 'frameworks cluster status' },
        {
          cmd: `frameworks cluster migrate --phase contract --to-version ${final.target} --yes`,
          why: 'once every service runs the new version and nothing reads the old shapes',
        },
      ]);
    } else if (final.state === 'dry-run') {
      out.ok(`Dry-run complete: every step's gates pass for ${final.target}; nothing changed.`);
      out.nextSteps([{ cmd: `frameworks cluster release --version ${final.target}` }]);
    } else if (final.state === 'refused') {
      out.fail(`release to ${final.target} refused before anything changed`);
      throw new ExitError('', 1);
    } else if (final.state === 'expired' || final.state === 'cancelled') {
      throw new ExitError(`release ${final.state}; nothing changed`, 1);
    }
  } finally {
    await client.connection.close();
  }
}

/** Follows a release run to its end (also `runs watch` of one): steps, child links, data-migration progress. */
export async function followRelease(
  client: Client,
  target: TemporalTarget,
  handle: WorkflowHandle,
  workflowId: string,
  opts: ReleaseOptions,
  out: Output,
  cluster: string,
): Promise<ReleaseProgress> {
  const linkOf = (id: string): string | undefined => webUiLink(target, id);
  type View = ReleaseProgress & { live: string[] };
  let final: View;
  try {
    final = await follow<View>({
      handle,
      query: async () => {
        const p = await readProgress(handle, () => handle.query(releaseProgressQuery), TERMINAL);
        return { ...p, live: TERMINAL.has(p.state) ? [] : await dataLine(client, p) };
      },
      render: (p) => (opts.json ? [] : [...renderReleaseProgress(p, linkOf), ...p.live]),
      done: (p) => TERMINAL.has(p.state),
      waiting: (p) => p.state === 'awaiting-approval',
      onWaiting: (p) =>
        askApproval(
          handle,
          p,
          `Release ${cluster} to ${p.target} (expand → upgrade --all → data migrations → postdeploy)?`,
          { approve: releaseApproveUpdate, cancel: releaseCancelUpdate },
          out,
        ),
      reattach: `frameworks cluster runs watch ${workflowId}`,
    });
  } catch (err) {
    const why = describeRunFailure(err);
    if (why) throw new ExitError(`release failed (run ${workflowId}): ${why}`, 1);
    throw err;
  }
  const { live: _live, ...progress } = final;
  if (progress.state === 'failed') {
    const why = await handle.result().then(
      () => progress.error,
      (err: unknown) => describeRunFailure(err) ?? progress.error,
    );
    if (opts.json) out.json({ ...progress, run: { workflowId, webUi: webUiLink(target, workflowId) } });
    throw new ExitError(`release failed (run ${workflowId}): ${why ?? 'unknown'}`, 1);
  }
  if (progress.state !== 'completed') return progress;
  return (await handle.result()) as ReleaseProgress;
}
