// Small deterministic helpers shared by workflows.
import { ApplicationFailure } from '@temporalio/workflow';
import { FailureType } from '../errors';

/**
 * Runs a pure decision. A domain error thrown in workflow code would otherwise fail the workflow *task* and be
 * retried forever; as a non-retryable ApplicationFailure it fails the run with the error's message instead.
 */
export function decide<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw ApplicationFailure.create({
      type: FailureType.InvalidInput,
      message: err instanceof Error ? err.message : String(err),
      nonRetryable: true,
    });
  }
}

/** Parses a run's input with its contract; a refusal names each key and its problem (not zod's JSON dump). */
export function parseInput<T>(
  schema: { safeParse(raw: unknown): { success: true; data: T } | { success: false; error: { issues: Issue[] } } },
  raw: unknown,
  what: string,
): T {
  return decide(() => {
    const r = schema.safeParse(raw);
    if (r.success) return r.data;
    throw new Error(
      `invalid ${what} input: ${r.error.issues.map((i) => `${i.path.map(String).join('.') || '(input)'}: ${i.message}`).join('; ')}`,
    );
  });
}

interface Issue {
  path: readonly PropertyKey[];
  message: string;
}
