// `frameworks cluster release` (SPEC §5, beyond the seed): the recommended flow as ONE durable run on the change
// lock fw/<cluster>/change — expand migrations → upgrade --all → the target's required data migrations → postdeploy.
// The version is pinned once. Every step's gates are checked up front by dry-run children (the upgrade's schema
// gate counting this run's own pending expand migrations as applied), the operator approves the combined plan
// once, and then each step runs as a child workflow of the same kind the single commands start, so each can be
// watched on its own (`runs watch <child id>`) and the data migrations can be paused and resumed with
// `data-migrate pause|resume` while the release waits for them. Contract stays a separate, explicit step.
import {
  ApplicationFailure,
  ParentClosePolicy,
  executeChild,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowOptions,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../activities';
import type { DataMigrationStatusView } from '../contracts/data-migrate';
import {
  ReleaseInputSchema,
  type ReleaseInput,
  type ReleaseProgress,
  type ReleaseState,
  type ReleaseStep,
  type ReleaseStepName,
} from '../contracts/release-run';
import type { SchemaMigrateProgress } from '../contracts/schema-migrate';
import type { ClusterUpgradeProgress } from '../contracts/upgrade';
import { serviceDatabase } from '../domain/catalog';
import { catalogRequirements, requirementKey, type LiveState } from '../domain/data-migrations/gates';
import { fingerprint } from '../domain/hash';
import { resolveSelector } from '../domain/selector';
import { FailureType, NON_RETRYABLE_FAILURES } from '../errors';
import { failureMessage, isAlreadyStarted } from '../temporal/failures';
import { dataMigrationWorkflowId } from '../temporal/ids';
import { FwCluster, FwOperation, FwOperator, FwState, FwTargetVersion } from '../temporal/search-attributes';
import { approvalGate } from './approval';
import { clusterUpgrade } from './cluster-upgrade';
import { dataMigration } from './data-migration';
import { releaseApproveUpdate, releaseCancelUpdate, releaseProgressQuery } from './messages';
import { schemaMigrate } from './schema-migrate';
import { decide, parseInput } from './util';

const reads = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

/** A data migration's live state in words, and whether the release can take it from there. */
function judgeLiveState(live: LiveState | undefined): { ok: boolean; detail: string; completed: boolean } {
  if (!live) return { ok: false, completed: false, detail: 'no state reported' };
  switch (live.kind) {
    case 'status':
      if (live.status === 'completed') return { ok: true, completed: true, detail: 'already completed' };
      if (live.status === 'paused') {
        return { ok: false, completed: false, detail: 'paused by an operator: resume it first (data-migrate resume)' };
      }
      return { ok: true, completed: false, detail: `${live.status}: this run continues it from its checkpoint` };
    case 'missing_table':
      return { ok: true, completed: false, detail: 'not started (no state table yet): this run starts it' };
    case 'not_adopted':
      return { ok: false, completed: false, detail: 'the service does not implement the data-migration protocol' };
    case 'not_registered':
      return { ok: false, completed: false, detail: 'the service does not know this migration id' };
    case 'fetch_error':
      return { ok: false, completed: false, detail: `state unreadable: ${live.error}` };
  }
}

export async function release(rawInput: ReleaseInput): Promise<ReleaseProgress> {
  const input = parseInput(ReleaseInputSchema, rawInput, 'release');
  const self = workflowInfo().workflowId;
  const step = (name: ReleaseStepName): ReleaseStep => ({ name, status: 'pending', summary: '' });
  const progress: ReleaseProgress = {
    cluster: input.cluster,
    target: '',
    state: 'planning',
    checks: [],
    warnings: [],
    steps: [step('expand'), step('upgrade'), step('data-migrations'), step('postdeploy')],
    dataMigrations: [],
    preview: [],
    planHash: '',
  };
  const stepOf = (name: ReleaseStepName): ReleaseStep => progress.steps.find((s) => s.name === name)!;
  const setState = (state: ReleaseState): void => {
    progress.state = state;
    upsertSearchAttributes([{ key: FwState, value: state === 'running' ? `running:${currentStep()}` : state }]);
  };
  const currentStep = (): string => progress.steps.find((s) => s.status === 'running')?.name ?? 'none';
  setHandler(releaseProgressQuery, () => progress);
  const approval = approvalGate({
    progress,
    approvedUpFront: input.approved,
    approve: releaseApproveUpdate,
    cancel: releaseCancelUpdate,
    cancellableIn: ['planning', 'awaiting-approval'],
    changing: 'the expand step starts',
  });

  // Children carry the cluster's search attributes, so the Web UI and `runs list` show them with the release.
  const child = (
    suffix: string,
    operation: string,
  ): Pick<ChildWorkflowOptions, 'workflowId' | 'typedSearchAttributes' | 'parentClosePolicy'> => ({
    workflowId: `${self}/${suffix}`,
    parentClosePolicy: ParentClosePolicy.TERMINATE,
    typedSearchAttributes: [
      { key: FwCluster, value: input.cluster },
      { key: FwOperation, value: `release:${operation}` },
      { key: FwOperator, value: input.operator || 'unknown' },
      { key: FwState, value: 'running' },
    ],
  });
  const stepChecks = (
    name: ReleaseStepName,
    checks: { id: string; label: string; status: string; detail: string; fix?: string }[],
  ): void => {
    for (const c of checks) {
      if (c.status === 'not-checked') continue;
      progress.checks.push({ ...(c as ReleaseProgress['checks'][number]), step: name });
    }
  };

  // 1. Pin the concrete version once.
  const topology = await reads.describeCluster({ cluster: input.cluster });
  const resolved = decide(() => resolveSelector(input.selector.trim() === '' ? topology.channel : input.selector));
  const slice = await reads.fetchReleaseSlice({
    cluster: input.cluster,
    channel: resolved.channel,
    version: resolved.version,
    services: [],
  });
  const target = slice.platformVersion;
  progress.target = target;
  upsertSearchAttributes([{ key: FwTargetVersion, value: target }]);

  // 2. Every step's plan and gates, before anything changes: dry-run children (read-only, no lock).
  const common = { cluster: input.cluster, operator: input.operator };
  // The operator's bypasses reach both upgrade runs (the plan and the real one re-checks every gate); only set
  // ones are passed, so the children's input is unchanged for runs that use none.
  const bypasses = {
    ...(input.unsafeAllowUnknownVersion ? { unsafeAllowUnknownVersion: true } : {}),
    ...(input.allowDowngrade ? { allowDowngrade: true } : {}),
  };
  const [expandPlan, upgradePlan, postdeployPlan] = await Promise.all([
    executeChild(schemaMigrate, {
      ...child('plan/expand', 'expand-dry-run'),
      args: [{ ...common, phase: 'expand', toVersion: target, dryRun: true }],
    }),
    executeChild(clusterUpgrade, {
      ...child('plan/upgrade', 'upgrade-dry-run'),
      args: [
        {
          ...common,
          services: 'all',
          selector: target,
          cliVersion: input.cliVersion,
          dryRun: true,
          assumeExpandApplied: true,
          ...bypasses,
        },
      ],
    }),
    // The postdeploy gate on data migrations is what step 3 satisfies; it is checked for real before step 4.
    executeChild(schemaMigrate, {
      ...child('plan/postdeploy', 'postdeploy-dry-run'),
      args: [{ ...common, phase: 'postdeploy', toVersion: target, dryRun: true, skipDataMigrationCheck: true }],
    }),
  ]);
  stepChecks('expand', expandPlan.checks);
  stepChecks('upgrade', upgradePlan.checks);
  stepChecks(
    'postdeploy',
    postdeployPlan.checks.filter((c) => c.id !== 'data-migrations'),
  );
  progress.warnings.push(...expandPlan.warnings, ...upgradePlan.warnings, ...postdeployPlan.warnings);

  // The target's required data migrations: every one the catalog introduces up to the target's release line
  // (whichever phase it gates), so contract can follow this run.
  const catalog = await reads.loadCatalog({ cluster: input.cluster });
  const requirements = catalog.ok
    ? catalogRequirements(catalog.catalog, target).map((requirement) => {
        const owner = serviceDatabase(catalog.catalog, requirement.service);
        return {
          requirement,
          key: requirementKey(requirement),
          ...(owner.declared ? { database: owner.database } : {}),
        };
      })
    : [];
  const live: Record<string, LiveState> =
    requirements.length > 0
      ? await reads.readDataMigrationStates({
          cluster: input.cluster,
          requirements: requirements.map((r) => ({ key: r.key, id: r.requirement.id, database: r.database ?? null })),
        })
      : {};
  for (const r of requirements) {
    const judged = judgeLiveState(live[r.key]);
    progress.dataMigrations.push({
      key: r.key,
      service: r.requirement.service,
      id: r.requirement.id,
      status: judged.completed ? 'already-completed' : 'pending',
      workflowId: dataMigrationWorkflowId(input.cluster, r.requirement.service, r.requirement.id),
      detail: judged.detail,
    });
    progress.checks.push({
      step: 'data-migrations',
      id: `data-migration:${r.key}`,
      label: `data migration ${r.key} can run`,
      status: judged.ok ? 'pass' : 'refuse',
      detail: judged.detail,
      ...(judged.ok ? {} : { fix: `frameworks cluster data-migrate status ${r.key}` }),
    });
  }

  const pendingData = progress.dataMigrations.filter((d) => d.status === 'pending');
  const expandPending = expandPlan.migrations.length;
  const postPending = postdeployPlan.migrations.length;
  stepOf('expand').summary =
    `${expandPending} pending expand migration(s), ${expandPlan.alreadyApplied} already applied`;
  stepOf('upgrade').summary = upgradePlan.preview.every((p) => p.line.includes(', skip'))
    ? `every service already at ${target}`
    : `${upgradePlan.order.length} service(s) in order: ${upgradePlan.order.join(' -> ')}`;
  stepOf('data-migrations').summary =
    requirements.length === 0
      ? 'none required'
      : `${pendingData.length} to run, ${requirements.length - pendingData.length} already completed`;
  stepOf('postdeploy').summary =
    `${postPending} pending postdeploy migration(s), ${postdeployPlan.alreadyApplied} already applied`;
  for (const m of expandPlan.migrations)
    progress.preview.push(`expand: ${m.relPath}${m.transactional ? '' : ' (notx)'}`);
  for (const p of upgradePlan.preview) progress.preview.push(`upgrade: ${p.line}`);
  for (const d of pendingData) progress.preview.push(`data migration: ${d.key} (${d.detail})`);
  for (const m of postdeployPlan.migrations) {
    progress.preview.push(`postdeploy: ${m.relPath}${m.transactional ? '' : ' (notx)'}`);
  }
  progress.planHash = fingerprint({
    target,
    expand: expandPlan.planHash,
    upgrade: upgradePlan.planHash,
    data: pendingData.map((d) => d.key),
    postdeploy: postdeployPlan.planHash,
  });
  upsertMemo({ summary: `release → ${target}: ${progress.steps.map((s) => `${s.name}: ${s.summary}`).join('; ')}` });

  const refusedChild = [expandPlan, upgradePlan, postdeployPlan].some((p) => p.state === 'refused');
  const proceed = await approval.settle({
    refused: refusedChild || progress.checks.some((c) => c.status === 'refuse'),
    dryRun: input.dryRun,
    timeout: input.approvalTimeout as Duration,
    setState,
  });
  if (!proceed) return progress;

  // 3. The steps, in order; the first failure stops the run and says what to do.
  const fail = (name: ReleaseStepName, message: string): never => {
    const s = stepOf(name);
    s.status = 'failed';
    s.error = message;
    progress.error = `${name} failed: ${message}`;
    setState('failed');
    throw ApplicationFailure.create({ type: FailureType.UpgradeFailed, message: progress.error, nonRetryable: true });
  };
  const begin = (name: ReleaseStepName, workflowId?: string): ReleaseStep => {
    const s = stepOf(name);
    s.status = 'running';
    if (workflowId) s.workflowId = workflowId;
    setState('running');
    return s;
  };
  const migrate = async (phase: 'expand' | 'postdeploy'): Promise<void> => {
    const opts = child(phase, phase);
    const s = begin(phase, opts.workflowId);
    let result: SchemaMigrateProgress;
    try {
      result = await executeChild(schemaMigrate, {
        ...opts,
        args: [{ ...common, phase, toVersion: target, approved: true }],
      });
    } catch (err) {
      return fail(phase, failureMessage(err));
    }
    if (result.state !== 'completed') {
      const refused = result.checks.filter((c) => c.status === 'refuse').map((c) => `${c.label}: ${c.detail}`);
      return fail(phase, `${result.state}${refused.length ? ` — ${refused.join('; ')}` : ''}`);
    }
    const applied = result.migrations.filter((m) => m.status === 'applied').length;
    s.status = applied === 0 ? 'nothing-to-do' : 'completed';
    s.summary = `${applied} applied, ${result.alreadyApplied} already applied`;
  };

  await migrate('expand');

  {
    const opts = child('upgrade', 'upgrade-all');
    const s = begin('upgrade', opts.workflowId);
    let result: ClusterUpgradeProgress;
    try {
      result = await executeChild(clusterUpgrade, {
        ...opts,
        args: [
          {
            ...common,
            services: 'all',
            selector: target,
            cliVersion: input.cliVersion,
            approved: true,
            ...bypasses,
            ...(input.healthInterval ? { healthInterval: input.healthInterval } : {}),
            ...(input.healthDeadline ? { healthDeadline: input.healthDeadline } : {}),
            ...(input.parallel ? { parallel: input.parallel } : {}),
          },
        ],
      });
    } catch (err) {
      return fail('upgrade', failureMessage(err));
    }
    if (result.state !== 'completed') {
      const refused = result.checks.filter((c) => c.status === 'refuse').map((c) => `${c.label}: ${c.detail}`);
      return fail('upgrade', `${result.state}${refused.length ? ` — ${refused.join('; ')}` : ''}`);
    }
    const upgraded = result.services.filter((x) => x.status === 'upgraded').length;
    s.status = upgraded === 0 ? 'nothing-to-do' : 'completed';
    s.summary = `${upgraded} upgraded, ${result.services.length - upgraded} already at ${target}`;
  }

  {
    const s = begin('data-migrations');
    for (const d of progress.dataMigrations) {
      if (d.status === 'already-completed') continue;
      d.status = 'running';
      let result: DataMigrationStatusView;
      try {
        // The data migration's own id (not under this run's), so `data-migrate pause|resume|status` reach it.
        result = await executeChild(dataMigration, {
          ...child('', `data-migrate ${d.key}`),
          workflowId: d.workflowId,
          args: [
            {
              cluster: input.cluster,
              service: d.service,
              id: d.id,
              batchSize: input.batchSize,
              operator: input.operator,
            },
          ],
        });
      } catch (err) {
        d.status = 'failed';
        d.detail = isAlreadyStarted(err)
          ? `already running as ${d.workflowId}: let it finish (frameworks cluster data-migrate status ${d.key}), then run release again`
          : failureMessage(err);
        return fail('data-migrations', `${d.key}: ${d.detail}`);
      }
      if (result.state !== 'completed') {
        d.status = 'failed';
        d.detail = `${result.state}${result.reason ? `: ${result.reason}` : ''}`;
        return fail('data-migrations', `${d.key}: ${d.detail}`);
      }
      d.status = 'completed';
      d.detail = `${result.totals.scanned} rows scanned, ${result.totals.changed} changed, in ${result.batches} batch(es)`;
    }
    const ran = progress.dataMigrations.filter((d) => d.status === 'completed').length;
    s.status = ran === 0 ? 'nothing-to-do' : 'completed';
    s.summary = `${ran} completed by this run, ${progress.dataMigrations.length - ran} already completed`;
  }

  await migrate('postdeploy');

  setState('completed');
  return progress;
}
