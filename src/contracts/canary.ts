// Canary pause of `cluster upgrade --canary` (issue 12 item 3): after the first replica of each service that
// actually changed is healthy (and `--soak` elapsed), the run waits for the operator's decision — `continue` (the
// rest of the service's replicas upgrade) or `rollback` (that replica returns to the identity and config it ran
// before) — sent as the `canary` update of the clusterUpgrade run (`frameworks cluster runs continue|rollback`,
// or the prompt of `runs watch`). No decision before `--canary-timeout` rolls back, as `rollback` would.
import { z } from 'zod';
import { DurationSchema } from './duration';

/** The input fields `--canary`, `--soak` and `--canary-timeout` set on clusterUpgrade. */
export const CanaryInputFields = {
  canary: z.boolean().default(false),
  /** How long the healthy canary runs before the decision is asked for (absent: asked at once). */
  soak: DurationSchema.optional(),
  /** How long the decision is waited for once asked; then the canary rolls back. */
  canaryTimeout: DurationSchema.default('1 hour'),
};

export const CanaryDecisionSchema = z.enum(['continue', 'rollback']);
export type CanaryDecision = z.infer<typeof CanaryDecisionSchema>;

/** The `canary` update: the decision for every waiting canary of the run, or only `service`'s. */
export const CanaryInputSchema = z
  .object({
    decision: CanaryDecisionSchema,
    operator: z.string().default(''),
    service: z.string().optional(),
  })
  .strict();
export type CanaryInput = z.input<typeof CanaryInputSchema>;

/** One service's canary as the run's progress shows it (the Web UI's query, `runs watch`). */
export const CanaryEntrySchema = z.object({
  service: z.string(),
  /** The replica that went first. */
  host: z.string(),
  /**
   * `soaking` until the soak elapsed, then `awaiting` the decision; `continued` / `rolled-back` by the operator,
   * `expired` when the deadline passed first (rolled back).
   */
  state: z.enum(['soaking', 'awaiting', 'continued', 'rolled-back', 'expired']),
  /** When the canary was healthy, and (once awaiting) until when the decision is waited for (ISO 8601). */
  healthyAt: z.string(),
  deadline: z.string().optional(),
  decidedBy: z.string().optional(),
});
export type CanaryEntry = z.infer<typeof CanaryEntrySchema>;

/** Child → parent: the service's canary replica is healthy. */
export interface CanaryReady {
  service: string;
  host: string;
}

/** Parent → child: what to do with the canary (`reason` ends up in the host's outcome). */
export interface CanaryVerdict {
  decision: CanaryDecision;
  reason: string;
}
