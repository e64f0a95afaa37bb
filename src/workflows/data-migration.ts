// `data-migrate run <service>.<id>` as a durable batch loop (SPEC §7). The loop is workflow code; each batch is
// one idempotent activity that applies the batch and advances the checkpoint in one transaction, guarded by
// compare-and-set on the checkpoint this workflow last saw, so retries and duplicates never apply twice.
// Pause/resume are updates that take effect between batches and are mirrored into `_data_migrations`.
// Long runs continue-as-new, carrying their state, to keep every history small.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  ContinueAsNew,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  DataMigrationInputSchema,
  ZERO_COUNTS,
  type Counts,
  type DataMigrationCarry,
  type DataMigrationInput,
  type DataMigrationStatusView,
  type RunState,
} from '../contracts/data-migrate';
import { FailureType, NON_RETRYABLE_FAILURES } from '../errors';
import { FwState } from '../temporal/search-attributes';
import { dataStatusQuery, pauseUpdate, resumeUpdate } from './messages';
import { decide } from './util';

const control = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 10, initialInterval: '1 second', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});
const { dmRunBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    maximumAttempts: 20,
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

/** A ceiling of our own besides Temporal's suggestion, so histories stay far below the 10,240-event warning. */
const MAX_BATCHES_PER_SEGMENT = 400;

function addCounts(a: Counts, b: Counts): Counts {
  return {
    scanned: a.scanned + b.scanned,
    changed: a.changed + b.changed,
    skipped: a.skipped + b.skipped,
    errors: a.errors + b.errors,
  };
}

export async function dataMigration(
  rawInput: DataMigrationInput,
  carried?: DataMigrationCarry,
): Promise<DataMigrationStatusView> {
  const input = decide(() => DataMigrationInputSchema.parse(rawInput));
  const nowIso = (): string => new Date(Date.now()).toISOString();
  const carry: DataMigrationCarry = carried ?? {
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
      startedAt: nowIso(),
      updatedAt: nowIso(),
      lastError: null,
      runSegments: 1,
    },
    startedAtMs: Date.now(),
    scannedAtStart: 0,
    pauseRequested: false,
  };
  const view = carry.view;
  if (carried) view.runSegments += 1;
  let resumeRequested = false;
  const ref = { cluster: input.cluster, service: input.service, id: input.id };

  const setState = (state: RunState): void => {
    view.state = state;
    view.updatedAt = nowIso();
    upsertSearchAttributes([{ key: FwState, value: state }]);
  };

  setHandler(dataStatusQuery, () => view);
  setHandler(
    pauseUpdate,
    async (_req: { reason?: string }) => {
      carry.pauseRequested = true;
      if (view.state === 'running') setState('pausing');
      // The acknowledgement: returned only once the loop stopped between batches and the row says paused.
      await condition(() => view.state === 'paused' || view.state === 'completed' || view.state === 'failed');
      return view;
    },
    {
      validator: (_req: { reason?: string }) => {
        if (view.state !== 'running' && view.state !== 'preparing') {
          throw new Error(`cannot pause: the run is ${view.state}`);
        }
      },
    },
  );
  setHandler(
    resumeUpdate,
    async () => {
      resumeRequested = true;
      await condition(() => view.state === 'running' || view.state === 'completed' || view.state === 'failed');
      return view;
    },
    {
      validator: () => {
        if (view.state !== 'paused' && view.state !== 'pausing')
          throw new Error(`cannot resume: the run is ${view.state}, not paused`);
      },
    },
  );

  if (!carried) {
    const prep = await control.dmPrepare({ ...ref, ...(input.scope ? { scope: input.scope } : {}) });
    if (prep.outcome === 'refused') {
      view.reason = prep.reason;
      setState('refused');
      return view;
    }
    view.scopes = prep.scopes.map((s) => ({
      scope: s.scope,
      status: s.status,
      checkpoint: s.checkpoint,
      counts: s.counts,
    }));
    view.totals = view.scopes.reduce((acc, s) => addCounts(acc, s.counts), { ...ZERO_COUNTS });
    carry.scannedAtStart = view.totals.scanned;
    if (prep.outcome === 'completed') {
      view.reason = `${input.service}.${input.id} already completed`;
      setState('completed');
      return view;
    }
    if (prep.outcome === 'paused') {
      view.reason = `${input.service}.${input.id} is paused: resume it with \`frameworks cluster data-migrate resume ${input.service}.${input.id}\``;
      setState('refused');
      return view;
    }
    view.driver = prep.driver;
    view.database = prep.database;
    view.estimatedTotal = prep.estimatedTotal;
    setState('running');
  }

  let segmentBatches = 0;
  try {
    for (const s of view.scopes) {
      while (s.status !== 'completed') {
        if (carry.pauseRequested) {
          await control.dmSetStatus({ ...ref, status: 'paused' });
          s.status = 'paused';
          setState('paused');
          resumeRequested = false;
          await condition(() => resumeRequested);
          carry.pauseRequested = false;
          // paused → pending (the resume transition of reference §5.4) → running.
          await control.dmSetStatus({ ...ref, status: 'pending' });
          await control.dmSetStatus({ ...ref, status: 'running' });
          s.status = 'running';
          setState('running');
        }
        if (segmentBatches >= MAX_BATCHES_PER_SEGMENT || workflowInfo().continueAsNewSuggested) {
          await condition(allHandlersFinished);
          await continueAsNew<typeof dataMigration>(input, carry);
        }
        const r = await dmRunBatch({
          ...ref,
          scope: s.scope,
          expectedCheckpoint: s.checkpoint,
          batchSize: input.batchSize,
        });
        segmentBatches += 1;
        if (r.outcome === 'applied') view.batches += 1;
        s.checkpoint = r.checkpoint;
        s.counts = r.counts;
        s.status = r.done ? 'completed' : 'running';
        view.totals = view.scopes.reduce((acc, x) => addCounts(acc, x.counts), { ...ZERO_COUNTS });
        const elapsed = (Date.now() - carry.startedAtMs) / 1000;
        view.rowsPerSecond = elapsed > 0 ? Math.round((view.totals.scanned - carry.scannedAtStart) / elapsed) : 0;
        view.etaSeconds =
          view.estimatedTotal !== null && view.rowsPerSecond > 0
            ? Math.max(0, Math.round((view.estimatedTotal - view.totals.scanned) / view.rowsPerSecond))
            : null;
        view.updatedAt = nowIso();
      }
    }
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    const cause = (err as { cause?: unknown }).cause;
    view.lastError = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
    setState('failed');
    await control.dmSetStatus({ ...ref, status: 'failed', error: view.lastError });
    throw ApplicationFailure.create({
      type: FailureType.MigrationFailed,
      message: `${input.service}.${input.id} failed: ${view.lastError}; run it again to resume from the last checkpoint`,
      nonRetryable: true,
    });
  }
  await control.dmSetStatus({ ...ref, status: 'completed' });
  view.etaSeconds = 0;
  setState('completed');
  await condition(allHandlersFinished);
  return view;
}
