// The one place that unwraps the ActivityFailure / ChildWorkflowFailure / WorkflowFailedError layers Temporal puts
// around the failure that says what happened (issue 13 §6), and recognises Temporal's own refusals by their error
// class. Workflow-safe (@temporalio/common only); the CLI reaches it only from commands that talk to Temporal.
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { errorMessage } from '../errors';

/** `err` and its causes, outermost first (a cycle ends the walk). */
function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err; e !== undefined && e !== null && !chain.includes(e); e = e instanceof Error ? e.cause : undefined) {
    chain.push(e);
  }
  return chain;
}

/**
 * The failure that says what happened: the first ApplicationFailure in the cause chain (what an activity or a
 * workflow threw, with its type — an activity's own cause under it is only its raw error), else the innermost
 * error (a timeout, a cancellation, a plain Error).
 */
function failureOf(err: unknown): unknown {
  const chain = causeChain(err);
  return chain.find((e) => e instanceof ApplicationFailure) ?? chain.at(-1) ?? err;
}

/** The message an operator needs from a failed activity, child workflow or run: failureOf's. */
export function failureMessage(err: unknown): string {
  return errorMessage(failureOf(err));
}

/** Whether starting a workflow (or a child) was refused because one with that id is already running. */
export function isAlreadyStarted(err: unknown): boolean {
  return causeChain(err).some((e) => e instanceof WorkflowExecutionAlreadyStartedError);
}
