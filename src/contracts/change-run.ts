// What every change run (schemaMigrate, clusterUpgrade, release, noop, clusterRollback, and the next mutating
// command) shares: one run-state enum, one base progress schema each run's progress extends, and the approval
// input. A change run plans, checks every gate, waits for approval of the plan's hash (unless approved up front),
// executes, and ends in one of TERMINAL_STATES. The whole lifecycle is src/workflows/change-run.ts (changeRun) on
// the worker side and src/cli/run-change.ts (runChange) on the CLI side.
import { z } from 'zod';
import { DurationSchema } from './duration';
import { GateCheckSchema } from './plan';

/**
 * The state of a change run. The one executing state each run names in its own words, kept as they are so runs
 * already recorded (their FwState search attribute) and scripts reading `--json` see the words they always saw:
 * `applying` (schemaMigrate), `upgrading` (clusterUpgrade), `running` (release, noop), `rolling-back`
 * (clusterRollback). `awaiting-canary`: an upgrade with `--canary` waits for the operator's continue / rollback.
 */
export const ChangeRunStateSchema = z.enum([
  'planning',
  'awaiting-approval',
  'applying',
  'upgrading',
  'running',
  'rolling-back',
  'awaiting-canary',
  'completed',
  'failed',
  'refused',
  'dry-run',
  'cancelled',
  'expired',
]);
export type ChangeRunState = z.infer<typeof ChangeRunStateSchema>;

/** The states a change run ends in (or, for dry-run / refused / expired / cancelled, stops asking in). */
export const TERMINAL_STATES: ReadonlySet<string> = new Set<ChangeRunState>([
  'completed',
  'failed',
  'refused',
  'dry-run',
  'cancelled',
  'expired',
]);

/** The states where nothing has changed yet, so a `cancel` is still safe. */
export const CANCELLABLE_STATES: readonly ChangeRunState[] = ['planning', 'awaiting-approval'];

/** The progress every change run exposes by its `progress` query; each run's own schema extends it. */
export const ChangeRunProgressSchema = z.object({
  cluster: z.string(),
  /** The pinned target version ('' until pinned). */
  target: z.string(),
  state: ChangeRunStateSchema,
  checks: z.array(GateCheckSchema),
  warnings: z.array(z.string()),
  /** Fingerprint of the plan shown for approval; `approve` must carry it. */
  planHash: z.string(),
  error: z.string().optional(),
});
export type ChangeRunProgress = z.infer<typeof ChangeRunProgressSchema>;

/** The input fields every change run takes (each run's input schema extends them). */
export const ChangeRunInputFields = {
  cluster: z.string().regex(/^[a-z0-9-]+$/),
  dryRun: z.boolean().default(false),
  /** `--yes`: approved up front. */
  approved: z.boolean().default(false),
  operator: z.string().default(''),
  /** How long an unapproved run waits for `approve` before it expires. */
  approvalTimeout: DurationSchema.default('15 minutes'),
};

export const ApproveInputSchema = z.object({ planHash: z.string(), operator: z.string().default('') }).strict();
export type ApproveInput = z.input<typeof ApproveInputSchema>;

export const CancelInputSchema = z.object({ reason: z.string().optional() });
export type CancelInput = z.infer<typeof CancelInputSchema>;
