// `frameworks cluster release [--version] [--yes] [--dry-run]`: the recommended flow as one durable run (SPEC §5).
// Shows every step's plan and gates before the single approval, then follows the steps; Ctrl-C detaches.
import type { Client } from '@temporalio/client';
import type { ReleaseProgress } from '../../contracts/release-run';
import { ExitError } from '../../errors';
import { ORCHESTRATOR_VERSION } from '../../version';
import { dataStatusQuery, releaseMessages } from '../../workflows/messages';
import { parseParallel } from './upgrade';
import { gateDetail } from '../output';
import { runChange, type ChangeView } from '../run-change';
import { healthOverrides, parseBatchSize, warnOtherChannel } from '../runs';

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

export const releaseView: ChangeView<ReleaseProgress> = {
  name: 'release',
  workflowType: 'release',
  messages: releaseMessages,
  render: renderReleaseProgress,
  question: (p) => `Release ${p.cluster} to ${p.target} (expand → upgrade --all → data migrations → postdeploy)?`,
  live: dataLine,
};

export async function releaseCommand(opts: ReleaseOptions, globals: { color?: boolean }): Promise<void> {
  const selector = opts.version ?? '';
  const batchSize = parseBatchSize(opts.batchSize);
  const parallel = parseParallel(opts.parallel);
  await runChange(
    {
      view: releaseView,
      flags: opts,
      input: (ctx) => {
        warnOtherChannel(selector, ctx.channel, 'releasing from');
        return {
          selector,
          cliVersion: ORCHESTRATOR_VERSION,
          batchSize,
          ...(opts.unsafeAllowUnknownVersion ? { unsafeAllowUnknownVersion: true } : {}),
          ...(opts.allowDowngrade ? { allowDowngrade: true } : {}),
          ...(parallel > 1 ? { parallel } : {}),
          ...healthOverrides(),
        };
      },
      outcome: (final, out) => {
        if (final.state === 'completed') {
          out.ok(`${final.cluster} released to ${final.target}: expand, upgrade, data migrations and postdeploy done`);
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
        } else if (final.state === 'expired' || final.state === 'cancelled') {
          throw new ExitError(`release ${final.state}; nothing changed`, 1);
        }
      },
    },
    globals,
  );
}
