// The canary pause of `cluster upgrade --canary` (issue 12 item 3), parent side. Where the decision lives: the
// operator addresses the clusterUpgrade run (fw/<cluster>/change, the id every command prints), so the `canary`
// update goes to it; the replicas are moved by the service's child run. The child upgrades its first changing
// replica, then signals `canaryReady` to its parent and waits — without a timer of its own — for the parent's
// `canaryVerdict` signal. Every timing and every decision is made here, in ONE place: the soak timer, the
// deadline timer, the update (validated against what is awaiting, so a late or duplicate answer is refused, not
// lost), and expiry, which is just the verdict `rollback` given by the timer. The child only executes the verdict.
// Both directions are signals, i.e. commands in both histories, so a replay takes the same branch; an update or a
// timer firing first is decided once by the `entry.state` it flips. A single place for the deadline also means the
// Web UI's progress query shows the deadline that will actually apply.
import type { Duration } from '@temporalio/common';
import { condition, getExternalWorkflowHandle, patched, setHandler, sleep } from '@temporalio/workflow';
import { CanaryInputSchema, type CanaryEntry, type CanaryInput } from '../contracts/canary';
import { durationMs } from '../contracts/duration';
import type { ClusterUpgradeProgress } from '../contracts/upgrade';
import { serviceChildWorkflowId } from '../temporal/ids';
import type { ChangeRun } from './change-run';
import type { ParsedUpgradeInput } from './cluster-upgrade';
import { canaryReadySignal, canaryUpdate, canaryVerdictSignal } from './messages';
import { decide } from './util';

/**
 * Patch (issue 12 item 3): `--canary` runs register the canary handlers, start their children with `canary`, and
 * issue the soak / deadline timers and the verdict signals. Only runs started with `--canary` ever reach it, so
 * runs recorded before (and runs without the flag) issue exactly the commands they did.
 */
export const CANARY_PATCH = 'cluster-upgrade-canary-v1';

const stateOf = (entry: CanaryEntry): CanaryEntry['state'] => entry.state;

/** Sets up the canary pause of a `--canary` run; true when its children must pause (the patch was taken). */
export function canaryPause(input: ParsedUpgradeInput, run: ChangeRun<ClusterUpgradeProgress>): boolean {
  if (!input.canary || !patched(CANARY_PATCH)) return false;
  const { progress } = run;
  const canaries: CanaryEntry[] = [];
  progress.canaries = canaries;
  const soakMs = input.soak === undefined ? 0 : decide(() => durationMs(input.soak!));
  const timeoutMs = decide(() => durationMs(input.canaryTimeout));
  const iso = (ms: number): string => new Date(ms).toISOString();
  // The run's state: `awaiting-canary` while any canary waits for the operator (FwState, Web UI), else upgrading.
  const refresh = (): void => {
    const next = canaries.some((c) => c.state === 'awaiting') ? 'awaiting-canary' : 'upgrading';
    if (progress.state !== next) run.setState(next);
  };
  const waiting = (service?: string): CanaryEntry[] =>
    canaries.filter((c) => c.state === 'awaiting' && (service === undefined || c.service === service));

  setHandler(canaryReadySignal, async ({ service, host }) => {
    const entry: CanaryEntry = { service, host, state: 'soaking', healthyAt: iso(Date.now()) };
    canaries.push(entry);
    if (soakMs > 0) await sleep(input.soak as Duration);
    entry.state = 'awaiting';
    entry.deadline = iso(Date.now() + timeoutMs);
    refresh();
    const answered = await condition(() => entry.state !== 'awaiting', timeoutMs);
    if (!answered) entry.state = 'expired';
    refresh();
    // Read again: the update handler (not this function) set it while we waited.
    const settled = stateOf(entry);
    const reason =
      settled === 'continued'
        ? `continued by ${entry.decidedBy || 'the operator'}`
        : settled === 'expired'
          ? `rolled back: no decision within ${input.canaryTimeout}`
          : `rolled back by ${entry.decidedBy || 'the operator'}`;
    await getExternalWorkflowHandle(serviceChildWorkflowId(input.cluster, service)).signal(canaryVerdictSignal, {
      decision: settled === 'continued' ? 'continue' : 'rollback',
      reason,
    });
  });

  setHandler(
    canaryUpdate,
    (raw: CanaryInput) => {
      const d = CanaryInputSchema.parse(raw);
      for (const entry of waiting(d.service)) {
        entry.state = d.decision === 'continue' ? 'continued' : 'rolled-back';
        entry.decidedBy = d.operator || 'unknown';
      }
      refresh();
      return progress;
    },
    {
      validator: (raw: CanaryInput) => {
        const d = CanaryInputSchema.parse(raw);
        if (waiting(d.service).length > 0) return;
        const soaking = canaries.filter((c) => c.state === 'soaking' && (!d.service || c.service === d.service));
        if (soaking.length > 0) {
          throw new Error(`the canary of ${soaking.map((c) => c.service).join(', ')} is still soaking; ask again`);
        }
        throw new Error(
          `no canary of ${d.service ?? 'this run'} is awaiting a decision (run is ${progress.state}${
            canaries.length ? `; ${canaries.map((c) => `${c.service}: ${c.state}`).join(', ')}` : ''
          })`,
        );
      },
    },
  );
  return true;
}
