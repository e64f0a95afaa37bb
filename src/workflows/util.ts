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
