// The lifecycle every change run shares (issue 13): plan → gates → approval gate → execute → result. A mutating
// workflow describes its own plan (facts, pure decisions, gates, the plan hash) and its own execution; changeRun
// owns the rest — the `progress` query, the `approve` / `cancel` updates, the FwState search attribute on every
// state change, the end of planning (refused / dry-run / nothing to do / awaiting approval / expired / cancelled),
// and `completed` when execution returns. Each step issues exactly the commands the workflows issued before they
// shared it, so recorded histories replay unchanged.
import { ApplicationFailure, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { CANCELLABLE_STATES, type ChangeRunProgress, type ChangeRunState } from '../contracts/change-run';
import { FailureType } from '../errors';
import { FwState, FwTargetVersion } from '../temporal/search-attributes';
import { approvalGate } from './approval';
import type { ChangeRunMessages } from './messages';

/** What plan and execute may do to the run. */
export interface ChangeRun<P extends ChangeRunProgress> {
  progress: P;
  /** Sets the state and upserts FwState. */
  setState: (state: ChangeRunState) => void;
  /** Pins the run's target version once: progress and the FwTargetVersion search attribute. */
  pinTarget: (target: string) => void;
  /** Ends the run as failed: the error on its progress, FwState `failed`, a non-retryable failure of `type`. */
  fail: (message: string, type?: FailureType) => never;
}

export interface ChangeRunSpec<P extends ChangeRunProgress> {
  progress: P;
  messages: ChangeRunMessages<P>;
  input: { approved: boolean; dryRun: boolean; approvalTimeout: string };
  /** What a cancel after approval would interrupt, for its refusal ("any host changes"). */
  changing: string;
  /** The state set right after approval; without it, execute sets its own states as it goes. */
  executing?: ChangeRunState;
  /** The FwState value of a state (release writes `running:<step>`); the state itself by default. */
  stateValue?: (state: ChangeRunState) => string;
  /** Facts, decisions and gates; fills progress (checks, plan hash) and says how planning ended. */
  plan(run: ChangeRun<P>): Promise<{ refused: boolean; nothingToDo?: boolean }>;
  /** The change itself; returns when it completed, throws (after run.fail or its own failed state) otherwise. */
  execute(run: ChangeRun<P>): Promise<void>;
}

export async function changeRun<P extends ChangeRunProgress>(spec: ChangeRunSpec<P>): Promise<P> {
  const { progress } = spec;
  const setState = (state: ChangeRunState): void => {
    progress.state = state;
    upsertSearchAttributes([{ key: FwState, value: spec.stateValue?.(state) ?? state }]);
  };
  const run: ChangeRun<P> = {
    progress,
    setState,
    pinTarget: (target) => {
      progress.target = target;
      upsertSearchAttributes([{ key: FwTargetVersion, value: target }]);
    },
    fail: (message, type = FailureType.UpgradeFailed) => {
      progress.error = message;
      setState('failed');
      throw ApplicationFailure.create({ type, message, nonRetryable: true });
    },
  };
  setHandler(spec.messages.progress, () => progress);
  const approval = approvalGate({
    progress,
    approvedUpFront: spec.input.approved,
    approve: spec.messages.approve,
    cancel: spec.messages.cancel,
    cancellableIn: CANCELLABLE_STATES,
    changing: spec.changing,
  });
  const planned = await spec.plan(run);
  const proceed = await approval.settle({
    refused: planned.refused,
    dryRun: spec.input.dryRun,
    nothingToDo: planned.nothingToDo ?? false,
    timeout: spec.input.approvalTimeout as Duration,
    setState,
  });
  if (!proceed) return progress;
  if (spec.executing) setState(spec.executing);
  await spec.execute(run);
  setState('completed');
  return progress;
}
