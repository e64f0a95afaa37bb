// The body of one dataMigration run (data-migration.ts): its state, the pause/resume/status handlers and the two
// batch loops. Moved whole out of the workflow function's closure; the arithmetic lives in
// src/domain/data-migrations/run-progress.ts. Every await is where it was, so the commands are issued in the same
// order (test/replay replays the recorded histories of both loops).
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { Activities } from '../activities';
import type {
  DataMigrationCarry,
  DataMigrationInputSchema,
  DataMigrationStatusView,
  RunState,
  ScopeProgress,
} from '../contracts/data-migrate';
import { recordBatch } from '../domain/data-migrations/run-progress';
import { NON_RETRYABLE_FAILURES } from '../errors';
import { FwState } from '../temporal/search-attributes';
import type { dataMigration } from './data-migration';
import { dataStatusQuery, pauseUpdate, resumeUpdate } from './messages';
import { readOptions } from './util';

export const control = proxyActivities<Activities>(readOptions('2 minutes', 10));
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

/** How long one dmRunBatch keeps applying batches before it reports back (DataMigrationInput.batchTimeBudgetMs). */
export const DEFAULT_BATCH_TIME_BUDGET_MS = 1_500;

export type ParsedInput = z.output<typeof DataMigrationInputSchema>;

const nowIso = (): string => new Date(Date.now()).toISOString();

export class DataMigrationRun {
  readonly view: DataMigrationStatusView;
  readonly ref: { cluster: string; service: string; id: string };
  resumeRequested = false;
  /**
   * Multi-batch runs: the one dmSetStatus(paused) of the current pause request, shared by the update handler
   * (which starts it at once, so the running batch loop sees it) and the loop (which must not declare the run
   * paused before the row says so). Resolves to the error if the mirror failed.
   */
  pauseMirror: Promise<Error | undefined> | undefined;

  constructor(
    readonly input: ParsedInput,
    readonly carry: DataMigrationCarry,
    /** patched(MULTI_BATCH_PATCH): false when replaying a run recorded before the multi-batch activity. */
    readonly multi: boolean,
  ) {
    this.view = carry.view;
    this.ref = { cluster: input.cluster, service: input.service, id: input.id };
  }

  setState = (state: RunState): void => {
    this.view.state = state;
    this.view.updatedAt = nowIso();
    upsertSearchAttributes([{ key: FwState, value: state }]);
  };

  settled = (): boolean => {
    const state = this.view.state;
    return state === 'paused' || state === 'completed' || state === 'failed' || state === 'refused';
  };

  mirrorPause = (): Promise<Error | undefined> =>
    (this.pauseMirror ??= control.dmSetStatus({ ...this.ref, status: 'paused' }).then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    ));

  installHandlers(): void {
    const { view, carry } = this;
    setHandler(dataStatusQuery, () => view);
    setHandler(
      pauseUpdate,
      async (_req: { reason?: string }) => {
        carry.pauseRequested = true;
        if (view.state === 'running') this.setState('pausing');
        if (this.multi) {
          // During preparation there is no job row to mirror into yet; the loop starts after it.
          // (Only awaited when needed: a condition that already holds still resolves one activation later, after
          // the batch in flight returned — the mirror must start now, so that batch stops at its next boundary.)
          if (view.state === 'preparing') await condition(() => view.state !== 'preparing');
          if (view.state === 'running' || view.state === 'pausing') {
            if (view.state === 'running') this.setState('pausing');
            const err = await this.mirrorPause();
            if (err) throw err; // the loop takes the run back to running
          }
        }
        // The acknowledgement: returned only once the loop stopped between batches and the row says paused.
        await condition(this.settled);
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
        this.resumeRequested = true;
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
  }

  private record(s: ScopeProgress, r: Parameters<typeof recordBatch>[2], reported: number): void {
    recordBatch(this.carry, s, r, reported, Date.now());
  }

  private async waitForResume(s: ScopeProgress): Promise<void> {
    s.status = 'paused';
    this.setState('paused');
    this.resumeRequested = false;
    await condition(() => this.resumeRequested);
    this.carry.pauseRequested = false;
    this.pauseMirror = undefined;
    // paused → pending (the resume transition of reference §5.4) → running.
    await control.dmSetStatus({ ...this.ref, status: 'pending' });
    await control.dmSetStatus({ ...this.ref, status: 'running' });
    s.status = 'running';
    this.setState('running');
  }

  /** Runs recorded before the multi-batch activity: one batch per dmRunBatch, pause mirrored by the loop. */
  async legacyLoop(): Promise<void> {
    const { input, carry, ref } = this;
    let segmentBatches = 0;
    for (const s of this.view.scopes) {
      while (s.status !== 'completed') {
        if (carry.pauseRequested) {
          await control.dmSetStatus({ ...ref, status: 'paused' });
          await this.waitForResume(s);
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
        this.record(s, r, r.outcome === 'applied' ? 1 : 0);
      }
    }
  }

  /** Each dmRunBatch applies batches for up to the time budget; a pause stops it at its next batch boundary. */
  async multiLoop(): Promise<void> {
    const { input, carry, ref } = this;
    let segmentActivities = 0;
    for (const s of this.view.scopes) {
      while (s.status !== 'completed') {
        if (carry.pauseRequested) {
          // The row must say paused before the run does (the update handler normally started this already).
          const err = await this.mirrorPause();
          if (err) {
            // The pause could not be recorded (its update fails with this error): carry on running.
            carry.pauseRequested = false;
            this.pauseMirror = undefined;
            if (this.view.state === 'pausing') this.setState('running');
          } else {
            await this.waitForResume(s);
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
        this.record(s, r, r.batches ?? (r.outcome === 'applied' ? 1 : 0));
        if (r.outcome === 'paused' && !r.done && !carry.pauseRequested) {
          // Paused from outside this run (the row was set paused directly): the run waits for `resume` too.
          carry.pauseRequested = true;
          this.pauseMirror = Promise.resolve(undefined);
        }
      }
    }
    // A pause mirror still in flight must land before the final status, or it would overwrite it.
    if (this.pauseMirror) await this.pauseMirror;
  }
}
