// `frameworks cluster migrate --phase P [--to-version T] [--dry-run] [--yes]`: starts `schemaMigrate` on the
// cluster's change lock, shows the gates and pending migrations, asks for approval (unless --yes), and follows
// the run until it ends. Ctrl-C detaches.
import type { Phase } from '../../contracts/migrations';
import type { SchemaMigrateProgress } from '../../contracts/schema-migrate';
import { validateVersion } from '../../contracts/version';
import { ExitError } from '../../errors';
import { schemaMigrateMessages } from '../../workflows/messages';
import { gateLines, type Output } from '../output';
import { runChange, type ChangeView } from '../run-change';

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
  lines.push(...gateLines(p.checks));
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

export const migrateView: ChangeView<SchemaMigrateProgress> = {
  name: 'migrate',
  workflowType: 'schemaMigrate',
  messages: schemaMigrateMessages,
  render: renderMigrateProgress,
  question: (p) => `Apply ${p.migrations.length} ${p.phase} migration(s) to ${p.cluster} (target ${p.target})?`,
};

export async function migrateCommand(opts: MigrateOptions, globals: { color?: boolean }): Promise<void> {
  const toVersion = opts.toVersion ? validateVersion(opts.toVersion, '--to-version') : '';
  if (opts.phase === 'contract' && !opts.yes && !opts.dryRun) {
    throw new ExitError(
      'contract migrations require --yes: they drop old columns and tables and are not a normal rollback point.\n' +
        'Preview first: frameworks cluster migrate --phase contract --dry-run',
      1,
    );
  }
  await runChange(
    {
      view: migrateView,
      flags: opts,
      operation: `migrate-${opts.phase}`,
      input: () => ({
        phase: opts.phase,
        toVersion,
        skipDataMigrationCheck: opts.skipDataMigrationCheck ?? false,
      }),
      outcome: printOutcome,
    },
    globals,
  );
}

function printOutcome(p: SchemaMigrateProgress, out: Output): void {
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
