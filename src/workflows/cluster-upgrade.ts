// `cluster upgrade <service>|--all` (SPEC §6): pin the concrete version once, plan, run every gate before any
// change, wait for approval of the plan hash (unless --yes), then one child workflow per service, wave by wave of
// the dependency order (at most --parallel at once); the first failure stops new starts and the result lists
// succeeded / failed / rolled back / remaining.
// Runs on the cluster's change lock fw/<cluster>/change.
import {
  ApplicationFailure,
  ParentClosePolicy,
  executeChild,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../activities';
import {
  ClusterUpgradeInputSchema,
  type ClusterUpgradeInput,
  type ClusterUpgradeProgress,
  type HostDetection,
  type ServiceUpgradeResult,
  type UpgradeState,
} from '../contracts/upgrade';
import { serviceDatabase } from '../domain/catalog';
import { catalogRequirements, preDeployWindow, requirementKey } from '../domain/data-migrations/gates';
import { judgeReplicas, pinQueries, targetIdentityFor } from '../domain/gates/replica-lines';
import { ownedDatabases, upgradeGates, type UpgradeGateFacts } from '../domain/gates/upgrade-gates';
import { fingerprint } from '../domain/hash';
import { ledgersAfterExpand } from '../domain/migrations/project';
import { artifactsCheck } from '../domain/upgrade-plan';
import { nextStarts, scheduleWaves, summarizeWaves, type WaveOutcome } from '../domain/waves';
import { FailureType, NON_RETRYABLE_FAILURES } from '../errors';
import { failureMessage } from '../temporal/failures';
import { serviceChildWorkflowId } from '../temporal/ids';
import {
  FwCluster,
  FwOperation,
  FwOperator,
  FwServices,
  FwState,
  FwTargetVersion,
} from '../temporal/search-attributes';
import { approvalGate } from './approval';
import { gatherAndPlan } from './plan-steps';
import { upgradeApproveUpdate, upgradeCancelUpdate, upgradeProgressQuery } from './messages';
import { serviceUpgrade } from './service-upgrade';
import { decide, parseInput } from './util';

const act = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

/**
 * Patch: right before the deploy sequence (after approval), detect every replica again in ONE batch activity and
 * settle services whose every replica already runs the target identity with the target config as skipped without
 * a child workflow (the child would detect each host again, one activity per host, to skip it). Services that
 * need any change still get their child, which detects each host again just before changing it.
 */
export const SKIP_AT_TARGET_PATCH = 'cluster-upgrade-skip-at-target-v1';

/**
 * Patch: `upgrade <service>` is judged by the artifact gate on that service's own targets, so another service the
 * release cannot pin (a native artifact without checksum) no longer refuses it. `--all` is judged as before.
 */
export const SELECTED_ARTIFACTS_PATCH = 'cluster-upgrade-selected-artifacts-v1';

/**
 * Patch (issue 11): the gates judge each replica's release line from its content identity (one more read-only
 * activity, `findReleasesPinning`), refuse unknown lines and downgrades unless bypassed, and run the below-floor
 * guard; `rollback_disabled` is looked up by base version; a replica at the target identity and config that is
 * stopped is not "at target" (its child starts and health-checks it). Runs recorded before keep the old gates.
 */
export const PROVEN_GATES_PATCH = 'cluster-upgrade-proven-gates-v1';

/**
 * Patch (issue 12 item 2): services upgrade wave by wave — the plan's dependency batches — with at most
 * `input.parallel` children at once (1 = one by one, as before); the first failure stops new starts while running
 * children finish or roll back. Runs recorded before keep the strict sequence.
 */
export const PARALLEL_WAVES_PATCH = 'cluster-upgrade-parallel-waves-v1';

const SUCCESS: ReadonlySet<WaveOutcome> = new Set(['upgraded', 'started', 'skipped']);

export async function clusterUpgrade(rawInput: ClusterUpgradeInput): Promise<ClusterUpgradeProgress> {
  const input = parseInput(ClusterUpgradeInputSchema, rawInput, 'clusterUpgrade');
  const progress: ClusterUpgradeProgress = {
    cluster: input.cluster,
    target: '',
    state: 'planning',
    order: [],
    checks: [],
    warnings: [],
    preview: [],
    services: [],
    planHash: '',
  };
  const setState = (s: UpgradeState): void => {
    progress.state = s;
    upsertSearchAttributes([{ key: FwState, value: s }]);
  };
  setHandler(upgradeProgressQuery, () => progress);
  const approval = approvalGate({
    progress,
    approvedUpFront: input.approved,
    approve: upgradeApproveUpdate,
    cancel: upgradeCancelUpdate,
    cancellableIn: ['planning', 'awaiting-approval'],
    changing: 'any host changes',
  });

  // 1. Pin the concrete version once; every later step uses it.
  const { topology, catalog, release, migrations, plan } = await gatherAndPlan(act, input);
  const target = plan.platformVersion;
  progress.target = target;
  progress.warnings.push(...plan.warnings);
  upsertSearchAttributes([{ key: FwTargetVersion, value: target }]);

  // 2. Which services.
  let services: string[];
  if (input.services === 'all') services = plan.order;
  else {
    const svc = input.services[0]!;
    if (!topology.services[svc]) {
      progress.checks.push({
        id: 'service',
        label: 'service known',
        status: 'refuse',
        detail: `service ${svc} is not in ${topology.manifestPath}`,
      });
      setState('refused');
      return progress;
    }
    if (!plan.order.includes(svc)) {
      progress.checks.push({
        id: 'service',
        label: 'service upgradeable',
        status: 'refuse',
        detail: `${svc} is not a platform service (${plan.excluded.find((e) => e.service === svc)?.reason ?? 'excluded'})`,
      });
      setState('refused');
      return progress;
    }
    services = [svc];
  }
  progress.order = services;
  upsertSearchAttributes([{ key: FwServices, value: services }]);
  const planChecks = plan.checks.filter((c) => c.status !== 'not-checked');
  if (patched(SELECTED_ARTIFACTS_PATCH)) {
    const selected = plan.targets.filter((t) => services.includes(t.service));
    progress.checks.push(...planChecks.map((c) => (c.id === 'artifacts' ? artifactsCheck(selected) : c)));
  } else {
    progress.checks.push(...planChecks);
  }
  if (!catalog.ok) {
    setState('refused');
    return progress;
  }

  // 3. Facts from the live cluster, then every gate before any change.
  const targets = plan.targets.filter((t) => services.includes(t.service));
  const [detected, configs, digestProblems] = await Promise.all([
    // Unreachable hosts come back as detections with an error (the `detect` gate refuses them). Detection that
    // fails outright is non-retryable by design (a changed or unknown host key, unreadable ssh settings): that is
    // an unknown fact before any change, so it is a refusal naming the cause, not a failed run.
    act.detectServices({ cluster: input.cluster, services }).then(
      (d) => ({ ok: true as const, d }),
      (err: unknown) => ({ ok: false as const, why: failureMessage(err) }),
    ),
    act.describeServiceConfigs({ cluster: input.cluster, services }),
    act.checkImageDigests({ cluster: input.cluster, refs: targets.flatMap((t) => (t.imageRef ? [t.imageRef] : [])) }),
  ]);
  if (!detected.ok) {
    progress.checks.push({
      id: 'detect',
      label: 'services detected on every host',
      status: 'refuse',
      detail: detected.why,
      fix: "verify the host's key out of band, then pin it in ssh.known_hosts of cluster.yaml (or fix the ssh settings)",
    });
    setState('refused');
    return progress;
  }
  const detections = detected.d;
  const dbs = ownedDatabases(catalog.catalog, catalog.services, services);
  const ledgers = dbs.length > 0 ? await act.readDatabaseStates({ cluster: input.cluster, databases: dbs }) : [];
  const window = preDeployWindow(catalogRequirements(catalog.catalog, target), target);
  const liveStates =
    window.length > 0
      ? await act.readDataMigrationStates({
          cluster: input.cluster,
          requirements: window.map((r) => {
            const owner = serviceDatabase(catalog.catalog, r.service);
            return { key: requirementKey(r), id: r.id, database: owner.declared ? owner.database : null };
          }),
        })
      : {};
  let proven: UpgradeGateFacts['proven'];
  const v2 = patched(PROVEN_GATES_PATCH);
  if (v2) {
    const pins = await act.findReleasesPinning({
      cluster: input.cluster,
      queries: pinQueries(detections),
      catalogVersions: catalog.catalog.releases.map((r) => r.version),
    });
    progress.warnings.push(...pins.warnings.map((w) => `release repository: ${w}`));
    proven = {
      pins,
      markers: Object.fromEntries(ledgers.map((l) => [l.database, l.marker])),
      allowUnknownVersion: input.unsafeAllowUnknownVersion,
      allowDowngrade: input.allowDowngrade,
    };
  }
  const gates = upgradeGates({
    target,
    services,
    targets,
    catalog: catalog.catalog,
    definitions: catalog.services,
    detections,
    migrationItems: migrations.items,
    ledgers: input.assumeExpandApplied
      ? ledgersAfterExpand(
          ledgers.map((l) => l.ledger),
          migrations.items,
          target,
        )
      : ledgers.map((l) => l.ledger),
    liveStates,
    skipMigrationCheck: input.skipMigrationCheck,
    skipDataMigrationCheck: input.skipDataMigrationCheck,
    ...(proven ? { proven } : {}),
  });
  progress.checks.push(...gates.checks);
  progress.checks.push(
    digestProblems.length === 0
      ? {
          id: 'registry',
          label: 'image digests in the registry',
          status: 'pass',
          detail: 'every pinned digest resolves',
        }
      : {
          id: 'registry',
          label: 'image digests in the registry',
          status: 'refuse',
          detail: digestProblems.join('; '),
          fix: 'publish the images (by digest) to the registry',
        },
  );
  progress.warnings.push(...gates.warnings);

  // 4. What would happen, per host (dry-run output and the approval prompt).
  // null = the release pins nothing for this host: it never reads as "already at target".
  const identityOf = (svc: string, d: HostDetection): string | null =>
    targetIdentityFor(
      targets.find((x) => x.service === svc)!,
      d,
    );
  const atIdentity = (svc: string, d: HostDetection): boolean => {
    const id = identityOf(svc, d);
    return id !== null && d.identity === id;
  };
  const backwards = new Set(
    proven
      ? judgeReplicas({ target, targets, detections, pins: proven.pins }).downgrades.map(
          (d) => `${d.line.service}@${d.line.host}`,
        )
      : [],
  );
  for (const svc of services) {
    const t = targets.find((x) => x.service === svc)!;
    for (const d of detections[svc] ?? []) {
      const same = atIdentity(svc, d) && d.configHash === configs[svc];
      const to = t.version ?? target;
      const carried = t.carriedFrom ? ` [carried from ${t.carriedFrom}]` : '';
      let line: string;
      if (same && (!v2 || d.running)) line = `${svc} on ${d.host}: already at ${to} (identity and config match), skip`;
      else if (same) line = `${svc} on ${d.host}: at ${to} but stopped: would start it and check its health`;
      else {
        const verb = backwards.has(`${svc}@${d.host}`) ? 'would DOWNGRADE' : 'would upgrade';
        line = `${verb} ${svc} on ${d.host} from ${d.version ?? 'unknown'} to ${to}${atIdentity(svc, d) ? ' (config changed)' : ''}${carried}`;
      }
      progress.preview.push({ service: svc, host: d.host, line });
    }
  }
  if (v2) {
    progress.rollbackDisabled = input.noRollback
      ? services.map((service) => ({ service, reason: '--no-rollback' }))
      : plan.rollbackDisabled.filter((r) => services.includes(r.service));
  }
  progress.services = services.map((service) => ({ service, status: 'pending' }));
  const waved = patched(PARALLEL_WAVES_PATCH);
  const schedule = scheduleWaves(plan.waves, services);
  if (waved) {
    progress.waves = schedule.waves;
    progress.parallel = input.parallel;
  }
  progress.planHash = fingerprint({ target, services, preview: progress.preview, configs });
  upsertMemo({ summary: `${services.length} service(s) → ${target}` });
  const proceed = await approval.settle({
    refused: progress.checks.some((c) => c.status === 'refuse'),
    dryRun: input.dryRun,
    timeout: input.approvalTimeout as Duration,
    setState,
  });
  if (!proceed) return progress;

  // 5. One child per service, wave by wave (in order before PARALLEL_WAVES_PATCH); stop at the first failure.
  setState('upgrading');
  const rollbackDisabled = new Set(
    v2
      ? plan.rollbackDisabled.map((r) => r.service)
      : [
          ...release.rollbackDisabled,
          ...(catalog.catalog.releases.find((r) => r.version === target)?.rollback_disabled ?? []),
        ],
  );
  const succeeded: string[] = [];
  const atTarget = new Map<string, ServiceUpgradeResult>();
  if (patched(SKIP_AT_TARGET_PATCH)) {
    const fresh = await act.detectServices({ cluster: input.cluster, services });
    for (const svc of services) {
      const t = targets.find((x) => x.service === svc)!;
      const ds = fresh[svc] ?? [];
      const same = (d: HostDetection): boolean =>
        d.present && !d.error && atIdentity(svc, d) && d.configHash === configs[svc] && (!v2 || d.running);
      if (ds.length === t.hosts.length && ds.length > 0 && ds.every(same)) {
        atTarget.set(svc, {
          service: svc,
          outcome: 'skipped',
          hosts: ds.map((d) => ({
            host: d.host,
            action: 'skipped' as const,
            from: d.version,
            to: t.version ?? target,
            detail: 'identity and config already at target',
          })),
        });
      }
    }
  }
  const runChild = (svc: string): Promise<ServiceUpgradeResult> => {
    const t = targets.find((x) => x.service === svc)!;
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
        },
      ],
    });
  };
  if (waved) {
    // Wave by wave, at most `parallel` children at once (src/domain/waves.ts). The first failure stops new starts;
    // children already running finish (or roll back) and are reported with it.
    const outcomes = new Map<string, WaveOutcome>();
    const running = new Map<string, Promise<void>>();
    let thrown: Error | undefined;
    const stopped = () => thrown !== undefined || [...outcomes.values()].some((o) => !SUCCESS.has(o));
    for (;;) {
      // A service already at target is settled when its turn comes (no child), so it is reported in plan order;
      // the slots it would have taken are filled in the same pass.
      for (let settledOne = true; settledOne;) {
        settledOne = false;
        const starts = decide(() =>
          nextStarts(schedule, {
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
            runChild(svc).then(
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
    }
    const summary = summarizeWaves(schedule, outcomes);
    progress.summary = summary;
    if (thrown !== undefined) {
      setState('failed');
      throw thrown;
    }
    if (summary.failed.length > 0) {
      const errors = summary.failed.map(
        (svc) => progress.services.find((e) => e.service === svc)?.result?.error ?? `${svc} failed`,
      );
      progress.error = errors.join('; ');
      setState('failed');
      throw ApplicationFailure.create({
        type: FailureType.UpgradeFailed,
        message: `${progress.error}. Stopping upgrade sequence. Succeeded: [${summary.succeeded.join(', ')}], Failed: [${summary.failed.join(', ')}], Remaining: [${summary.remaining.join(', ')}]`,
        nonRetryable: true,
      });
    }
    setState('completed');
    return progress;
  }
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
    progress.summary = {
      succeeded,
      failed: [svc],
      rolledBack: result.outcome === 'rolled-back' ? [svc] : [],
      remaining: services.slice(i + 1),
    };
    progress.error = result.error ?? `${svc} failed`;
    setState('failed');
    throw ApplicationFailure.create({
      type: FailureType.UpgradeFailed,
      message: `${progress.error}. Stopping upgrade sequence. Succeeded: [${succeeded.join(', ')}], Failed: [${svc}], Remaining: [${services.slice(i + 1).join(', ')}]`,
      nonRetryable: true,
    });
  }
  progress.summary = { succeeded, failed: [], rolledBack: [], remaining: [] };
  setState('completed');
  return progress;
}
