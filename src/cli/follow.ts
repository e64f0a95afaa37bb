// Following a mutating run from the CLI: poll its `progress` query, print what changed, and stop at the end.
// Ctrl-C detaches (the run lives in Temporal) and says how to reattach.
import type { WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { ApproveInput, CancelInput } from '../contracts/change-run';
import { ExitError } from '../errors';
import type { Output } from './output';
import { confirm } from './prompt';
import { reconnecting } from './reconnect';
import { operatorName } from './runs';

export interface FollowOptions<P> {
  handle: WorkflowHandle;
  query: () => Promise<P>;
  /** Called with each new progress snapshot; returns lines to print (only changes are printed). */
  render: (p: P) => string[];
  /** True when the snapshot is terminal (the run has ended or needs nothing more from us). */
  done: (p: P) => boolean;
  /** Called once when the run waits on the operator; may send updates. Returns false to stop following. */
  onWaiting?: (p: P) => Promise<boolean>;
  waiting?: (p: P) => boolean;
  /** What the run waits on (asked once per key; default one key: the approval). */
  waitKey?: (p: P) => string;
  pollMs?: number;
  reattach: string;
}

export async function follow<P>(opts: FollowOptions<P>): Promise<P> {
  const printed = new Set<string>();
  let detached = false;
  const onSigint = (): void => {
    detached = true;
  };
  process.once('SIGINT', onSigint);
  const asked = new Set<string>();
  // Temporal restarting or out of reach: say so, retry, carry on, or give up with the reattach command.
  const query = reconnecting(opts.query, { reattach: opts.reattach });
  // The wait between reads ends early when the run closes (a long poll on its result): the last read comes at once
  // instead of up to a poll interval later. Whatever the result says is read again through the progress query.
  // Once: a progress read that still is not terminal after the close waits the interval as before (no spinning).
  const stop = new AbortController();
  let closedSeen = false;
  const closed = opts.handle.client
    .withAbortSignal(stop.signal, () => opts.handle.result())
    .then(
      () => undefined,
      () => undefined,
    )
    .then(() => {
      closedSeen = true;
    });
  try {
    for (;;) {
      if (detached) {
        throw new ExitError(`\nDetached; the run continues in Temporal. Reattach with: ${opts.reattach}`, 130);
      }
      const p = await query();
      for (const line of opts.render(p)) {
        if (!printed.has(line)) {
          printed.add(line);
          process.stdout.write(`${line}\n`);
        }
      }
      if (opts.done(p)) return p;
      const key = opts.waitKey?.(p) ?? 'approval';
      if (opts.waiting?.(p) && opts.onWaiting && !asked.has(key)) {
        asked.add(key);
        process.off('SIGINT', onSigint);
        const keepGoing = await opts.onWaiting(p);
        process.once('SIGINT', onSigint);
        if (!keepGoing) return p;
      }
      let timer: NodeJS.Timeout | undefined;
      const interval = new Promise((r) => (timer = setTimeout(r, opts.pollMs ?? 400)));
      await Promise.race(closedSeen ? [interval] : [interval, closed]);
      clearTimeout(timer);
    }
  } finally {
    stop.abort();
    process.off('SIGINT', onSigint);
  }
}

/**
 * One progress read for follow(). A run that failed before reaching a terminal progress state (an activity
 * failing non-retryably while planning) still answers the query with its last state, forever: a closed run's
 * progress is final (read again: it may have finished between the two calls), and one still not terminal is
 * reported as failed — the run's result then says why.
 */
export async function readProgress<P extends { state: string }>(
  handle: WorkflowHandle,
  read: () => Promise<P>,
  terminal: ReadonlySet<string>,
): Promise<P> {
  const p = await read();
  if (terminal.has(p.state)) return p;
  const { status } = await handle.describe();
  if (status.name === 'RUNNING') return p;
  const last = await read();
  return terminal.has(last.state) ? last : { ...last, state: 'failed' };
}

/**
 * The approval prompt of a run waiting for `approve`: yes approves the plan that was shown (its hash); no cancels
 * the run when a `cancel` update is given (the command that started it), or leaves it waiting (`runs watch`).
 */
export async function askApproval<P extends { planHash: string }>(
  handle: WorkflowHandle,
  p: P,
  question: string,
  updates: { approve: UpdateDefinition<P, [ApproveInput]>; cancel?: UpdateDefinition<P, [CancelInput]> },
  out?: Output,
): Promise<boolean> {
  if (await confirm(question)) {
    await handle.executeUpdate(updates.approve, { args: [{ planHash: p.planHash, operator: operatorName() }] });
    return true;
  }
  if (updates.cancel) {
    await handle.executeUpdate(updates.cancel, { args: [{ reason: 'declined at the prompt' }] });
    out?.line('Cancelled');
  }
  return false;
}
