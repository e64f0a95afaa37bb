// Durable approval (SPEC §4), shared by every mutating workflow: the run computes its plan and gates, exposes them
// by query, and waits for an `approve` update carrying the hash of the plan the operator saw (or `cancel`).
// Unapproved runs expire. The validators reject an approval of a different plan, and a cancel once changes began.
import type { Duration } from '@temporalio/common';
import type { UpdateDefinition } from '@temporalio/common';
import { condition, setHandler } from '@temporalio/workflow';
import { ApproveInputSchema, type ApproveInput } from '../contracts/schema-migrate';

interface Approvable {
  state: string;
  planHash: string;
}

export interface ApprovalGate {
  /** Waits for the operator; resolves immediately when the run was approved up front (--yes). */
  wait(timeout: Duration): Promise<'approved' | 'cancelled' | 'expired'>;
}

export function approvalGate<P extends Approvable>(opts: {
  progress: P;
  approvedUpFront: boolean;
  approve: UpdateDefinition<P, [ApproveInput]>;
  cancel: UpdateDefinition<P, [{ reason?: string }]>;
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
  return {
    async wait(timeout) {
      if (approved) return 'approved';
      const answered = await condition(() => approved || cancelled, timeout);
      if (!answered) return 'expired';
      return cancelled ? 'cancelled' : 'approved';
    },
  };
}
