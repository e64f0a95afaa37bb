// `frameworks cluster upgrade plan`: library function (start the read-only workflow, return the plan) plus the
// thin adapter that renders it (reference §1.2 layout) or prints JSON.
import { ORCHESTRATOR_VERSION } from '../../version';
import { UpgradePlanReportSchema, type UpgradePlanReport } from '../../contracts/plan';
import { resolveSelector } from '../../domain/selector';
import { describeWaves } from '../../domain/waves';
import { ExitError } from '../../errors';
import { connectClient, webUiLink } from '../../temporal/connection';
import { taskQueueFor } from '../../temporal/ids';
import { loadClusterContext } from '../context';
import { createOutput, gateDetail, type Output } from '../output';
import { describeRunFailure, newReadOnlyId, operatorName, runSearchAttributes } from '../runs';
import { ensurePickedUp, NoWorkerError, requirePresence } from '../worker-presence';

export interface UpgradePlanOptions {
  manifest?: string;
  version?: string;
  json?: boolean;
  unsafeIgnoreCliVersionFloor?: boolean;
}

export async function runUpgradePlan(opts: UpgradePlanOptions): Promise<UpgradePlanReport> {
  const ctx = await loadClusterContext(opts.manifest);
  const selector = opts.version ?? '';
  if (selector.trim() !== '') resolveSelector(selector); // bad selectors fail here, before any run starts
  const cluster = ctx.cluster;
  const { client, target } = await connectClient();
  try {
    const presence = await requirePresence(client, cluster, ctx.manifestPath);
    const workflowId = newReadOnlyId(cluster, 'plan');
    const handle = await client.workflow.start('upgradePlan', {
      taskQueue: taskQueueFor(cluster),
      workflowId,
      args: [
        {
          cluster,
          selector,
          cliVersion: ORCHESTRATOR_VERSION,
          unsafeIgnoreCliVersionFloor: opts.unsafeIgnoreCliVersionFloor ?? false,
          operator: operatorName(),
        },
      ],
      typedSearchAttributes: runSearchAttributes(cluster, 'upgrade-plan'),
      workflowExecutionTimeout: '10 minutes',
    });
    let plan: unknown;
    try {
      await ensurePickedUp(handle, presence, ctx.manifestPath);
      plan = await handle.result();
    } catch (err) {
      if (err instanceof NoWorkerError) throw err;
      const why = describeRunFailure(err);
      if (why) throw new ExitError(`upgrade plan failed (run ${workflowId}): ${why}`, 1);
      throw err;
    }
    const webUi = webUiLink(target, workflowId);
    return UpgradePlanReportSchema.parse({
      ...(plan as object),
      run: { workflowId, runId: handle.firstExecutionRunId, ...(webUi ? { webUi } : {}) },
    });
  } finally {
    await client.connection.close();
  }
}

const STATUS_WORD: Record<string, string> = {
  pass: 'ok',
  refuse: 'REFUSE',
  bypassed: 'BYPASSED',
  'not-checked': 'not checked here',
};

export function printUpgradePlan(out: Output, report: UpgradePlanReport): void {
  out.heading(`Upgrade plan (channel: ${report.clusterChannel}, version: ${report.selector || report.clusterChannel})`);
  out.line(
    `Release ${report.platformVersion} (commit ${report.release.gitCommit.slice(0, 12)}, released ${report.release.releaseDate})`,
  );
  out.line(
    `  from ${report.release.path}${report.release.fromCache ? ` (cache${report.release.stale ? ', STALE' : ''})` : ''}`,
  );
  for (const w of report.warnings) out.warn(w);
  out.line();
  out.line(report.order.length > 0 ? `Services: ${report.order.join(' -> ')}` : 'Services: none found in manifest');
  for (const e of report.excluded) out.line(out.dim(`  excluded: ${e.service} — ${e.reason}`));
  if (report.waves.length > 0) {
    out.line('Waves (services of one wave may upgrade at once with --parallel N):');
    for (const w of describeWaves({ waves: report.waves }, Infinity)) out.line(`  ${w}`);
  }
  out.line();
  out.line('Target identities:');
  for (const t of report.targets) {
    const name = `  ${t.service.padEnd(20)} `;
    const pad = ' '.repeat(name.length);
    const carried = t.carriedFrom ? `  [carried from ${t.carriedFrom}: keeps ${t.version}, not re-pulled]` : '';
    if (t.mode === 'docker') {
      out.line(`${name}docker: ${t.imageRef ?? '(unresolved)'}${carried}`);
    } else if (t.artifacts.length === 0) {
      out.line(`${name}native: no native binary${carried}`);
    } else {
      t.artifacts.forEach((a, i) => {
        out.line(
          `${i === 0 ? name : pad}native ${a.arch}: ${a.url ?? '(no url)'} (${a.checksum ?? 'no checksum'})${i === 0 ? carried : ''}`,
        );
      });
    }
    out.line(`${pad}${out.dim(`version ${t.version ?? '?'} on ${t.hosts.join(', ')}`)}`);
    for (const p of t.problems) out.line(`${pad}✗ ${p}`);
  }
  out.line();
  out.line('Automatic rollback on a failed health check:');
  if (report.rollbackDisabled.length === 0) out.line('  on for every service');
  for (const r of report.rollbackDisabled) out.line(`  off for ${r.service} — ${r.reason}`);
  out.line();
  if (!report.migrations) {
    out.line('PostgreSQL/YugabyteDB migrations: no databases configured in cluster.yaml');
  } else {
    out.line(`PostgreSQL/YugabyteDB migrations (up to ${report.platformVersion}):`);
    for (const phase of ['expand', 'postdeploy', 'contract'] as const) {
      const list = report.migrations[phase];
      out.line(list.length === 0 ? `  ${phase}: none` : `  ${phase}:`);
      for (const m of list)
        out.line(`    - ${m.database}/${m.version}/${m.filename} (${m.transactional ? 'tx' : 'notx'})`);
    }
  }
  out.line();
  out.line('Checks:');
  for (const c of report.checks) {
    out.line(`  [gate] ${c.label}: ${STATUS_WORD[c.status]} — ${gateDetail(c.detail)}`);
    if (c.fix) out.line(`         fix: ${c.fix}`);
  }
  out.line();
  if (report.refused) {
    out.fail(`an upgrade to ${report.platformVersion} would be refused: fix the checks marked REFUSE first`);
  }
  out.line('Suggested flow:');
  report.suggestedFlow.forEach((cmd, i) => out.line(`  ${i + 1}. ${cmd}`));
  out.line();
  out.line(out.dim(`Run ${report.run.workflowId}${report.run.webUi ? ` — ${report.run.webUi}` : ''}`));
}

export async function upgradePlanCommand(opts: UpgradePlanOptions, globals: { color?: boolean }): Promise<void> {
  const report = await runUpgradePlan(opts);
  const out = createOutput({ color: globals.color !== false });
  if (opts.json) out.json(report);
  else printUpgradePlan(out, report);
  if (report.refused) throw new ExitError('', 1);
}
