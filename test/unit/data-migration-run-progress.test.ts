// The bookkeeping of a data-migration run (src/domain/data-migrations/run-progress.ts), by value: the view a run
// starts with, the prepared scopes, and what one dmRunBatch result does to batches, totals, rate and ETA.
import { describe, expect, it } from 'vitest';
import type { RunBatchResult, ScopeState } from '../../src/contracts/data-migrate';
import {
  addCounts,
  alreadyCompletedReason,
  initialCarry,
  pausedRefusalReason,
  preparedScopes,
  recordBatch,
  runFailedMessage,
  totalsOf,
} from '../../src/domain/data-migrations/run-progress';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const counts = (scanned: number, changed = 0, skipped = 0, errors = 0) => ({ scanned, changed, skipped, errors });
const scope = { kind: 'tenant', value: 't1' };

function result(over: Partial<RunBatchResult>): RunBatchResult {
  return {
    outcome: 'budget',
    checkpoint: { id: 10 },
    done: false,
    counts: counts(0),
    batch: counts(0),
    durationMs: 5,
    ...over,
  };
}

describe('data-migration run progress', () => {
  it('starts a run preparing, at the given clock, with nothing counted', () => {
    expect(initialCarry({ service: 'purser', id: 'backfill', batchSize: 500 }, T0)).toEqual({
      view: {
        service: 'purser',
        id: 'backfill',
        state: 'preparing',
        batchSize: 500,
        batches: 0,
        scopes: [],
        totals: counts(0),
        rowsPerSecond: 0,
        estimatedTotal: null,
        etaSeconds: null,
        startedAt: '2026-01-02T03:04:05.000Z',
        updatedAt: '2026-01-02T03:04:05.000Z',
        lastError: null,
        runSegments: 1,
      },
      startedAtMs: T0,
      scannedAtStart: 0,
      pauseRequested: false,
    });
  });

  it('adds counts field by field and totals the scopes', () => {
    expect(addCounts(counts(1, 2, 3, 4), counts(10, 20, 30, 40))).toEqual(counts(11, 22, 33, 44));
    expect(totalsOf([{ counts: counts(5, 1) }, { counts: counts(7, 0, 2) }])).toEqual(counts(12, 1, 2, 0));
    expect(totalsOf([])).toEqual(counts(0));
  });

  it("keeps a prepared scope's stored batch counter only when the table has one", () => {
    const row = (batches?: number): ScopeState => ({
      scope,
      status: 'running',
      checkpoint: { id: 3 },
      counts: counts(30),
      attempts: 2,
      lastError: 'boom',
      ...(batches === undefined ? {} : { batches }),
    });
    expect(preparedScopes([row(4), row()])).toEqual([
      { scope, status: 'running', checkpoint: { id: 3 }, counts: counts(30), batches: 4 },
      { scope, status: 'running', checkpoint: { id: 3 }, counts: counts(30) },
    ]);
  });

  it('counts the batches the stored counter moved by, not what a retried attempt reported', () => {
    const carry = initialCarry({ service: 'purser', id: 'backfill', batchSize: 100 }, T0);
    const s = { scope, status: 'running' as const, checkpoint: null, counts: counts(0), batches: 2 };
    carry.view.scopes = [s];
    carry.view.estimatedTotal = 1000;
    // The activity reports 1 batch (its first attempt died after committing 2 more); the counter says 5.
    recordBatch(carry, s, result({ batches: 1, scopeBatches: 5, counts: counts(300, 250) }), 1, T0 + 2000);
    expect(carry.view.batches).toBe(3);
    expect(s).toEqual({ scope, status: 'running', checkpoint: { id: 10 }, counts: counts(300, 250), batches: 5 });
    expect(carry.view.totals).toEqual(counts(300, 250));
    expect(carry.view.rowsPerSecond).toBe(150);
    expect(carry.view.etaSeconds).toBe(5); // (1000 - 300) / 150 = 4.67
    expect(carry.view.updatedAt).toBe('2026-01-02T03:04:07.000Z');
  });

  it('falls back to the reported batches without a counter, and marks a finished scope completed', () => {
    const carry = initialCarry({ service: 'purser', id: 'backfill', batchSize: 100 }, T0);
    carry.scannedAtStart = 100;
    const s = { scope, status: 'running' as const, checkpoint: null, counts: counts(100) };
    carry.view.scopes = [s];
    recordBatch(carry, s, result({ outcome: 'done', done: true, counts: counts(400) }), 4, T0 + 1000);
    expect(carry.view.batches).toBe(4);
    expect(s.status).toBe('completed');
    expect(carry.view.rowsPerSecond).toBe(300); // only this run's rows: 400 - 100 at start
    expect(carry.view.etaSeconds).toBeNull(); // no estimate
  });

  it('reports no rate at the instant the run started and never a negative ETA', () => {
    const carry = initialCarry({ service: 'purser', id: 'backfill', batchSize: 100 }, T0);
    const s = { scope, status: 'running' as const, checkpoint: null, counts: counts(0) };
    carry.view.scopes = [s];
    carry.view.estimatedTotal = 10;
    recordBatch(carry, s, result({ counts: counts(50) }), 1, T0);
    expect([carry.view.rowsPerSecond, carry.view.etaSeconds]).toEqual([0, null]);
    recordBatch(carry, s, result({ counts: counts(60) }), 1, T0 + 1000);
    expect([carry.view.rowsPerSecond, carry.view.etaSeconds]).toEqual([60, 0]);
  });

  it('words the refusals and the failure with a command that parses', () => {
    expect(alreadyCompletedReason('purser', 'backfill')).toBe('purser.backfill already completed');
    expect(pausedRefusalReason('purser', 'backfill')).toBe(
      'purser.backfill is paused: resume it with `frameworks cluster data-migrate resume purser.backfill`',
    );
    expect(runFailedMessage('purser', 'backfill', 'deadlock')).toBe(
      'purser.backfill failed: deadlock; run it again to resume from the last checkpoint',
    );
  });
});
