// One replica of a service upgrade (moved whole from service-replicas.ts, which runs the replicas in order): what
// the detection decides for it (pin, moves, at target or not), then its move — start a stopped replica at target,
// skip one at target, or (stage →) activate → health → finalize, rolling back on failure. Both orders of
// upgradeReplicas (one replica after another, or all detected and staged first: service-prestage.ts) use these,
// so a replica is moved, checked and rolled back the same way in both.
import { patched } from '@temporalio/workflow';
import type { Artifact } from '../contracts/plan';
import type { HostDetection, HostOutcome, ServiceUpgradeInput, ServiceUpgradeResult } from '../contracts/upgrade';
import { artifactIdentity, artifactPinProblems } from '../domain/artifacts';
import { imageDigest } from '../domain/image-ref';
import { stageStep } from '../domain/stage-ahead';
import { failureMessage } from '../temporal/failures';
import { hostSteps } from './service-host-steps';

/**
 * Patch (issue 12, upgrade speed): a native replica's finalize is not scheduled — it does nothing on the host (the
 * previous release folder stays for rollback; only docker drops the kept container), yet cost an activity and a
 * workflow task per replica. Runs recorded before still schedule it.
 */
export const NATIVE_NO_FINALIZE_PATCH = 'service-upgrade-native-no-finalize-v1';

/** Patch id: a host step failing before activation is "failed, nothing changed", with no rollback activity. */
const NOTHING_CHANGED_BEFORE_ACTIVATION = 'service-upgrade-no-rollback-before-activation';

/** What each host ran before its step and what the step moves it to (identities and config hashes). */
export type Moves = Map<string, Pick<HostOutcome, 'fromIdentity' | 'fromConfigHash' | 'toIdentity' | 'toConfigHash'>>;

/** What every replica of one run shares: its input, activities, health wait and the run's patch decisions. */
export interface ReplicaRun {
  input: ServiceUpgradeInput;
  moves: Moves;
  host: ReturnType<typeof hostSteps>;
  /** The host step input, with the host's architecture as the parent run read it (once per host per run). */
  on: (hostName: string) => { cluster: string; service: string; host: string; arch?: string };
  healthy: (hostName: string) => Promise<{ healthy: boolean; error?: string }>;
  /** START_STOPPED_PATCH: a stopped replica at target is started rather than skipped. */
  startStopped: boolean;
}

/** A replica's outcome and, when the run stops at it, the service's outcome and error. */
export interface ReplicaStep {
  outcome: HostOutcome;
  stop?: { outcome: ServiceUpgradeResult['outcome']; error: string };
}

/** A detected replica the run can pin: what it moves to and whether it already runs that. */
export interface ReplicaPlan {
  hostName: string;
  detected: HostDetection;
  identity: string;
  artifact: Artifact | undefined;
  atTarget: boolean;
}

const ref = (input: ServiceUpgradeInput) => ({ cluster: input.cluster, service: input.service });

/** These replicas, untouched. */
export const notAttempted = (input: ServiceUpgradeInput, hosts: string[]): HostOutcome[] =>
  hosts.map((h) => ({ host: h, action: 'not-attempted' as const, from: null, to: input.version }));

/**
 * The pin of a detected replica, recorded in `moves`; or, when none can be had, its failed step (nothing changed).
 * The plan's artifact gate refuses an unpinned service before this child starts; should one get here anyway, an
 * absent pin must neither count as "already at target" nor be installed unverified.
 */
export function planReplica(run: ReplicaRun, hostName: string, detected: HostDetection): ReplicaPlan | ReplicaStep {
  const { input } = run;
  const artifact = input.mode === 'native' ? input.artifacts.find((a) => a.arch === detected.arch) : undefined;
  const identity = input.onHost
    ? input.onHost.identity
    : input.mode === 'docker'
      ? imageDigest(input.imageRef ?? '')
      : artifactIdentity(artifact);
  if (identity === null) {
    const why =
      input.mode === 'docker'
        ? 'no image digest to pin'
        : artifact
          ? artifactPinProblems(artifact).join('; ')
          : `no artifact for ${detected.arch ?? 'an undetected architecture'}`;
    const detail = `${why}; nothing changed`;
    return {
      outcome: { host: hostName, action: 'failed', from: detected.version, to: input.version, detail },
      stop: { outcome: 'failed', error: `${input.service} on ${hostName} cannot be pinned by content: ${why}` },
    };
  }
  run.moves.set(hostName, {
    fromIdentity: detected.identity,
    fromConfigHash: detected.configHash,
    toIdentity: identity,
    toConfigHash: input.configHash,
  });
  const atTarget = detected.identity === identity && detected.configHash === input.configHash;
  return { hostName, detected, identity, artifact, atTarget };
}

/** The stage step input of a planned replica (a rollback stages nothing: its identity is already on the host). */
export function stageInput(run: ReplicaRun, plan: ReplicaPlan) {
  return stageStep(run.input, plan.hostName, plan.artifact);
}

const activation = (run: ReplicaRun, hostName: string, identity: string) => ({
  ...run.on(hostName),
  mode: run.input.mode,
  identity,
  version: run.input.version,
  ...(run.input.imageRef ? { imageRef: run.input.imageRef } : {}),
});

