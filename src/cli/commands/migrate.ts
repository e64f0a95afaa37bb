// `frameworks cluster migrate --phase P [--to-version T] [--dry-run] [--yes]`: starts `schemaMigrate` on the
// cluster's change lock, shows the gates and pending migrations, asks for approval (unless --yes), and follows
// the run until it ends. Ctrl-C detaches.
import type { Phase } from '../../contracts/migrations';
import type { SchemaMigrateProgress } from '../../contracts/schema-migrate';
import { validateVersion } from '../../contracts/version';
import { ExitError } from '../../errors';
import { connectClient, webUiLink } from '../../temporal/connection';
import { approveUpdate, cancelUpdate, migrateProgressQuery } from '../../workflows/messages';
import { loadClusterContext } from '../context';
import { askApproval, follow } from '../follow';
import { createOutput, gateDetail, type Output } from '../output';
import { canPrompt } from '../prompt';
import { describeRunFailure, operatorName, requireWorker, runSearchAttributes, startChange } from '../runs';

export interface MigrateOptions {
  manifest?: string;
  phase: Phase;
  toVersion?: string;
  dryRun?: boolean;
  yes?: boolean;
  detach?: boolean;
  json?: boolean;
  skipDataMigrationCheck?: boolean;
}

const MARK: Record<string, string> = {
  pending: '·',
  applying: '…',
  applied: '✓',
  'already-applied': '=',
  failed: '✗',
};

export function renderMigrateProgress(p: SchemaMigrateProgress): string[] {
  const lines: string[] = [];
  if (p.target) lines.push(`Target version: ${p.target} (phase: ${p.phase})`);
  for (const c of p.checks) {
    lines.push(
      `[gate] ${c.label}: ${c.status === 'pass' ? 'ok' : c.status.toUpperCase()} — ${gateDetail(c.detail).split('\n')[0]}`,
    );
    for (const extra of c.detail.split('\n').slice(1)) lines.push(`         ${extra}`);
    if (c.status === 'refuse' && c.fix) lines.push(`         fix: ${c.fix}`);
  }
  for (const w of p.warnings) lines.push(`WARNING: ${w}`);
  if (p.planHash && p.state !== 'refused') {
    lines.push(
      p.migrations.length === 0
        ? `No pending ${p.phase} migrations at or below ${p.target} (${p.alreadyApplied} already applied).`
        : `${p.migrations.length} pending ${p.phase} migration(s) (${p.alreadyApplied} already applied):`,
    );
  }
  for (const m of p.migrations) {
    const name = `${m.database}/${m.version}/${m.phase}/${m.filename}`;
    if (m.status === 'pending' || p.state === 'dry-run' || p.state === 'awaiting-approval') {
      lines.push(`  - ${name} (${m.transactional ? 'tx' : 'notx'})`);
      if (p.state === 'dry-run' || p.state === 'awaiting-approval') {
        for (const l of m.preview ?? []) lines.push(`      ${l}`);
      }
    } else {
      const took = m.durationMs !== undefined ? ` (${m.durationMs} ms)` : '';
      lines.push(`  ${MARK[m.status]} ${m.status} ${name}${took}${m.error ? `: ${m.error}` : ''}`);
    }
  }
  return lines;
}

const TERMINAL = new Set(['completed', 'failed', 'refused', 'dry-run', 'cancelled', 'expired']);

