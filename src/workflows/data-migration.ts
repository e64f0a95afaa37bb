/* eslint-disable max-lines -- issue 13: to be split once the heartbeat and gates11 branches (which edit this file) are merged: its body is one workflow closure, so the split is not a mechanical move of whole functions. */
// `data-migrate run <service>.<id>` as a durable batch loop (SPEC §7). The loop is workflow code; each dmRunBatch
// activity applies batches — each in its own transaction that also advances the checkpoint, guarded by
// compare-and-set on the checkpoint this workflow last saw (then on its own last commit) — for up to a time
// budget (~1.5 s), so a Temporal round trip is paid once per budget rather than once per batch. Retries and
// duplicates never apply a batch twice. Pause/resume are updates that take effect between batches: pause first
// mirrors `paused` into `_data_migrations`, which the running activity reads under the row lock before every
// batch, then waits for that activity to return, and only then acknowledges. Long runs continue-as-new,
// carrying their state, to keep every history small.
//
// Runs recorded before the multi-batch activity (one batch per activity, pause mirrored by the loop) replay on
// the `legacyLoop` path: `patched(MULTI_BATCH_PATCH)` is false for them.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  ContinueAsNew,
  continueAsNew,
  patched,
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
  type RunBatchResult,
  type RunState,
  type ScopeProgress,
} from '../contracts/data-migrate';
import { FailureType, NON_RETRYABLE_FAILURES } from '../errors';
import { failureMessage } from '../temporal/failures';
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

export const MULTI_BATCH_PATCH = 'dm-multi-batch-activity';
/** How long one dmRunBatch keeps applying batches before it reports back (DataMigrationInput.batchTimeBudgetMs). */
export const DEFAULT_BATCH_TIME_BUDGET_MS = 1_500;

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
  // Before any command: true for every run started on this code, false when replaying an older history.
  const multi = patched(MULTI_BATCH_PATCH);
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
  const settled = (): boolean =>
    view.state === 'paused' || view.state === 'completed' || view.state === 'failed' || view.state === 'refused';

  // Multi-batch runs: the one dmSetStatus(paused) of the current pause request, shared by the update handler
  // (which starts it at once, so the running batch loop sees it) and the loop (which must not declare the run
  // paused before the row says so). Resolves to the error if the mirror failed.
  let pauseMirror: Promise<Error | undefined> | undefined;
  const mirrorPause = (): Promise<Error | undefined> =>
    (pauseMirror ??= control.dmSetStatus({ ...ref, status: 'paused' }).then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    ));

  setHandler(dataStatusQuery, () => view);
  setHandler(
    pauseUpdate,
    async (_req: { reason?: string }) => {
      carry.pauseRequested = true;
      if (view.state === 'running') setState('pausing');
      if (multi) {
        // During preparation there is no job row to mirror into yet; the loop starts after it.
        // (Only awaited when needed: a condition that already holds still resolves one activation later, after
        // the batch in flight returned — the mirror must start now, so that batch stops at its next boundary.)
        if (view.state === 'preparing') await condition(() => view.state !== 'preparing');
        if (view.state === 'running' || view.state === 'pausing') {
          if (view.state === 'running') setState('pausing');
          const err = await mirrorPause();
          if (err) throw err; // the loop takes the run back to running
        }
      }
      // The acknowledgement: returned only once the loop stopped between batches and the row says paused.
      await condition(settled);
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
      ...(s.batches === undefined ? {} : { batches: s.batches }),
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

  /**
   * `reported`: the batches the activity says it committed — short when an attempt died between a commit and its
   * heartbeat. The scope's stored counter (advanced in each batch's transaction) is used instead when both the
   * last reading and this result carry it: the run's batches are what the counter moved by.
   */
  const record = (s: ScopeProgress, r: RunBatchResult, reported: number): void => {
    if (r.scopeBatches !== undefined && s.batches !== undefined) {
      view.batches += Math.max(0, r.scopeBatches - s.batches);
    } else {
      view.batches += reported;
    }
    if (r.scopeBatches !== undefined) s.batches = r.scopeBatches;
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
  };

  const waitForResume = async (s: ScopeProgress): Promise<void> => {
    s.status = 'paused';
    setState('paused');
    resumeRequested = false;
    await condition(() => resumeRequested);
    carry.pauseRequested = false;
    pauseMirror = undefined;
    // paused → pending (the resume transition of reference §5.4) → running.
    await control.dmSetStatus({ ...ref, status: 'pending' });
    await control.dmSetStatus({ ...ref, status: 'running' });
    s.status = 'running';
    setState('running');
  };

  /** Runs recorded before the multi-batch activity: one batch per dmRunBatch, pause mirrored by the loop. */
  const legacyLoop = async (): Promise<void> => {
    let segmentBatches = 0;
    for (const s of view.scopes) {
      while (s.status !== 'completed') {
        if (carry.pauseRequested) {
          await control.dmSetStatus({ ...ref, status: 'paused' });
          await waitForResume(s);
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
        record(s, r, r.outcome === 'applied' ? 1 : 0);
      }
    }
  };

  /** Each dmRunBatch applies batches for up to the time budget; a pause stops it at its next batch boundary. */
  const multiLoop = async (): Promise<void> => {
    let segmentActivities = 0;
    for (const s of view.scopes) {
      while (s.status !== 'completed') {
        if (carry.pauseRequested) {
          // The row must say paused before the run does (the update handler normally started this already).
          const err = await mirrorPause();
          if (err) {
            // The pause could not be recorded (its update fails with this error): carry on running.
            carry.pauseRequested = false;
            pauseMirror = undefined;
            if (view.state === 'pausing') setState('running');
          } else {
            await waitForResume(s);
          }
          continue;
        }
        if (segmentActivities >= MAX_BATCHES_PER_SEGMENT || workflowInfo().continueAsNewSuggested) {
          // A pause arriving now is served first: its handler waits for the loop, not the other way round.
          await condition(() => allHandlersFinished() || carry.pauseRequested);
          if (carry.pauseRequested) continue;
          await continueAsNew<typeof dataMigration>(input, carry);
        }
        const r = await dmRunBatch({
          ...ref,
          scope: s.scope,
          expectedCheckpoint: s.checkpoint,
          batchSize: input.batchSize,
          timeBudgetMs: input.batchTimeBudgetMs ?? DEFAULT_BATCH_TIME_BUDGET_MS,
        });
        segmentActivities += 1;
        record(s, r, r.batches ?? (r.outcome === 'applied' ? 1 : 0));
        if (r.outcome === 'paused' && !r.done && !carry.pauseRequested) {
          // Paused from outside this run (the row was set paused directly): the run waits for `resume` too.
          carry.pauseRequested = true;
          pauseMirror = Promise.resolve(undefined);
        }
      }
    }
    // A pause mirror still in flight must land before the final status, or it would overwrite it.
    if (pauseMirror) await pauseMirror;
  };

  try {
    if (multi) await multiLoop();
    else await legacyLoop();
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (multi && pauseMirror) await pauseMirror;
    view.lastError = failureMessage(err);
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
