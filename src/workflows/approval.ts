// Durable approval (SPEC §4), shared by every mutating workflow: the run computes its plan and gates, exposes them
// by query, and waits for an `approve` update carrying the hash of the plan the operator saw (or `cancel`).
// Unapproved runs expire. The validators reject an approval of a different plan, and a cancel once changes began.
import type { Duration } from '@temporalio/common';
import type { UpdateDefinition } from '@temporalio/common';
import { condition, setHandler } from '@temporalio/workflow';
import { ApproveInputSchema, type ApproveInput, type CancelInput } from '../contracts/change-run';

interface Approvable {
  state: string;
  planHash: string;
}

export interface ApprovalGate {
  /** Waits for the operator; resolves immediately when the run was approved up front (--yes). */
  wait(timeout: Duration): Promise<'approved' | 'cancelled' | 'expired'>;
  /**
   * The end of planning, the same in every mutating workflow: refused ⇒ `refused`; a dry-run ⇒ `dry-run`;
   * nothing to do ⇒ `completed`; otherwise wait for approval unless given up front (⇒ `cancelled` / `expired`).
   * Sets each state through `setState`; true when the run may go on and change things.
   */
  settle(opts: {
    refused: boolean;
    dryRun: boolean;
    nothingToDo?: boolean;
    timeout: Duration;
    setState: (state: 'refused' | 'dry-run' | 'completed' | 'awaiting-approval' | 'cancelled' | 'expired') => void;
  }): Promise<boolean>;
}

export function approvalGate<P extends Approvable>(opts: {
  progress: P;
  approvedUpFront: boolean;
  approve: UpdateDefinition<P, [ApproveInput]>;
  cancel: UpdateDefinition<P, [CancelInput]>;
  /** States in which a cancel is still safe (nothing changed yet). */
  cancellableIn: readonly string[];
  /** What a cancel after that point would interrupt, for the refusal message. */
  changing: string;
}): ApprovalGate {
  const { progress } = opts;
  let approved = opts.approvedUpFront;
  let cancelled = false;
  setHandler(
    opts.approve,
    () => {
      approved = true;
      return progress;
    },
    {
      validator: (raw: ApproveInput) => {
        const a = ApproveInputSchema.parse(raw);
        if (progress.state !== 'awaiting-approval') throw new Error(`run is ${progress.state}, not awaiting approval`);
        if (a.planHash !== progress.planHash) {
          throw new Error(
            `the plan changed since it was shown (hash ${a.planHash}, now ${progress.planHash}); look again`,
          );
        }
      },
    },
  );
  setHandler(
    opts.cancel,
    (_req: { reason?: string }) => {
      cancelled = true;
      return progress;
    },
    {
      validator: (_req: { reason?: string }) => {
        if (!opts.cancellableIn.includes(progress.state)) {
          throw new Error(`run is ${progress.state}: cancel is possible only before ${opts.changing}`);
        }
      },
    },
  );
  const wait: ApprovalGate['wait'] = async (timeout) => {
    if (approved) return 'approved';
    const answered = await condition(() => approved || cancelled, timeout);
    if (!answered) return 'expired';
    return cancelled ? 'cancelled' : 'approved';
  };
  return {
    wait,
    async settle({ refused, dryRun, nothingToDo = false, timeout, setState }) {
      if (refused) {
        setState('refused');
        return false;
      }
      if (dryRun) {
        setState('dry-run');
        return false;
      }
      if (nothingToDo) {
        setState('completed');
        return false;
      }
      if (!opts.approvedUpFront) {
        setState('awaiting-approval');
        const answer = await wait(timeout);
        if (answer !== 'approved') {
          setState(answer);
          return false;
        }
      }
      return true;
    },
  };
}
