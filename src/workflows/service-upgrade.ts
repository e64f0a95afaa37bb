// One service, replicas one by one (SPEC §6): detect → skip on equal identity and config → stage → activate →
// health loop on durable timers → on failure, roll back (compensation) and stop. A child of clusterUpgrade
// with id fw/<cluster>/change/<service>, so each service has its own small history in the Web UI.
import type { Duration } from '@temporalio/common';
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HostOutcome, ServiceUpgradeInput, ServiceUpgradeResult } from '../contracts/upgrade';
import { artifactIdentity, artifactPinProblems } from '../domain/artifacts';
import { NON_RETRYABLE_FAILURES } from '../errors';
import { failureMessage } from '../temporal/failures';

const host = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});
const probe = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 1 },
});

/** Probes every interval until healthy or the deadline passes; the LAST error is reported (reference item 2). */
async function waitHealthy(
  input: ServiceUpgradeInput,
  hostName: string,
): Promise<{ healthy: boolean; error?: string }> {
  const deadline = Date.now() + durationMs(input.healthDeadline);
  let last: string;
  for (;;) {
    try {
      const r = await probe.probeServiceHealth({ cluster: input.cluster, service: input.service, host: hostName });
      if (r.healthy) return { healthy: true };
      last = r.error ?? 'unhealthy';
    } catch (err) {
      last = failureMessage(err);
    }
    if (Date.now() + durationMs(input.healthInterval) > deadline) return { healthy: false, error: last };
    await sleep(input.healthInterval as Duration);
  }
}

function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?)$/.exec(d.trim());
  if (!m) return Number(d) || 0;
  const n = Number(m[1]);
  const unit = m[2]!;
  if (unit.startsWith('ms') || unit.startsWith('milli')) return n;
  if (unit.startsWith('s')) return n * 1000;
  if (unit.startsWith('m')) return n * 60_000;
  return n * 3_600_000;
}

export async function serviceUpgrade(input: ServiceUpgradeInput): Promise<ServiceUpgradeResult> {
  const outcomes: HostOutcome[] = [];
  const ref = { cluster: input.cluster, service: input.service };
  const targetLabel = input.version;
  for (const [i, hostName] of input.hosts.entries()) {
    const detected = await host.detectServiceOnHost({ ...ref, host: hostName });
    const artifact = input.mode === 'native' ? input.artifacts.find((a) => a.arch === detected.arch) : undefined;
    const identity =
      input.mode === 'docker' ? (input.imageRef ?? '').replace(/^.*@/, '') || null : artifactIdentity(artifact);
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
    if (detected.identity === identity && detected.configHash === input.configHash) {
      outcomes.push({
        host: hostName,
        action: 'skipped',
        from,
        to: targetLabel,
        detail: 'identity and config already at target',
      });
      continue;
    }
    try {
      await host.stageServiceOnHost({
        ...ref,
        host: hostName,
        mode: input.mode,
        ...(input.imageRef ? { imageRef: input.imageRef } : {}),
        ...(artifact ? { artifact } : {}),
      });
      const act = await host.activateServiceOnHost({
        ...ref,
        host: hostName,
        mode: input.mode,
        identity,
        version: input.version,
        ...(input.imageRef ? { imageRef: input.imageRef } : {}),
      });
      const health = input.skipValidation ? { healthy: true } : await waitHealthy(input, hostName);
      if (health.healthy) {
        await host.finalizeServiceOnHost({ ...ref, host: hostName, mode: input.mode });
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
          ...ref,
          host: hostName,
          mode: input.mode,
          to: { identity: detected.identity, configHash: detected.configHash ?? '' },
        });
      } catch (rbErr) {
        return critical(failureMessage(rbErr));
      }
      const again = input.skipValidation ? { healthy: true } : await waitHealthy(input, hostName);
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
  const changed = outcomes.some((o) => o.action !== 'skipped');
  return { service: input.service, outcome: changed ? 'upgraded' : 'skipped', hosts: outcomes };
}
