// Data migrations (SPEC §7, reference §5): scopes, checkpoints, batch results, state rows, and the
// `dataMigration` workflow's input/status. JSON-plain. A checkpoint is an opaque JSON object owned by the
// driver (for the sql driver: whatever the `batch` statement returns, e.g. {"last_id": 1234}).
import { z } from 'zod';

export const DATA_MIGRATION_STATUSES = ['pending', 'running', 'paused', 'completed', 'failed'] as const;
export const DataMigrationStatusSchema = z.enum(DATA_MIGRATION_STATUSES);
export type DataMigrationStatus = z.infer<typeof DataMigrationStatusSchema>;

/** A partition of the work; the whole job is kind '' and value ''. */
export const ScopeSchema = z.object({ kind: z.string(), value: z.string() }).strict();
export type Scope = z.infer<typeof ScopeSchema>;
export const WHOLE_JOB: Scope = { kind: '', value: '' };

export const CheckpointSchema = z.record(z.string(), z.unknown());
export type Checkpoint = z.infer<typeof CheckpointSchema>;

/** Counters of one scope (cumulative over all batches, as stored in `_data_migration_runs`). */
export const CountsSchema = z.object({
  scanned: z.number().int().min(0),
  changed: z.number().int().min(0),
  skipped: z.number().int().min(0),
  errors: z.number().int().min(0),
});
export type Counts = z.infer<typeof CountsSchema>;
export const ZERO_COUNTS: Counts = { scanned: 0, changed: 0, skipped: 0, errors: 0 };

/** `<service>.<id>`, e.g. `purser.invoice-line-items`. */
export const MigrationRefSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9._-]*$/, 'expected <service>.<id>, e.g. purser.invoice-line-items');

export const RunBatchInputSchema = z
  .object({
    cluster: z.string(),
    service: z.string(),
    id: z.string(),
    scope: ScopeSchema,
    /** Compare-and-set token: the checkpoint the workflow last saw (null = never started). */
    expectedCheckpoint: CheckpointSchema.nullable(),
    batchSize: z.number().int().min(1).max(1_000_000),
    /**
     * Present: run batches in a loop on one connection (each its own transaction, same compare-and-set) until
     * this many milliseconds have passed since the activity began, the scope is done, or the job is paused.
     * 0 = one batch. Absent: exactly one batch with the original outcomes (histories from before the loop).
     */
    timeBudgetMs: z.number().int().min(0).max(600_000).optional(),
  })
  .strict();
export type RunBatchInput = z.infer<typeof RunBatchInputSchema>;

export const RunBatchResultSchema = z.object({
  /**
   * One batch (no timeBudgetMs): applied: this call committed one batch. stale: the stored checkpoint was not
   * the expected one (an earlier attempt already committed, or another runner moved it); nothing was applied
   * and the current state is returned, so the workflow continues from the truth. done: the scope was already
   * complete.
   * A loop (timeBudgetMs): why it stopped after `batches` batches — budget: time is up, more to do; done: the
   * scope is complete; paused: the job or scope is paused (read under the row lock before a batch); stale: the
   * stored checkpoint was neither the expected one nor one this activity committed (someone else moved it).
   */
  outcome: z.enum(['applied', 'stale', 'done', 'budget', 'paused']),
  /** Batches committed by this activity (over all its attempts, as far as heartbeats tell). */
  batches: z.number().int().min(0).optional(),
  /**
   * The scope's stored batch counter after this call (`_data_migration_runs.batch_count`, advanced in each
   * batch's own transaction): exact even when an attempt died between a commit and its report. Absent from
   * results recorded before the counter existed.
   */
  scopeBatches: z.number().int().min(0).optional(),
  checkpoint: CheckpointSchema.nullable(),
  done: z.boolean(),
  /** Cumulative counts of the scope after this call. */
  counts: CountsSchema,
  /** What this call's batches did together (zero unless some applied). */
  batch: CountsSchema,
  durationMs: z.number(),
});
export type RunBatchResult = z.infer<typeof RunBatchResultSchema>;

/**
 * Heartbeat details of a batch loop: what this activity has committed so far. A retried attempt that finds the
 * stored checkpoint equal to `checkpoint` knows the move was its own and continues from there.
 */
export const BatchProgressSchema = z.object({
  checkpoint: CheckpointSchema.nullable(),
  batches: z.number().int().min(0),
  batch: CountsSchema,
});
export type BatchProgress = z.infer<typeof BatchProgressSchema>;

