// Small deterministic helpers shared by workflows.
import type { Duration } from '@temporalio/common';
import { ApplicationFailure, type ActivityOptions } from '@temporalio/workflow';
import { FailureType, NON_RETRYABLE_FAILURES } from '../errors';

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

/**
 * How long a read activity (planning facts, gates, status) may go without a heartbeat. The reads heartbeat while
 * they work (src/activities/heartbeat.ts `reading`), so this only catches a worker that died mid-read: another worker
 * retries the read after this long, not after the read's whole start-to-close (minutes, for a large cluster's reads).
 */
export const READ_HEARTBEAT_TIMEOUT = '20 seconds';

/** Options of a proxy for read activities: every activity called through it must heartbeat (it reads). */
export function readOptions(startToCloseTimeout: string, maximumAttempts: number): ActivityOptions {
  return {
    startToCloseTimeout: startToCloseTimeout as Duration,
    heartbeatTimeout: READ_HEARTBEAT_TIMEOUT,
    retry: { maximumAttempts, initialInterval: '1 second', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
  };
}