export async function migrateCommand(opts: MigrateOptions, globals: { color?: boolean }): Promise<void> {
  const out = createOutput({ color: globals.color !== false });
  const ctx = await loadClusterContext(opts.manifest);
  const cluster = ctx.cluster;
  const toVersion = opts.toVersion ? validateVersion(opts.toVersion, '--to-version') : '';
  if (opts.phase === 'contract' && !opts.yes && !opts.dryRun) {
    throw new ExitError(
      'contract migrations require --yes: they drop old columns and tables and are not a normal rollback point.\n' +
        'Preview first: frameworks cluster migrate --phase contract --dry-run',
      1,
    );
  }
  if (!opts.yes && !opts.dryRun && !opts.detach && !canPrompt()) {
    throw new ExitError('no terminal to ask for approval on: pass --yes to approve, or --dry-run to preview', 1);
  }

  const { client, target } = await connectClient();
  try {
    await requireWorker(client, cluster, ctx.manifestPath);
    const { handle, workflowId } = await startChange(client, target, {
      cluster,
      workflowType: 'schemaMigrate',
      dryRunOperation: 'migrate-dry-run',
      dryRun: opts.dryRun ?? false,
      args: [
        {
          cluster,
          phase: opts.phase,
          toVersion,
          dryRun: opts.dryRun ?? false,
          approved: opts.yes ?? false,
          skipDataMigrationCheck: opts.skipDataMigrationCheck ?? false,
          operator: operatorName(),
        },
      ],
      typedSearchAttributes: runSearchAttributes(cluster, `migrate-${opts.phase}`),
    });
    const link = webUiLink(target, workflowId);
    if (!opts.json) out.line(out.dim(`Run ${workflowId}${link ? ` — ${link}` : ''}`));
    if (opts.detach) {
      if (opts.json) out.json({ workflowId, runId: handle.firstExecutionRunId, webUi: link });
      return;
    }
    const final = await follow<SchemaMigrateProgress>({
      handle,
      query: () => handle.query(migrateProgressQuery),
      render: (p) => (opts.json ? [] : renderMigrateProgress(p)),
      done: (p) => TERMINAL.has(p.state),
      waiting: (p) => p.state === 'awaiting-approval',
      onWaiting: (p) =>
        askApproval(
          handle,
          p,
          `Apply ${p.migrations.length} ${p.phase} migration(s) to ${cluster} (target ${p.target})?`,
          { approve: approveUpdate, cancel: cancelUpdate },
          out,
        ),
      reattach: `frameworks cluster runs watch ${workflowId}`,
    }).catch((err: unknown) => {
      // A failed run ends the query loop with the run's own error.
      const why = describeRunFailure(err);
      if (why) throw new ExitError(`migrate failed (run ${workflowId}): ${why}`, 1);
      throw err;
    });
    let result = final;
    if (final.state === 'failed') {
      try {
        await handle.result();
      } catch (err) {
        const why = describeRunFailure(err) ?? final.error ?? 'failed';
        throw new ExitError(`migrate failed (run ${workflowId}): ${why}`, 1);
      }
    }
    if (TERMINAL.has(final.state)) result = (await handle.result()) as SchemaMigrateProgress;
    if (opts.json) out.json({ ...result, run: { workflowId, webUi: link } });
    else printOutcome(out, result);
    if (result.state === 'refused' || result.state === 'expired') throw new ExitError('', 1);
  } finally {
    await client.connection.close();
  }
}

function printOutcome(out: Output, p: SchemaMigrateProgress): void {
  switch (p.state) {
    case 'refused':
      out.fail(`migrate --phase ${p.phase} refused before anything changed`);
      return;
    case 'dry-run':
      out.ok(`Dry-run complete: ${p.migrations.length} migration(s) would run; nothing was written.`);
      out.nextSteps([{ cmd: `frameworks cluster migrate --phase ${p.phase} --to-version ${p.target}` }]);
      return;
    case 'expired':
      out.fail('the run expired waiting for approval; nothing was applied');
      return;
    case 'cancelled':
      return;
    default: {
      const applied = p.migrations.filter((m) => m.status === 'applied').length;
      if (p.migrations.length === 0) {
        out.ok(`No pending ${p.phase} migrations across configured databases at or below ${p.target}.`);
      } else {
        out.ok(`Migrations applied: ${applied} of ${p.migrations.length} ${p.phase} migration(s).`);
      }
      out.nextSteps(
        p.phase === 'expand'
          ? [
              { cmd: 'frameworks cluster status' },
              {
                cmd: `frameworks cluster upgrade --all --version ${p.target} --dry-run`,
                why: 'deploy binaries that use the expanded schema',
              },
            ]
          : [{ cmd: 'frameworks cluster status' }],
      );
    }
  }
}
