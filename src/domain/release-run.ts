// Pure decisions of the `release` run (src/workflows/release*.ts), tested by value: whether a required data
// migration can be taken from its live state, the step summaries and approval lines built from the steps' dry-runs,
// and what a child run that did not complete is reported as.
import type { ReleaseDataMigration, ReleaseProgress, ReleaseStep } from '../contracts/release-run';
import type { LiveState } from './data-migrations/gates';

/** A data migration's live state in words, and whether the release can take it from there. */
export function judgeLiveState(live: LiveState | undefined): { ok: boolean; detail: string; completed: boolean } {
  if (!live) return { ok: false, completed: false, detail: 'no state reported' };
  switch (live.kind) {
    case 'status':
      if (live.status === 'completed') return { ok: true, completed: true, detail: 'already completed' };
      if (live.status === 'paused') {
        return { ok: false, completed: false, detail: 'paused by an operator: resume it first (data-migrate resume)' };
      }
      return { ok: true, completed: false, detail: `${live.status}: this run continues it from its checkpoint` };
    case 'missing_table':
      return { ok: true, completed: false, detail: 'not started (no state table yet): this run starts it' };
    case 'not_adopted':
      return { ok: false, completed: false, detail: 'the service does not implement the data-migration protocol' };
    case 'not_registered':
      return { ok: false, completed: false, detail: 'the service does not know this migration id' };
    case 'fetch_error':
      return { ok: false, completed: false, detail: `state unreadable: ${live.error}` };
  }
}

interface MigrationsPlan {
  alreadyApplied: number;
  migrations: { relPath: string; transactional: boolean }[];
}

/** What the steps' dry-runs found: each step's summary and the approval prompt's lines, in step order. */
export function releasePlanText(f: {
  target: string;
  expand: MigrationsPlan;
  upgrade: { order: string[]; preview: { line: string }[] };
  postdeploy: MigrationsPlan;
  dataMigrations: ReleaseDataMigration[];
}): { summaries: Record<ReleaseStep['name'], string>; preview: string[] } {
  const pendingData = f.dataMigrations.filter((d) => d.status === 'pending');
  const required = f.dataMigrations.length;
  const summaries = {
    expand: `${f.expand.migrations.length} pending expand migration(s), ${f.expand.alreadyApplied} already applied`,
    upgrade: f.upgrade.preview.every((p) => p.line.includes(', skip'))
      ? `every service already at ${f.target}`
      : `${f.upgrade.order.length} service(s) in order: ${f.upgrade.order.join(' -> ')}`,
    'data-migrations':
      required === 0
        ? 'none required'
        : `${pendingData.length} to run, ${required - pendingData.length} already completed`,
    postdeploy: `${f.postdeploy.migrations.length} pending postdeploy migration(s), ${f.postdeploy.alreadyApplied} already applied`,
  };
  const notx = (m: { transactional: boolean }): string => (m.transactional ? '' : ' (notx)');
  const preview = [
    ...f.expand.migrations.map((m) => `expand: ${m.relPath}${notx(m)}`),
    ...f.upgrade.preview.map((p) => `upgrade: ${p.line}`),
    ...pendingData.map((d) => `data migration: ${d.key} (${d.detail})`),
    ...f.postdeploy.migrations.map((m) => `postdeploy: ${m.relPath}${notx(m)}`),
  ];
  return { summaries, preview };
}

/** A child change run that ended other than completed: its state and the gates that refused it. */
export function childOutcome(result: { state: string; checks: { status: string; label: string; detail: string }[] }) {
  const refused = result.checks.filter((c) => c.status === 'refuse').map((c) => `${c.label}: ${c.detail}`);
  return `${result.state}${refused.length ? ` — ${refused.join('; ')}` : ''}`;
}

/** The FwState value of a release: `running:<step>` while a step runs. */
export function releaseStateValue(progress: Pick<ReleaseProgress, 'steps'>, state: string): string {
  return state === 'running' ? `running:${progress.steps.find((s) => s.status === 'running')?.name ?? 'none'}` : state;
}
