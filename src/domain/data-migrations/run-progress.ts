// The bookkeeping of a `data-migrate run` (the dataMigration workflow, SPEC §7), pure: the status view a run
// starts with, the scopes dmPrepare reported, what one dmRunBatch result does to the view (batches, totals, rate,
// ETA), and the run's messages. The workflow passes its clock in (Date.now() is deterministic there), so each is
// tested by value (test/unit/data-migration-run-progress.test.ts).
import {
  ZERO_COUNTS,
  type Counts,
  type DataMigrationCarry,
  type RunBatchResult,
  type ScopeProgress,
  type ScopeState,
} from '../../contracts/data-migrate';

export function addCounts(a: Counts, b: Counts): Counts {
  return {
    scanned: a.scanned + b.scanned,
    changed: a.changed + b.changed,
    skipped: a.skipped + b.skipped,
    errors: a.errors + b.errors,
  };
}

export function totalsOf(scopes: readonly { counts: Counts }[]): Counts {
  return scopes.reduce((acc, s) => addCounts(acc, s.counts), { ...ZERO_COUNTS });
}

/** A new run's state at `nowMs`: preparing, nothing counted yet, one segment. */
export function initialCarry(
  input: { service: string; id: string; batchSize: number },
  nowMs: number,
): DataMigrationCarry {
  const now = new Date(nowMs).toISOString();
  return {
    view: {
      service: input.service,
      id: input.id,
      state: 'preparing',
      batchSize: input.batchSize,
      batches: 0,
      scopes: [],
      totals: { ...ZERO_COUNTS },
      rowsPerSecond: 0,
      estimatedTotal: null,
      etaSeconds: null,
      startedAt: now,
      updatedAt: now,
      lastError: null,
      runSegments: 1,
    },
    startedAtMs: nowMs,
    scannedAtStart: 0,
    pauseRequested: false,
  };
}

/** The run's view of the scopes dmPrepare read (attempts and errors stay in the table). */
export function preparedScopes(scopes: readonly ScopeState[]): ScopeProgress[] {
  return scopes.map((s) => ({
    scope: s.scope,
    status: s.status,
    checkpoint: s.checkpoint,
    counts: s.counts,
    ...(s.batches === undefined ? {} : { batches: s.batches }),
  }));
}

/**
 * One dmRunBatch result applied to its scope and the view, at `nowMs`. `reported`: the batches the activity says
 * it committed — short when an attempt died between a commit and its heartbeat. The scope's stored counter
 * (advanced in each batch's transaction) is used instead when both the last reading and this result carry it: the
 * run's batches are what the counter moved by.
 */
export function recordBatch(
  carry: DataMigrationCarry,
  s: ScopeProgress,
  r: RunBatchResult,
  reported: number,
  nowMs: number,
): void {
  const view = carry.view;
  if (r.scopeBatches !== undefined && s.batches !== undefined) {
    view.batches += Math.max(0, r.scopeBatches - s.batches);
  } else {
    view.batches += reported;
  }
  if (r.scopeBatches !== undefined) s.batches = r.scopeBatches;
  s.checkpoint = r.checkpoint;
  s.counts = r.counts;
  s.status = r.done ? 'completed' : 'running';
  view.totals = totalsOf(view.scopes);
  const elapsed = (nowMs - carry.startedAtMs) / 1000;
  view.rowsPerSecond = elapsed > 0 ? Math.round((view.totals.scanned - carry.scannedAtStart) / elapsed) : 0;
  view.etaSeconds =
    view.estimatedTotal !== null && view.rowsPerSecond > 0
      ? Math.max(0, Math.round((view.estimatedTotal - view.totals.scanned) / view.rowsPerSecond))
      : null;
  view.updatedAt = new Date(nowMs).toISOString();
}

export const alreadyCompletedReason = (service: string, id: string): string => `${service}.${id} already completed`;

export const pausedRefusalReason = (service: string, id: string): string =>
  `${service}.${id} is paused: resume it with \`frameworks cluster data-migrate resume ${service}.${id}\``;

export const runFailedMessage = (service: string, id: string, error: string): string =>
  `${service}.${id} failed: ${error}; run it again to resume from the last checkpoint`;