/** One `_data_migration_runs` row as read. */
export const ScopeStateSchema = z.object({
  scope: ScopeSchema,
  status: DataMigrationStatusSchema,
  checkpoint: CheckpointSchema.nullable(),
  counts: CountsSchema,
  attempts: z.number().int(),
  /** Batches committed for the scope (`batch_count`); absent when the table predates the counter. */
  batches: z.number().int().min(0).optional(),
  lastError: z.string().nullable(),
});
export type ScopeState = z.infer<typeof ScopeStateSchema>;

/** The `_data_migrations` row plus its runs; `exists: false` when there is no row (or no table). */
export const JobStateSchema = z.object({
  id: z.string(),
  exists: z.boolean(),
  tablesExist: z.boolean(),
  status: DataMigrationStatusSchema.nullable(),
  releaseVersion: z.string().nullable(),
  lastError: z.string().nullable(),
  scopes: z.array(ScopeStateSchema),
});
export type JobState = z.infer<typeof JobStateSchema>;

export const VerifyCheckSchema = z.object({
  name: z.string(),
  expected: z.string(),
  actual: z.string(),
  ok: z.boolean(),
});
export type VerifyCheck = z.infer<typeof VerifyCheckSchema>;

export const DataMigrationInputSchema = z
  .object({
    cluster: z.string().regex(/^[a-z0-9-]+$/),
    service: z.string(),
    id: z.string(),
    batchSize: z.number().int().min(1).max(1_000_000).default(1000),
    /** Limit the run to one scope (`--scope-kind/--scope-value`); default: the definition's scopes. */
    scope: ScopeSchema.optional(),
    operator: z.string().default(''),
    /**
     * How long one batch activity keeps running batches (each its own transaction) before it reports back to
     * the workflow; default 1,500 ms. Pause still takes effect between batches.
     */
    batchTimeBudgetMs: z.number().int().min(0).max(600_000).optional(),
  })
  .strict();
export type DataMigrationInput = z.input<typeof DataMigrationInputSchema>;

export const RunStateSchema = z.enum(['preparing', 'running', 'pausing', 'paused', 'completed', 'failed', 'refused']);
export type RunState = z.infer<typeof RunStateSchema>;

export const ScopeProgressSchema = z.object({
  scope: ScopeSchema,
  status: DataMigrationStatusSchema,
  checkpoint: CheckpointSchema.nullable(),
  counts: CountsSchema,
  /** The scope's stored batch counter as last read (see RunBatchResult.scopeBatches). */
  batches: z.number().int().min(0).optional(),
});
export type ScopeProgress = z.infer<typeof ScopeProgressSchema>;

/** What the `status` query returns (and the CLI renders as the live progress line). */
export const DataMigrationStatusViewSchema = z.object({
  service: z.string(),
  id: z.string(),
  state: RunStateSchema,
  /** Why a run was refused or failed. */
  reason: z.string().optional(),
  driver: z.enum(['sql', 'service']).optional(),
  database: z.string().optional(),
  batchSize: z.number(),
  /**
   * Batches committed during this run, from the scopes' stored counters (advanced with each batch), so a worker
   * killed between a commit and its report does not lose them.
   */
  batches: z.number(),
  scopes: z.array(ScopeProgressSchema),
  totals: CountsSchema,
  /** Rows scanned per second over this run (all continue-as-new segments). */
  rowsPerSecond: z.number(),
  estimatedTotal: z.number().nullable(),
  etaSeconds: z.number().nullable(),
  startedAt: z.string(),
  updatedAt: z.string(),
  lastError: z.string().nullable(),
  runSegments: z.number(),
});
export type DataMigrationStatusView = z.infer<typeof DataMigrationStatusViewSchema>;

/** Carried across continue-as-new: everything the status view needs, plus the loop position. */
export const DataMigrationCarrySchema = z.object({
  view: DataMigrationStatusViewSchema,
  startedAtMs: z.number(),
  scannedAtStart: z.number(),
  pauseRequested: z.boolean(),
});
export type DataMigrationCarry = z.infer<typeof DataMigrationCarrySchema>;

/** Result of `dmPrepare`: where the migration lives and its current state, or why it cannot run. */
export const PrepareResultSchema = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.literal('ready'),
    driver: z.enum(['sql', 'service']),
    database: z.string(),
    releaseVersion: z.string(),
    scopes: z.array(ScopeStateSchema),
    estimatedTotal: z.number().nullable(),
  }),
  z.object({ outcome: z.literal('completed'), scopes: z.array(ScopeStateSchema) }),
  z.object({ outcome: z.literal('paused'), scopes: z.array(ScopeStateSchema) }),
  z.object({ outcome: z.literal('refused'), reason: z.string() }),
]);
export type PrepareResult = z.infer<typeof PrepareResultSchema>;
