// Execution of a `clusterUpgrade` run (after approval): services already at target are settled without a child,
// then one `serviceUpgrade` child per service — wave by wave, at most `parallel` at once (PARALLEL_WAVES_PATCH),
// or strictly one by one for runs recorded before it. The first failure stops new starts. Wave runs stage upcoming
// services' artifacts ahead of their children (STAGE_AHEAD_PATCH, cluster-stage-ahead.ts).
import { ApplicationFailure, ParentClosePolicy, executeChild, patched } from '@temporalio/workflow';
import type { ServiceTarget } from '../contracts/plan';
import type { ClusterUpgradeProgress, HostDetection, ServiceUpgradeResult } from '../contracts/upgrade';
import { archsFor, settledAtTarget, upgradeFailure } from '../domain/upgrade-run';
import type { ServiceStages } from '../domain/stage-ahead';
import { nextStarts, summarizeWaves, type WaveOutcome, type WaveSchedule } from '../domain/waves';
import { FailureType } from '../errors';
import { serviceChildWorkflowId } from '../temporal/ids';
import { FwCluster, FwOperation, FwOperator, FwServices, FwTargetVersion } from '../temporal/search-attributes';
import type { ChangeRun } from './change-run';
import { canaryPause } from './cluster-upgrade-canary';
import { stageAhead, stageAheadServices } from './cluster-stage-ahead';
import { freshDetections, known } from './cluster-upgrade-fresh';
import type { ParsedUpgradeInput } from './cluster-upgrade';
import { serviceUpgrade } from './service-upgrade';
import { decide } from './util';

/**
 * Patch: right before the deploy sequence (after approval), detect every replica again in ONE batch activity and
 * settle services whose every replica already runs the target identity with the target config as skipped without
 * a child workflow (the child would detect each host again, one activity per host, to skip it). Services that
 * need any change still get their child, which detects each host again just before changing it.
 */
export const SKIP_AT_TARGET_PATCH = 'cluster-upgrade-skip-at-target-v1';
export { PLAN_DETECTION_FRESH_MS, REUSE_PLAN_DETECTION_PATCH } from './cluster-upgrade-fresh';

const SUCCESS: ReadonlySet<WaveOutcome> = new Set(['upgraded', 'started', 'skipped']);

/** What planning decided and execution needs. */
export interface UpgradeRunPlan {
  target: string;
  services: string[];
  targets: ServiceTarget[];
  configs: Record<string, string>;
  /** PROVEN_GATES_PATCH was taken. */
  proven: boolean;
  /** PARALLEL_WAVES_PATCH was taken. */
  waved: boolean;
  schedule: WaveSchedule;
  rollbackDisabled: string[];
  /** Each host's architecture as the gates' detection read it: not read again by this run. */
  hostArchs: Record<string, string>;
  /** The plan's detection of `services` and when it finished (workflow time). */
  planDetection?: { detections: Record<string, HostDetection[]>; at: number };
}

export async function runUpgrades(
  input: ParsedUpgradeInput,
  p: UpgradeRunPlan,
  run: ChangeRun<ClusterUpgradeProgress>,
): Promise<void> {
  const { target, services, targets, configs } = p;
  const rollbackDisabled = new Set(p.rollbackDisabled);
  const fresh = patched(SKIP_AT_TARGET_PATCH) ? await freshDetections(input, p) : undefined;
  const atTarget = fresh
    ? settledAtTarget({ target, services, targets, fresh, configs, proven: p.proven })
    : new Map<string, ServiceUpgradeResult>();
  const canary = canaryPause(input, run);
  const runChild = (svc: string): Promise<ServiceUpgradeResult> => {
    const t = targets.find((x) => x.service === svc)!;
    const archs = archsFor(p.hostArchs, t.hosts);
    return executeChild(serviceUpgrade, {
      workflowId: serviceChildWorkflowId(input.cluster, svc),
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      // Children are runs of the cluster too: `runs list` and the Web UI's FwCluster filter find them.
      typedSearchAttributes: [
        { key: FwCluster, value: input.cluster },
        { key: FwOperation, value: `upgrade-${svc}` },
        { key: FwServices, value: [svc] },
        { key: FwTargetVersion, value: target },
        { key: FwOperator, value: input.operator || 'unknown' },
      ],
      args: [
        {
          cluster: input.cluster,
          service: svc,
          mode: t.mode,
          hosts: t.hosts,
          version: t.version ?? target,
          ...(t.imageRef ? { imageRef: t.imageRef } : {}),
          artifacts: t.artifacts,
          ...(t.carriedFrom ? { carriedFrom: t.carriedFrom } : {}),
          configHash: configs[svc] ?? '',
          rollback: !input.noRollback && !rollbackDisabled.has(svc),
          skipValidation: input.skipValidation,
          healthInterval: input.healthInterval,
          healthDeadline: input.healthDeadline,
          ...(known(archs) ? { hostArchs: archs } : {}),
          ...(canary ? { canary: true } : {}),
        },
      ],
    });
  };
  const ahead = stageAheadServices(input, p, fresh, atTarget);
  if (p.waved) await inWaves(input, p, run, atTarget, runChild, ahead);
  else await inSequence(p, run, atTarget, runChild);
}

