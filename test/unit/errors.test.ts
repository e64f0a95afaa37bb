// The one error vocabulary (issue 13 §6): the cause-unwrapping helper (src/temporal/failures.ts) finds the failure
// that says what happened under Temporal's wrappers, "already started" is recognised by type and never by message
// text, and the one failure-type list (src/errors.ts) decides which failures are retried.
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  RetryState,
  TimeoutFailure,
  TimeoutType,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { failure } from '../../src/activities/failures';
import { pausedFailure } from '../../src/activities/data-migrations/state';
import { parseRef } from '../../src/cli/commands/data-migrate';
import { FailureType, NON_RETRYABLE_FAILURES } from '../../src/errors';
import { failureMessage, isAlreadyStarted } from '../../src/temporal/failures';

const activityFailed = (cause: Error) =>
  new ActivityFailure('Activity task failed', 'applyMigration', '7', RetryState.NON_RETRYABLE_FAILURE, 'w', cause);
const childFailed = (cause: Error) =>
  new ChildWorkflowFailure(
    'default',
    { workflowId: 'fw/lab/dm', runId: 'r' },
    'dataMigration',
    'NON_RETRYABLE_FAILURE',
    cause,
  );

describe('failureMessage', () => {
  it("reports an activity's ApplicationFailure, not the wrapper nor the raw error under it", () => {
    const raw = new Error('ECONNRESET');
    const typed = ApplicationFailure.create({
      type: FailureType.MigrationFailed,
      message: 'x.sql:3: failed',
      cause: raw,
    });
    expect(failureMessage(activityFailed(typed))).toBe('x.sql:3: failed');
  });

  it("reaches through a child workflow and a failed run to the child's own failure", () => {
    const typed = ApplicationFailure.create({ type: FailureType.GateRefused, message: 'purser.lines is paused' });
    const run = new WorkflowFailedError(
      'Workflow execution failed',
      childFailed(activityFailed(typed)),
      'NON_RETRYABLE_FAILURE',
    );
    expect(failureMessage(run)).toBe('purser.lines is paused');
  });

  it('falls back to the innermost error when no ApplicationFailure is in the chain', () => {
    const timeout = new TimeoutFailure('activity StartToClose timeout', undefined, TimeoutType.START_TO_CLOSE);
    expect(failureMessage(activityFailed(timeout))).toBe('activity StartToClose timeout');
    expect(failureMessage(new Error('plain'))).toBe('plain');
    expect(failureMessage('a string')).toBe('a string');
  });

  it('ends on a cause cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(failureMessage(a)).toBe('b');
  });
});

describe('isAlreadyStarted', () => {
  it('is decided by the error type, not by the words of a message', () => {
    expect(isAlreadyStarted(new WorkflowExecutionAlreadyStartedError('started', 'fw/lab/dm', 'dataMigration'))).toBe(
      true,
    );
    expect(isAlreadyStarted(ApplicationFailure.create({ message: 'workflow already started elsewhere' }))).toBe(false);
    expect(isAlreadyStarted(childFailed(new Error('already running')))).toBe(false);
  });
});

describe('failure types', () => {
  it('classify retries from the one list', () => {
    for (const type of Object.values(FailureType)) {
      expect(failure(type, 'm').nonRetryable, type).toBe(NON_RETRYABLE_FAILURES.includes(type));
    }
    expect(failure(FailureType.HostCommandFailed, 'm').nonRetryable).toBe(false);
    expect(failure(FailureType.UnsafeArtifact, 'm').nonRetryable).toBe(true);
  });

  it('a paused batch names a resume command the CLI parses', () => {
    const err = pausedFailure('purser', 'invoice-line-items') as ApplicationFailure;
    expect(err.type).toBe(FailureType.DataMigrationPaused);
    const ref = /data-migrate resume (\S+)\)/.exec(err.message)?.[1];
    expect(parseRef(ref ?? '')).toEqual({ service: 'purser', id: 'invoice-line-items' });
  });
});
