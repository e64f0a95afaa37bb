// `frameworks cluster rollback <run-id>`: reverts what a finished upgrade or release run changed. Reads the run's
// record from Temporal (run-record.ts), starts `clusterRollback` on the change lock, shows the plan and every gate
// before the prompt, then follows it per service and host. Ctrl-C detaches. The start/follow/approve lifecycle is
// runChange's (src/cli/run-change.ts); this file is the rollback's own input and rendering.
import type { ClusterRollbackProgress } from '../../contracts/rollback';
import type { HostOutcome } from '../../contracts/upgrade';
import { deployedServices } from '../../domain/frameworks/deployed';
import { ExitError } from '../../errors';
import { ORCHESTRATOR_VERSION } from '../../version';
import { clusterRollbackMessages } from '../../workflows/messages';
import { gateDetail } from '../output';
import { runChange, type ChangeFlags, type ChangeView } from '../run-change';
import { laterRuns, readRunRecord } from '../run-record';
import { healthOverrides } from '../runs';

export interface RollbackOptions extends ChangeFlags {
  exclude?: string[];
}

const MARK: Record<string, string> = { pending: '·', 'rolling-back': '…', 'rolled-back': '↩', failed: '✗' };

/** One host of a rollback step: the child reports a move to the pre-run release as its `upgraded`. */
export function hostBack(h: HostOutcome): string {
  switch (h.action) {
    case 'upgraded':
    case 'reloaded':
      return `reverted (${h.from ?? 'unknown'} → ${h.to})`;
    case 'skipped':
      return `already at ${h.to}, untouched`;
    case 'started':
      return `was stopped at ${h.to}; started`;
    case 'rolled-back':
      return `${h.to} did not get healthy; back on ${h.from ?? 'what it ran'}`;
    case 'rollback-failed':
      return `${h.to} did not get healthy and ${h.from ?? 'what it ran'} could not be restored`;
    case 'failed':
      return `failed: the move to ${h.to} did not complete`;
    default:
      return h.action;
  }
}

export function renderRollbackProgress(p: ClusterRollbackProgress): string[] {
  const lines: string[] = [];
  const order = [...new Set(p.steps.map((s) => s.service))];
  if (p.runId) {
    const n = p.steps.reduce((k, s) => k + s.hosts.length, 0);
    lines.push(
      `Rolling back run ${p.runId} (${p.target || 'unknown target'}): ${n} replica(s)${order.length ? `: ${order.join(' -> ')}` : ''}`,
    );
  }
  for (const c of p.checks) {
    lines.push(
      `[gate] ${c.label}: ${c.status === 'pass' ? 'ok' : c.status.toUpperCase()} — ${gateDetail(c.detail).split('\n')[0]}`,
    );
    for (const extra of c.detail.split('\n').slice(1)) lines.push(`         ${extra}`);
    if (c.status === 'refuse' && c.fix) lines.push(`         fix: ${c.fix}`);
  }
  for (const w of p.warnings) lines.push(`WARNING: ${w}`);
  if (p.state === 'dry-run' || p.state === 'awaiting-approval') {
    for (const x of p.preview) lines.push(`  ${x.line}`);
    if (p.migrations.note) lines.push(`  Schema and data: ${p.migrations.note}`);
    for (const m of p.migrations.stayApplied) lines.push(`    stays applied: ${m}`);
  }
  for (const s of p.services) {
    if (s.status === 'pending') continue;
    lines.push(`  ${MARK[s.status] ?? '?'} ${s.service}: ${s.status}`);
    for (const r of s.results) {
      for (const h of r.hosts)
        lines.push(`      ${s.service} on ${h.host}: ${hostBack(h)}${h.detail ? ` — ${h.detail}` : ''}`);
    }
  }
  return lines;
}

const replicaCount = (p: ClusterRollbackProgress): number => p.steps.reduce((k, s) => k + s.hosts.length, 0);

export const rollbackView: ChangeView<ClusterRollbackProgress> = {
  name: 'rollback',
  workflowType: 'clusterRollback',
  messages: clusterRollbackMessages,
  render: renderRollbackProgress,
  question: (p) => `Roll back ${replicaCount(p)} replica(s) of ${p.cluster} moved by run ${p.runId}?`,
};

export async function rollbackCommand(
  runId: string,
  opts: RollbackOptions,
  globals: { color?: boolean },
): Promise<void> {
  const exclude = opts.exclude ?? [];
  await runChange(
    {
      view: rollbackView,
      flags: opts,
      input: (ctx) => {
        const known = deployedServices(ctx.settings.fw);
        const unknown = exclude.filter((s) => !known.includes(s));
        if (unknown.length > 0) {
          throw new ExitError(
            `--exclude: unknown service(s) ${unknown.join(', ')}: ${ctx.manifestPath} deploys ${known.join(', ')}`,
            2,
          );
        }
        return { exclude, cliVersion: ORCHESTRATOR_VERSION, ...healthOverrides() };
      },
      // The rollback's own input: the run's record and the change runs of the cluster since it closed.
      read: async (client, ctx) => {
        const record = await readRunRecord(client, ctx.cluster, runId);
        const later = record.closedAt ? await laterRuns(client, ctx.cluster, record.closedAt, runId) : [];
        return { record, later };
      },
      outcome: (p, out) => {
        if (p.state === 'completed') {
          const n = p.summary?.reverted.length ?? 0;
          out.ok(
            n > 0 ? `${n} service(s) back where run ${runId} found them` : `nothing to roll back for run ${runId}`,
          );
          out.nextSteps([{ cmd: 'frameworks cluster status' }]);
        } else if (p.state === 'dry-run') {
          out.ok('Dry-run complete: the rollback passed its gates; nothing changed.');
        } else if (p.state === 'refused') {
          out.fail(`rollback of run ${runId} refused before any host changed`);
        }
      },
    },
    globals,
  );
}
