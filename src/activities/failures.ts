// Every failure leaving an activity becomes an ApplicationFailure with a `type` from src/errors.ts, so workflows
// and retry policies decide by type, never by message text. Refusals are non-retryable.
import { ApplicationFailure } from '@temporalio/activity';
import { errorMessage, FailureType, InputError, NON_RETRYABLE_FAILURES } from '../errors';

export function failure(type: FailureType, message: string, cause?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: NON_RETRYABLE_FAILURES.includes(type),
    ...(cause instanceof Error ? { cause } : {}),
  });
}

/** Wraps an activity body: InputError ⇒ InvalidInput (non-retryable); ApplicationFailure passes through. */
export async function asActivity<T>(
  body: () => Promise<T> | T,
  fallbackType: FailureType = FailureType.InvalidInput,
): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    if (err instanceof InputError) throw failure(FailureType.InvalidInput, err.message);
    // Unknown errors stay retryable: they are most often transient I/O.
    if (fallbackType === FailureType.InvalidInput) throw err;
    throw failure(fallbackType, errorMessage(err), err);
  }
}
