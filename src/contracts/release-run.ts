// `frameworks cluster release`: the whole recommended flow as one durable run (SPEC §5 "release"): expand
// migrations → upgrade --all → the target's required data migrations → postdeploy, one approval up front.
import { z } from 'zod';
import { GateCheckSchema } from './plan';
import { ChangeRunInputFields, ChangeRunProgressSchema } from './change-run';
import { DurationSchema } from './duration';

export const ReleaseInputSchema = z
  .object({
    ...ChangeRunInputFields,
    /** stable | rc | vX.Y.Z[-pre]; empty ⇒ the head of the cluster's channel. Pinned once, at the start. */
    selector: z.string().default(''),
    cliVersion: z.string(),
    /** Passed to both upgrade runs (the dry-run plan and the real one): see ClusterUpgradeInputSchema. */
    unsafeAllowUnknownVersion: z.boolean().default(false),
    allowDowngrade: z.boolean().default(false),
    /** Batch size for the data migrations this run starts. */
    batchSize: z.number().int().min(1).max(1_000_000).default(1000),
    healthInterval: DurationSchema.optional(),
    healthDeadline: DurationSchema.optional(),
    /** --parallel: forwarded to the upgrade step (ClusterUpgradeInputSchema.parallel). */
    parallel: z.number().int().min(1).max(64).optional(),
  })
  .strict();
export type ReleaseInput = z.input<typeof ReleaseInputSchema>;

export const ReleaseStepNameSchema = z.enum(['expand', 'upgrade', 'data-migrations', 'postdeploy']);
export type ReleaseStepName = z.infer<typeof ReleaseStepNameSchema>;

export const ReleaseStepStatusSchema = z.enum(['pending', 'running', 'completed', 'nothing-to-do', 'failed']);
export type ReleaseStepStatus = z.infer<typeof ReleaseStepStatusSchema>;

export const ReleaseStepSchema = z.object({
  name: ReleaseStepNameSchema,
  status: ReleaseStepStatusSchema,
  /** What the step will do (from its dry-run) and, once run, what it did. */
  summary: z.string(),
  /** Workflow id of the child run doing the step (watchable on its own with `runs watch`). */
  workflowId: z.string().optional(),
  error: z.string().optional(),
});
export type ReleaseStep = z.infer<typeof ReleaseStepSchema>;

export const ReleaseDataMigrationSchema = z.object({
  key: z.string(),
  service: z.string(),
  id: z.string(),
  status: z.enum(['pending', 'already-completed', 'running', 'completed', 'failed']),
  workflowId: z.string(),
  detail: z.string().optional(),
});
export type ReleaseDataMigration = z.infer<typeof ReleaseDataMigrationSchema>;

export const ReleaseProgressSchema = ChangeRunProgressSchema.extend({
  /** Every gate of every step, prefixed by its step: all are checked before anything changes. */
  checks: z.array(GateCheckSchema.extend({ step: ReleaseStepNameSchema })),
  steps: z.array(ReleaseStepSchema),
  dataMigrations: z.array(ReleaseDataMigrationSchema),
  /** Per-host lines of the upgrade's plan and the pending migrations, for the approval prompt. */
  preview: z.array(z.string()),
});
export type ReleaseProgress = z.infer<typeof ReleaseProgressSchema>;
