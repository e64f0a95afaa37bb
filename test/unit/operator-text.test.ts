// What the operator reads must be true (issue 11, point 11): the exact lines the CLI renders from run progress.
import { describe, expect, it } from 'vitest';
import { WHOLE_JOB, type DataMigrationStatusView } from '../../src/contracts/data-migrate';
import type { ClusterUpgradeProgress } from '../../src/contracts/upgrade';
import { progressLine, scopeName } from '../../src/cli/commands/data-migrate';
import { runState } from '../../src/cli/commands/runs';
import { renderUpgradeProgress } from '../../src/cli/commands/upgrade';

function progress(over: Partial<ClusterUpgradeProgress>): ClusterUpgradeProgress {
  return {
    cluster: 'lab',
    target: 'v0.2.1',
    state: 'failed',
    order: ['foghorn'],
    checks: [],
    warnings: [],
    preview: [],
    services: [],
    planHash: 'h',
    ...over,
  };
}

describe('upgrade progress lines', () => {
  it('a rolled-back host reads as going back to where it was, not forward', () => {
    const lines = renderUpgradeProgress(
      progress({
        services: [
          {
            service: 'foghorn',
            status: 'rolled-back',
            result: {
              service: 'foghorn',
              outcome: 'rolled-back',
              hosts: [
                { host: 'h2', action: 'rolled-back', from: 'v0.2.0', to: 'v0.2.1', detail: 'health check failed' },
              ],
            },
          },
        ],
      }),
    );
    expect(lines).toContain('      foghorn on h2: rolled-back to v0.2.0 (v0.2.1 failed) — health check failed');
    expect(lines.join('\n')).not.toContain('v0.2.0 → v0.2.1');
  });

  it('a gate detail that carries the reference\'s "[gate]" form is not prefixed twice', () => {
    const lines = renderUpgradeProgress(
      progress({
        state: 'completed',
        checks: [
          {
            id: 'data-migrations',
            label: 'prior data migrations completed',
            status: 'pass',
            detail: '[gate] 1 prior required data migration(s) completed.',
          },
        ],
      }),
    );
    expect(lines).toContain(
      '[gate] prior data migrations completed: ok — 1 prior required data migration(s) completed.',
    );
  });
});

describe('data-migration progress line', () => {
  const view = (over: Partial<DataMigrationStatusView>): DataMigrationStatusView => ({
    service: 'purser',
    id: 'invoice-line-items',
    state: 'completed',
    batchSize: 1000,
    batches: 0,
    scopes: [],
    totals: { scanned: 60_000, changed: 60_000, skipped: 0, errors: 0 },
    rowsPerSecond: 0,
    estimatedTotal: null,
    etaSeconds: null,
    startedAt: '2026-12-02T16:00:00.000Z',
    updatedAt: '2026-12-02T16:00:00.000Z',
    lastError: null,
    runSegments: 1,
    ...over,
  });

  it('reattaching to a completed backfill states the totals, with no "0 rows/s · ETA ?"', () => {
    expect(progressLine(view({}))).toBe(
      'purser.invoice-line-items completed: 60,000 rows scanned, 60,000 changed, 0 errors',
    );
  });

  it('a run still preparing says so instead of "0 rows/s · ETA ?"', () => {
    expect(progressLine(view({ state: 'preparing', totals: { scanned: 0, changed: 0, skipped: 0, errors: 0 } }))).toBe(
      'purser.invoice-line-items preparing: reading its state and scopes',
    );
  });

  it('a run that did the work reports its batches and average rate; a live run its rate and ETA', () => {
    expect(progressLine(view({ batches: 60, rowsPerSecond: 12_000 }))).toBe(
      'purser.invoice-line-items completed: 60,000 rows scanned, 60,000 changed, 0 errors · 60 batches this run at 12,000 rows/s',
    );
    expect(
      progressLine(
        view({ state: 'running', batches: 6, rowsPerSecond: 3_000, estimatedTotal: 60_000, etaSeconds: 18 }),
      ),
    ).toBe(
      'purser.invoice-line-items running: 60,000 of ~60,000 rows scanned, 60,000 changed, 0 errors · 3,000 rows/s · ETA 18s · 6 batches',
    );
  });
});

describe('runs list: the state column of a run', () => {
  it('a run cancelled while awaiting approval reads cancelled, not awaiting-approval', () => {
    expect(runState('CANCELLED', 'awaiting-approval')).toEqual({ state: 'cancelled' });
  });
  it('a read-only run that closed with FwState=running (or none) reads its close status', () => {
    expect(runState('COMPLETED', 'running')).toEqual({ state: 'completed' });
    expect(runState('TERMINATED', 'running')).toEqual({ state: 'terminated' });
    expect(runState('FAILED', 'running:upgrade')).toEqual({ state: 'failed' });
    expect(runState('COMPLETED', undefined)).toEqual({ state: 'completed' });
  });
  it("a run's own final word, and any state of a running run, are kept", () => {
    expect(runState('COMPLETED', 'refused')).toEqual({ state: 'refused' });
    expect(runState('COMPLETED', 'attention')).toEqual({ state: 'attention' });
    expect(runState('RUNNING', 'awaiting-approval')).toEqual({ state: 'awaiting-approval' });
    expect(runState('RUNNING', undefined)).toEqual({});
  });
});

describe('scope names (reference §9 item 132)', () => {
  it('the whole job renders as <whole-job>, a scope as kind=value', () => {
    expect(scopeName(WHOLE_JOB)).toBe('<whole-job>');
    expect(scopeName({ kind: 'tenant', value: 't-42' })).toBe('tenant=t-42');
  });
});
