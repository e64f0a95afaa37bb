// The `schemaMigrate` workflow: input, the progress it exposes by query, and its result (SPEC §4, §7).
import { z } from 'zod';
import { GateCheckSchema } from './plan';
import { MigrationItemSchema, PhaseSchema } from './migrations';

export const SchemaMigrateInputSchema = z
  .object({
    cluster: z.string().regex(/^[a-z0-9-]+$/),
    phase: PhaseSchema,
    /** Explicit target (canonical vX.Y.Z[-pre]); empty ⇒ the head of the cluster's channel. */
    toVersion: z.string().default(''),
    dryRun: z.boolean().default(false),
    /** `--yes`: approved up front. Contract requires it. */
    approved: z.boolean().default(false),
    skipDataMigrationCheck: z.boolean().default(false),
    operator: z.string().default(''),
    /** How long an unapproved run waits for `approve` before it expires. */
    approvalTimeout: z.string().default('15 minutes'),
  })
  .strict();
export type SchemaMigrateInput = z.input<typeof SchemaMigrateInputSchema>;

export const MigrationRunStateSchema = z.enum([
  'planning',
  'awaiting-approval',
  'applying',
  'completed',
  'failed',
  'refused',
  'dry-run',
  'cancelled',
  'expired',
]);
export type MigrationRunState = z.infer<typeof MigrationRunStateSchema>;

export const PlannedMigrationSchema = MigrationItemSchema.extend({
  status: z.enum(['pending', 'applying', 'applied', 'already-applied', 'failed']),
  error: z.string().optional(),
  durationMs: z.number().optional(),
  /** First lines of the SQL (dry-run and approval display). */
  preview: z.array(z.string()).optional(),
});
export type PlannedMigration = z.infer<typeof PlannedMigrationSchema>;

export const SchemaMigrateProgressSchema = z.object({
  cluster: z.string(),
  phase: PhaseSchema,
  target: z.string(),
  state: MigrationRunStateSchema,
  checks: z.array(GateCheckSchema),
  /** Migrations of this phase ≤ target already in the ledger (not re-run). */
  alreadyApplied: z.number(),
  migrations: z.array(PlannedMigrationSchema),
  planHash: z.string(),
  warnings: z.array(z.string()),
  error: z.string().optional(),
});
export type SchemaMigrateProgress = z.infer<typeof SchemaMigrateProgressSchema>;

export const ApproveInputSchema = z.object({ planHash: z.string(), operator: z.string().default('') }).strict();
export type ApproveInput = z.input<typeof ApproveInputSchema>;