/** Moves one planned replica; `stage` first stages it (the one-by-one order), else it was staged already. */
export async function moveReplica(run: ReplicaRun, plan: ReplicaPlan, stage: boolean): Promise<ReplicaStep> {
  const { input, host } = run;
  const { hostName, detected, identity } = plan;
  const from = detected.version;
  const to = input.version;
  if (plan.atTarget && run.startStopped && !detected.running) {
    // Nothing to download or switch: activate at the target identity starts the stopped service in place.
    let why: string | undefined;
    try {
      await host.activateServiceOnHost(activation(run, hostName, identity));
      const h = await run.healthy(hostName);
      if (!h.healthy) why = `started, but health check failed after ${input.healthDeadline}: ${h.error ?? 'unhealthy'}`;
    } catch (err) {
      why = `could not start it: ${failureMessage(err)}`;
    }
    const detail = 'was stopped at the target identity and config; started and healthy';
    if (why === undefined) return { outcome: { host: hostName, action: 'started', from, to, detail } };
    // It already runs the target, so there is no other identity to roll back to.
    return {
      outcome: { host: hostName, action: 'failed', from, to, detail: `stopped at target; ${why}` },
      stop: { outcome: 'failed', error: `${input.service} on ${hostName} was stopped at the target: ${why}` },
    };
  }
  if (plan.atTarget) {
    return {
      outcome: { host: hostName, action: 'skipped', from, to, detail: 'identity and config already at target' },
    };
  }
  // Until activation starts nothing running on the host has changed (staging only adds a release folder or
  // pulls an image): a failure then is reported as such, not "rolled back" (issue 11, point 11).
  let activating = false;
  try {
    if (stage) await host.stageServiceOnHost(stageInput(run, plan));
    activating = true;
    const act = await host.activateServiceOnHost(activation(run, hostName, identity));
    const health = await run.healthy(hostName);
    if (health.healthy) {
      // --canary: the canary is finalized once continued (service-canary.ts); its rollback needs what was kept.
      // Native finalize is a no-op on the host (finalizeOnHost): not scheduled at all since NATIVE_NO_FINALIZE_PATCH.
      const finalize = input.mode === 'docker' || !patched(NATIVE_NO_FINALIZE_PATCH);
      if (!input.canary && finalize)
        await host.finalizeServiceOnHost({ ...ref(input), host: hostName, mode: input.mode });
      return { outcome: { host: hostName, action: act.action === 'reloaded' ? 'reloaded' : 'upgraded', from, to } };
    }
    throw new Error(`health check failed on ${hostName} after ${input.healthDeadline}: ${health.error ?? 'unhealthy'}`);
  } catch (err) {
    const why = failureMessage(err);
    if (!activating && patched(NOTHING_CHANGED_BEFORE_ACTIVATION)) return stageFailed(run, plan, why);
    if (!input.rollback || !detected.identity) {
      const no = input.rollback ? '; previous identity unknown: not rolled back' : '; rollback disabled';
      return {
        outcome: { host: hostName, action: 'failed', from, to, detail: `${why}${no}` },
        stop: { outcome: 'failed', error: `upgrade failed on ${hostName}: ${why}` },
      };
    }
    const critical = (detail: string): ReplicaStep => ({
      outcome: { host: hostName, action: 'rollback-failed', from, to, detail: `${why}; rollback: ${detail}` },
      stop: {
        outcome: 'rollback-failed',
        error: `CRITICAL: upgrade failed on ${hostName} and rollback failed: ${detail}`,
      },
    });
    try {
      await host.rollbackServiceOnHost({
        ...run.on(hostName),
        mode: input.mode,
        to: { identity: detected.identity, configHash: detected.configHash ?? '' },
      });
    } catch (rbErr) {
      return critical(failureMessage(rbErr));
    }
    const again = await run.healthy(hostName);
    if (!again.healthy) return critical(`still unhealthy after rollback: ${again.error ?? ''}`);
    return {
      outcome: { host: hostName, action: 'rolled-back', from, to, detail: why },
      stop: {
        outcome: 'rolled-back',
        error: `upgrade failed on ${hostName}, rolled back to ${from ?? 'the previous identity'}: ${why}`,
      },
    };
  }
}

/** A replica whose staging failed: nothing running on it changed, so there is nothing to roll back. */
export function stageFailed(run: ReplicaRun, plan: ReplicaPlan, why: string): ReplicaStep {
  const { hostName } = plan;
  const detail = `${why}; failed before activation: nothing changed on ${hostName}, nothing to roll back`;
  return {
    outcome: { host: hostName, action: 'failed', from: plan.detected.version, to: run.input.version, detail },
    stop: { outcome: 'failed', error: `upgrade failed on ${hostName} before anything changed: ${why}` },
  };
}

/** The service's result when the run stops at a replica: the replicas after it are untouched. */
export function stopped(
  input: ServiceUpgradeInput,
  outcomes: HostOutcome[],
  rest: string[],
  step: ReplicaStep,
): ServiceUpgradeResult {
  return {
    service: input.service,
    outcome: step.stop!.outcome,
    hosts: [...outcomes, ...notAttempted(input, rest)],
    error: step.stop!.error,
  };
}

/** The service's result when every replica was moved, started or skipped. */
export function finished(input: ServiceUpgradeInput, outcomes: HostOutcome[]): ServiceUpgradeResult {
  const deployed = outcomes.some((o) => o.action !== 'skipped' && o.action !== 'started');
  const started = outcomes.some((o) => o.action === 'started');
  return {
    service: input.service,
    outcome: deployed ? 'upgraded' : started ? 'started' : 'skipped',
    hosts: outcomes,
  };
}
