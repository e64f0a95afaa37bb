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
// the `legacyLoop` path: `patched(MULTI_BATCH_PATCH)` is false for them. The handlers and both loops are in
// data-migration-run.ts; the view's arithmetic and messages in src/domain/data-migrations/run-progress.ts.
import { ApplicationFailure, allHandlersFinished, condition, ContinueAsNew, patched } from '@temporalio/workflow';
import {
  DataMigrationInputSchema,
  type DataMigrationCarry,
  type DataMigrationInput,
  type DataMigrationStatusView,
} from '../contracts/data-migrate';
import {
  alreadyCompletedReason,
  initialCarry,
  pausedRefusalReason,
  preparedScopes,
  runFailedMessage,
  totalsOf,
} from '../domain/data-migrations/run-progress';
import { FailureType } from '../errors';
import { failureMessage } from '../temporal/failures';
import { control, DataMigrationRun } from './data-migration-run';
import { decide } from './util';

export const MULTI_BATCH_PATCH = 'dm-multi-batch-activity';
export { DEFAULT_BATCH_TIME_BUDGET_MS } from './data-migration-run';

export async function dataMigration(
  rawInput: DataMigrationInput,
  carried?: DataMigrationCarry,
): Promise<DataMigrationStatusView> {
  const input = decide(() => DataMigrationInputSchema.parse(rawInput));
  // Before any command: true for every run started on this code, false when replaying an older history.
  const multi = patched(MULTI_BATCH_PATCH);
  const carry: DataMigrationCarry = carried ?? initialCarry(input, Date.now());
  const run = new DataMigrationRun(input, carry, multi);
  const { view, ref, setState } = run;
  if (carried) view.runSegments += 1;
  run.installHandlers();

  if (!carried) {
    const prep = await control.dmPrepare({ ...ref, ...(input.scope ? { scope: input.scope } : {}) });
    if (prep.outcome === 'refused') {
      view.reason = prep.reason;
      setState('refused');
      return view;
    }
    view.scopes = preparedScopes(prep.scopes);
    view.totals = totalsOf(view.scopes);
    carry.scannedAtStart = view.totals.scanned;
    if (prep.outcome === 'completed') {
      view.reason = alreadyCompletedReason(input.service, input.id);
      setState('completed');
      return view;
    }
    if (prep.outcome === 'paused') {
      view.reason = pausedRefusalReason(input.service, input.id);
      setState('refused');
      return view;
    }
    view.driver = prep.driver;
    view.database = prep.database;
    view.estimatedTotal = prep.estimatedTotal;
    setState('running');
  }

  try {
    if (multi) await run.multiLoop();
    else await run.legacyLoop();
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (multi && run.pauseMirror) await run.pauseMirror;
    view.lastError = failureMessage(err);
    setState('failed');
    await control.dmSetStatus({ ...ref, status: 'failed', error: view.lastError });
    throw ApplicationFailure.create({
      type: FailureType.MigrationFailed,
      message: runFailedMessage(input.service, input.id, view.lastError),
      nonRetryable: true,
    });
  }
  await control.dmSetStatus({ ...ref, status: 'completed' });
  view.etaSeconds = 0;
  setState('completed');
  await condition(allHandlersFinished);
  return view;
}
