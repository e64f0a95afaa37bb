// The replicas of one service, one by one (SPEC §6): detect → skip on equal identity, config and running state →
// stage → activate → health loop on durable timers → on failure, roll back (compensation) and stop. The body of
// the serviceUpgrade child workflow (service-upgrade.ts), which wraps it with its FwState.
import { patched } from '@temporalio/workflow';
import type { HostOutcome, ServiceUpgradeInput, ServiceUpgradeResult } from '../contracts/upgrade';
import { artifactIdentity, artifactPinProblems } from '../domain/artifacts';
import { imageDigest } from '../domain/image-ref';
import { durationMs } from '../contracts/duration';
import { failureMessage } from '../temporal/failures';
import { decide } from './util';
import { legacyDurationMs, waitHealthy } from './service-health';
import { hostSteps } from './service-host-steps';

/**
 * Patch (issue 11 items 6, 8): a replica at the target identity and config that is stopped is started (no
 * staging) and health-checked, reported `started`; health deadlines are read with the one duration parser the
 * contracts validate with. Runs recorded before keep skipping such replicas and their old parser.
 */
export const START_STOPPED_PATCH = 'service-upgrade-start-stopped-v1';

/**
 * Patch (issue 12 item 1): after an unhealthy probe the wait backs off from 250 ms doubling up to the interval
 * (src/domain/health-backoff.ts) instead of sleeping the whole interval, for upgrade and rollback health alike.
 * Runs recorded before keep their fixed-interval timers.
 */
export const HEALTH_BACKOFF_PATCH = 'service-upgrade-health-backoff-v1';

/** Patch id: a host step failing before activation is "failed, nothing changed", with no rollback activity. */
const NOTHING_CHANGED_BEFORE_ACTIVATION = 'service-upgrade-no-rollback-before-activation';

/** What each host ran before its step and what the step moves it to (identities and config hashes). */
export type Moves = Map<string, Pick<HostOutcome, 'fromIdentity' | 'fromConfigHash' | 'toIdentity' | 'toConfigHash'>>;