/** Wave by wave, at most `parallel` children at once (src/domain/waves.ts); running children finish on a failure. */
async function inWaves(
  input: ParsedUpgradeInput,
  p: UpgradeRunPlan,
  run: ChangeRun<ClusterUpgradeProgress>,
  atTarget: Map<string, ServiceUpgradeResult>,
  runChild: (svc: string) => Promise<ServiceUpgradeResult>,
  stages: ServiceStages[] | undefined,
): Promise<void> {
  const { progress } = run;
  const outcomes = new Map<string, WaveOutcome>();
  const running = new Map<string, Promise<void>>();
  let thrown: Error | undefined;
  const stopped = () => thrown !== undefined || [...outcomes.values()].some((o) => !SUCCESS.has(o));
  // STAGE_AHEAD_PATCH: a child starts once the parent's stage-ahead of its service settled (never alongside it).
  const ahead = stages ? stageAhead(stages, stopped) : undefined;
  for (;;) {
    // A service already at target is settled when its turn comes (no child), so it is reported in plan order;
    // the slots it would have taken are filled in the same pass.
    for (let settledOne = true; settledOne;) {
      settledOne = false;
      const starts = decide(() =>
        nextStarts(p.schedule, {
          done: [...outcomes.keys()],
          running: [...running.keys()],
          stopped: stopped(),
          parallel: input.parallel,
        }),
      );
      for (const svc of starts) {
        const entry = progress.services.find((e) => e.service === svc)!;
        const settled = atTarget.get(svc);
        if (settled) {
          entry.result = settled;
          entry.status = 'skipped';
          outcomes.set(svc, 'skipped');
          settledOne = true;
          continue;
        }
        entry.status = 'upgrading';
        running.set(
          svc,
          (ahead ? ahead.claim(svc).then(() => runChild(svc)) : runChild(svc)).then(
            (result) => {
              entry.result = result;
              entry.status = result.outcome;
              outcomes.set(svc, result.outcome);
              running.delete(svc);
            },
            (err: unknown) => {
              // The child run itself failed (not an upgrade outcome): stop starting, report it once all settle.
              thrown ??= err instanceof Error ? err : new Error(String(err));
              entry.status = 'failed';
              outcomes.set(svc, 'failed');
              running.delete(svc);
            },
          ),
        );
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
    if (stopped()) ahead?.halt();
  }
  if (ahead) {
    ahead.halt();
    await ahead.finished();
  }
  const summary = summarizeWaves(p.schedule, outcomes);
  progress.summary = summary;
  if (thrown !== undefined) {
    run.setState('failed');
    throw thrown;
  }
  if (summary.failed.length > 0) {
    const errors = summary.failed.map(
      (svc) => progress.services.find((e) => e.service === svc)?.result?.error ?? `${svc} failed`,
    );
    progress.error = errors.join('; ');
    run.setState('failed');
    throw ApplicationFailure.create({
      type: FailureType.UpgradeFailed,
      message: upgradeFailure(progress.error, summary),
      nonRetryable: true,
    });
  }
}

/** Runs recorded before PARALLEL_WAVES_PATCH: one child at a time in plan order. */
async function inSequence(
  p: UpgradeRunPlan,
  run: ChangeRun<ClusterUpgradeProgress>,
  atTarget: Map<string, ServiceUpgradeResult>,
  runChild: (svc: string) => Promise<ServiceUpgradeResult>,
): Promise<void> {
  const { progress } = run;
  const { services } = p;
  const succeeded: string[] = [];
  for (const [i, svc] of services.entries()) {
    const entry = progress.services[i]!;
    const settled = atTarget.get(svc);
    if (settled) {
      entry.result = settled;
      entry.status = 'skipped';
      succeeded.push(svc);
      continue;
    }
    entry.status = 'upgrading';
    const result = await runChild(svc);
    entry.result = result;
    entry.status = result.outcome;
    if (result.outcome === 'upgraded' || result.outcome === 'skipped' || result.outcome === 'started') {
      succeeded.push(svc);
      continue;
    }
    const remaining = services.slice(i + 1);
    progress.summary = {
      succeeded,
      failed: [svc],
      rolledBack: result.outcome === 'rolled-back' ? [svc] : [],
      remaining,
    };
    progress.error = result.error ?? `${svc} failed`;
    run.setState('failed');
    throw ApplicationFailure.create({
      type: FailureType.UpgradeFailed,
      message: upgradeFailure(progress.error, { succeeded, failed: [svc], remaining }),
      nonRetryable: true,
    });
  }
  progress.summary = { succeeded, failed: [], rolledBack: [], remaining: [] };
}
