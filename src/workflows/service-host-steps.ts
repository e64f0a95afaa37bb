// The host-step activities of one service upgrade and their timeouts (from the heartbeat work on issue 11 item 7).
import type { Duration, RetryPolicy } from '@temporalio/common';
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ServiceUpgradeInput } from '../contracts/upgrade';
import { NON_RETRYABLE_FAILURES } from '../errors';

/**
 * Host steps heartbeat every few seconds while they work (src/activities/heartbeat.ts), however long the work: the
 * heartbeat timeout only has to notice a dead worker, so it is short; the start-to-close timeout is the ceiling
 * of what the step can legitimately take. Option values are not part of the history's commands: changing them
 * needs no patch.
 */
export const HOST_STEP_HEARTBEAT_TIMEOUT = '30 seconds';
const HOST_STEP_RETRY: RetryPolicy = {
  maximumAttempts: 5,
  initialInterval: '2 seconds',
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
};
/** Detect, activate (a restart is bounded at 2 minutes), finalize, rollback: a few SSH commands each. */
const HOST_STEP_TIMEOUT = '15 minutes';
/**
 * Staging moves the artifact twice (release server → worker, worker → host), then hashes and unpacks it on the
 * host: 10 minutes plus its size at a pessimistic 1 MiB/s per move, at most 6 hours. An unsized artifact is
 * bounded by the worker's 2 GiB download cap; an image pull (size unknown before the pull) gets 1 hour.
 */
export function stageTimeoutMs(mode: 'native' | 'docker', sizeBytes: number | undefined): number {
  const base = 10 * 60_000;
  if (mode === 'docker') return 60 * 60_000;
  const bytes = sizeBytes ?? 2 * 1024 ** 3;
  return Math.min(6 * 3_600_000, base + Math.ceil((2 * bytes) / 1024 ** 2) * 1000);
}

/** The host-step activities of one run, with its heartbeat timeout and the stage timeout of each artifact. */
export function hostSteps(input: ServiceUpgradeInput) {
  const heartbeatTimeout = (input.hostStepHeartbeatTimeout ?? HOST_STEP_HEARTBEAT_TIMEOUT) as Duration;
  const steps = proxyActivities<Activities>({
    startToCloseTimeout: HOST_STEP_TIMEOUT,
    heartbeatTimeout,
    retry: HOST_STEP_RETRY,
  });
  return {
    detectServiceOnHost: steps.detectServiceOnHost,
    activateServiceOnHost: steps.activateServiceOnHost,
    finalizeServiceOnHost: steps.finalizeServiceOnHost,
    rollbackServiceOnHost: steps.rollbackServiceOnHost,
    stageServiceOnHost: (args: Parameters<Activities['stageServiceOnHost']>[0]) =>
      proxyActivities<Activities>({
        startToCloseTimeout: stageTimeoutMs(args.mode, args.artifact?.sizeBytes),
        heartbeatTimeout,
        retry: HOST_STEP_RETRY,
      }).stageServiceOnHost(args),
  };
}