/** Fills `moves` per host it reaches; serviceUpgrade annotates the outcomes with them. */
export async function upgradeReplicas(input: ServiceUpgradeInput, moves: Moves): Promise<ServiceUpgradeResult> {
  const outcomes: HostOutcome[] = [];
  const host = hostSteps(input);
  const ref = { cluster: input.cluster, service: input.service };
  // The host's architecture as the parent run read it (once per host per run); the steps then do not read it again.
  const on = (hostName: string) => {
    const arch = input.hostArchs?.[hostName];
    return { ...ref, host: hostName, ...(arch ? { arch } : {}) };
  };
  const targetLabel = input.version;
  const v2 = patched(START_STOPPED_PATCH);
  // The parent validated both durations; a bad one here fails the run instead of retrying its task forever.
  const parse = v2 ? (d: string) => decide(() => durationMs(d)) : legacyDurationMs;
  const backoff = patched(HEALTH_BACKOFF_PATCH);
  const healthy = (hostName: string) =>
    input.skipValidation ? Promise.resolve({ healthy: true } as const) : waitHealthy(input, hostName, parse, backoff);
  for (const [i, hostName] of input.hosts.entries()) {
    const detected = await host.detectServiceOnHost(on(hostName));
    const artifact = input.mode === 'native' ? input.artifacts.find((a) => a.arch === detected.arch) : undefined;
    const identity = input.onHost
      ? input.onHost.identity
      : input.mode === 'docker'
        ? imageDigest(input.imageRef ?? '')
        : artifactIdentity(artifact);
    const from = detected.version;
    // The plan's artifact gate refuses an unpinned service before this child starts; should one get here anyway, an
    // absent pin must neither count as "already at target" nor be installed unverified.
    if (identity === null) {
      const why =
        input.mode === 'docker'
          ? 'no image digest to pin'
          : artifact
            ? artifactPinProblems(artifact).join('; ')
            : `no artifact for ${detected.arch ?? 'an undetected architecture'}`;
      outcomes.push({ host: hostName, action: 'failed', from, to: targetLabel, detail: `${why}; nothing changed` });
      const rest = input.hosts
        .slice(i + 1)
        .map((h) => ({ host: h, action: 'not-attempted' as const, from: null, to: targetLabel }));
      return {
        service: input.service,
        outcome: 'failed',
        hosts: [...outcomes, ...rest],
        error: `${input.service} on ${hostName} cannot be pinned by content: ${why}`,
      };
    }
    moves.set(hostName, {
      fromIdentity: detected.identity,
      fromConfigHash: detected.configHash,
      toIdentity: identity,
      toConfigHash: input.configHash,
    });
    const atTarget = detected.identity === identity && detected.configHash === input.configHash;
    if (atTarget && v2 && !detected.running) {
      // Nothing to download or switch: activate at the target identity starts the stopped service in place.
      let why: string | undefined;
      try {
        await host.activateServiceOnHost({
          ...on(hostName),
          mode: input.mode,
          identity,
          version: input.version,
          ...(input.imageRef ? { imageRef: input.imageRef } : {}),
        });
        const h = await healthy(hostName);
        if (!h.healthy)
          why = `started, but health check failed after ${input.healthDeadline}: ${h.error ?? 'unhealthy'}`;
      } catch (err) {
        why = `could not start it: ${failureMessage(err)}`;
      }
      if (why === undefined) {
        outcomes.push({
          host: hostName,
          action: 'started',
          from,
          to: targetLabel,
          detail: 'was stopped at the target identity and config; started and healthy',
        });
        continue;
      }
      // It already runs the target, so there is no other identity to roll back to.
      outcomes.push({ host: hostName, action: 'failed', from, to: targetLabel, detail: `stopped at target; ${why}` });
      return {
        service: input.service,
        outcome: 'failed',
        hosts: [
          ...outcomes,
          ...input.hosts
            .slice(i + 1)
            .map((h) => ({ host: h, action: 'not-attempted' as const, from: null, to: targetLabel })),
        ],
        error: `${input.service} on ${hostName} was stopped at the target: ${why}`,
      };
    }
    if (atTarget) {
      outcomes.push({
        host: hostName,
        action: 'skipped',
        from,
        to: targetLabel,
        detail: 'identity and config already at target',
      });
      continue;
    }
    // Until activation starts nothing running on the host has changed (staging only adds a release folder or
    // pulls an image): a failure then is reported as such, not "rolled back" (issue 11, point 11).
    let activating = false;
    try {
      // A rollback moves to an identity already on the host: nothing to download or pull.
      if (!input.onHost) {
        const pin = { ...(input.imageRef ? { imageRef: input.imageRef } : {}), ...(artifact ? { artifact } : {}) };
        await host.stageServiceOnHost({ ...ref, host: hostName, mode: input.mode, ...pin });
      }
      activating = true;
      const act = await host.activateServiceOnHost({
        ...on(hostName),
        mode: input.mode,
        identity,
        version: input.version,
        ...(input.imageRef ? { imageRef: input.imageRef } : {}),
      });
      const health = await healthy(hostName);
      if (health.healthy) {
        // --canary: the canary is finalized once continued (service-canary.ts); its rollback needs what was kept.
        if (!input.canary) await host.finalizeServiceOnHost({ ...ref, host: hostName, mode: input.mode });
        outcomes.push({
          host: hostName,
          action: act.action === 'reloaded' ? 'reloaded' : 'upgraded',
          from,
          to: targetLabel,
        });
        continue;
      }
      throw new Error(
        `health check failed on ${hostName} after ${input.healthDeadline}: ${health.error ?? 'unhealthy'}`,
      );
    } catch (err) {
      const why = failureMessage(err);
      const rest = input.hosts
        .slice(i + 1)
        .map((h) => ({ host: h, action: 'not-attempted' as const, from: null, to: targetLabel }));
      if (!activating && patched(NOTHING_CHANGED_BEFORE_ACTIVATION)) {
        outcomes.push({
          host: hostName,
          action: 'failed',
          from,
          to: targetLabel,
          detail: `${why}; failed before activation: nothing changed on ${hostName}, nothing to roll back`,
        });
        return {
          service: input.service,
          outcome: 'failed',
          hosts: [...outcomes, ...rest],
          error: `upgrade failed on ${hostName} before anything changed: ${why}`,
        };
      }
      if (!input.rollback || !detected.identity) {
        outcomes.push({
          host: hostName,
          action: 'failed',
          from,
          to: targetLabel,
          detail: `${why}${input.rollback ? '; previous identity unknown: not rolled back' : '; rollback disabled'}`,
        });
        return {
          service: input.service,
          outcome: 'failed',
          hosts: [...outcomes, ...rest],
          error: `upgrade failed on ${hostName}: ${why}`,
        };
      }
      const critical = (detail: string): ServiceUpgradeResult => {
        outcomes.push({
          host: hostName,
          action: 'rollback-failed',
          from,
          to: targetLabel,
          detail: `${why}; rollback: ${detail}`,
        });
        return {
          service: input.service,
          outcome: 'rollback-failed',
          hosts: [...outcomes, ...rest],
          error: `CRITICAL: upgrade failed on ${hostName} and rollback failed: ${detail}`,
        };
      };
      try {
        await host.rollbackServiceOnHost({
          ...on(hostName),
          mode: input.mode,
          to: { identity: detected.identity, configHash: detected.configHash ?? '' },
        });
      } catch (rbErr) {
        return critical(failureMessage(rbErr));
      }
      const again = await healthy(hostName);
      if (!again.healthy) return critical(`still unhealthy after rollback: ${again.error ?? ''}`);
      outcomes.push({ host: hostName, action: 'rolled-back', from, to: targetLabel, detail: why });
      return {
        service: input.service,
        outcome: 'rolled-back',
        hosts: [...outcomes, ...rest],
        error: `upgrade failed on ${hostName}, rolled back to ${from ?? 'the previous identity'}: ${why}`,
      };
    }
  }
  const deployed = outcomes.some((o) => o.action !== 'skipped' && o.action !== 'started');
  const started = outcomes.some((o) => o.action === 'started');
  return {
    service: input.service,
    outcome: deployed ? 'upgraded' : started ? 'started' : 'skipped',
    hosts: outcomes,
  };
}
