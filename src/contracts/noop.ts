// `noop`: the smallest change run — it plans steps, checks one gate, waits for approval and "executes" each step
// without touching anything. It exists to exercise and demonstrate the shared change-run lifecycle (lock, gates,
// approval, follow, exit codes) in tests; a new mutating command is this file, one workflow, one CLI spec.
import { z } from 'zod';
import { ChangeRunInputFields, ChangeRunProgressSchema } from './change-run';

export const NoopInputSchema = z
  .object({
    ...ChangeRunInputFields,
    /** The steps the plan lists (each becomes `done` when executed). */
    steps: z.array(z.string().min(1)).default(['one']),
    /** When set, the `noop` gate refuses with this reason (tests of the refusal path). */
    refuse: z.string().optional(),
  })
  .strict();
export type NoopInput = z.input<typeof NoopInputSchema>;

export const NoopProgressSchema = ChangeRunProgressSchema.extend({
  steps: z.array(z.object({ name: z.string(), status: z.enum(['pending', 'done']) })),
});
export type NoopProgress = z.infer<typeof NoopProgressSchema>;
