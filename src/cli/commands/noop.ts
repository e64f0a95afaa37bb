// `frameworks cluster noop` (for tests): a change run that changes nothing, on the same lifecycle as every mutating
// command — change lock, gates, approval of the plan hash, follow, exit codes. It is also the template for a new
// mutating command: this spec, one contract (src/contracts/noop.ts) and one workflow on changeRun
// (src/workflows/noop.ts).
import type { NoopProgress } from '../../contracts/noop';
import { noopMessages } from '../../workflows/messages';
import { gateLines } from '../output';
import { runChange, type ChangeFlags, type ChangeView } from '../run-change';
import { UsageError } from '../../errors';

export interface NoopOptions extends ChangeFlags {
  /** Comma-separated step names. */
  steps?: string;
  /** Make the noop gate refuse with this reason. */
  refuse?: string;
}

export function renderNoopProgress(p: NoopProgress): string[] {
  const lines = gateLines(p.checks);
  if (p.state === 'dry-run' || p.state === 'awaiting-approval') {
    lines.push(`${p.steps.length} step(s): ${p.steps.map((s) => s.name).join(', ')}`);
  }
  for (const s of p.steps) if (s.status === 'done') lines.push(`  ✓ ${s.name}: done`);
  return lines;
}

export const noopView: ChangeView<NoopProgress> = {
  name: 'noop',
  workflowType: 'noop',
  messages: noopMessages,
  render: renderNoopProgress,
  question: (p) => `Run ${p.steps.length} noop step(s) on ${p.cluster}?`,
};

/** --steps: comma-separated non-empty names. */
export function parseSteps(raw: string | undefined): string[] {
  if (raw === undefined) return ['one'];
  const steps = raw.split(',').map((s) => s.trim());
  if (steps.some((s) => s === '')) throw new UsageError(`--steps must be comma-separated names, got "${raw}"`);
  return steps;
}

export async function noopCommand(opts: NoopOptions, globals: { color?: boolean }): Promise<void> {
  const steps = parseSteps(opts.steps);
  await runChange(
    {
      view: noopView,
      flags: opts,
      input: () => ({ steps, ...(opts.refuse !== undefined ? { refuse: opts.refuse } : {}) }),
      outcome: (p, out) => {
        if (p.state === 'completed') out.ok(`noop: ${p.steps.length} step(s) done; nothing changed`);
        else if (p.state === 'dry-run') out.ok(`Dry-run complete: ${p.steps.length} step(s) would run`);
        else if (p.state === 'refused') out.fail('noop refused');
      },
    },
    globals,
  );
}
