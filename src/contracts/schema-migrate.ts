// The `schemaMigrate` workflow: input, the progress it exposes by query, and its result (SPEC §4, §7).
import { z } from 'zod';
import { ChangeRunInputFields, ChangeRunProgressSchema } from './change-run';
import { MigrationItemSchema, PhaseSchema } from './migrations';

export const SchemaMigrateInputSchema = z
  .object({
    ...ChangeRunInputFields,
    phase: PhaseSchema,
    /** Explicit target (canonical vX.Y.Z[-pre]); empty ⇒ the head of the cluster's channel. */
    toVersion: z.string().default(''),
    skipDataMigrationCheck: z.boolean().default(false),
  })
  .strict();
export type SchemaMigrateInput = z.input<typeof SchemaMigrateInputSchema>;

export const PlannedMigrationSchema = MigrationItemSchema.extend({
  status: z.enum(['pending', 'applying', 'applied', 'already-applied', 'failed']),
  error: z.string().optional(),
  durationMs: z.number().optional(),
  /** First lines of the SQL (dry-run and approval display). */
  preview: z.array(z.string()).optional(),
});
export type PlannedMigration = z.infer<typeof PlannedMigrationSchema>;

export const SchemaMigrateProgressSchema = ChangeRunProgressSchema.extend({
  phase: PhaseSchema,
  /** Migrations of this phase ≤ target already in the ledger (not re-run). */
  alreadyApplied: z.number(),
  migrations: z.array(PlannedMigrationSchema),
});
export type SchemaMigrateProgress = z.infer<typeof SchemaMigrateProgressSchema>;
