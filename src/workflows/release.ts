// `frameworks cluster release` (SPEC §5, beyond the seed): the recommended flow as ONE durable run on the change
// lock fw/<cluster>/change — expand migrations → upgrade --all → the target's required data migrations → postdeploy.
// The version is pinned once. Every step's gates are checked up front by dry-run children (the upgrade's schema
// gate counting this run's own pending expand migrations as applied), the operator approves the combined plan
// once, and then each step runs as a child workflow of the same kind the single commands start (release-steps.ts),
// so each can be watched on its own (`runs watch <child id>`) and the data migrations can be paused and resumed
// with `data-migrate pause|resume` while the release waits for them. Contract stays a separate, explicit step.
import { executeChild, proxyActivities, upsertMemo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { GateCheck } from '../contracts/plan';
import {
  ReleaseInputSchema,
  type ReleaseInput,
  type ReleaseProgress,
  type ReleaseStep,
  type ReleaseStepName,
} from '../contracts/release-run';
import { serviceDatabase } from '../domain/catalog';
import { catalogRequirements, requirementKey, type LiveState } from '../domain/data-migrations/gates';
import { fingerprint } from '../domain/hash';
import { judgeLiveState, releasePlanText, releaseStateValue } from '../domain/release-run';
import { resolveSelector } from '../domain/selector';
import { dataMigrationWorkflowId } from '../temporal/ids';
import { changeRun, type ChangeRun } from './change-run';
import { clusterUpgrade } from './cluster-upgrade';
import { releaseMessages } from './messages';
import { releaseContext, runReleaseSteps, type ParsedReleaseInput } from './release-steps';
import { schemaMigrate } from './schema-migrate';
import { decide, parseInput, readOptions } from './util';

const reads = proxyActivities<Activities>(readOptions('2 minutes', 5));

export async function release(rawInput: ReleaseInput): Promise<ReleaseProgress> {
  const input = parseInput(ReleaseInputSchema, rawInput, 'release');
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
  return changeRun({
    progress,
    messages: releaseMessages,
    input,
    changing: 'the expand step starts',
    stateValue: (state) => releaseStateValue(progress, state),
    plan: (run) => planRelease(input, run),
    execute: (run) => runReleaseSteps(input, run),
  });
}

/** Steps 1–2: pin the version, then every step's plan and gates before anything changes. */
async function planRelease(input: ParsedReleaseInput, run: ChangeRun<ReleaseProgress>): Promise<{ refused: boolean }> {
  const { progress } = run;
  const { child, common, bypasses } = releaseContext(input);
  const stepChecks = (name: ReleaseStepName, checks: GateCheck[]): void => {
    for (const c of checks) {
      if (c.status === 'not-checked') continue;
      progress.checks.push({ ...c, step: name });
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
  run.pinTarget(target);

  // 2. Every step's plan and gates, before anything changes: dry-run children (read-only, no lock).
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

  const text = releasePlanText({
    target,
    expand: expandPlan,
    upgrade: upgradePlan,
    postdeploy: postdeployPlan,
    dataMigrations: progress.dataMigrations,
  });
  for (const s of progress.steps) s.summary = text.summaries[s.name];
  progress.preview.push(...text.preview);
  progress.planHash = fingerprint({
    target,
    expand: expandPlan.planHash,
    upgrade: upgradePlan.planHash,
    data: progress.dataMigrations.filter((d) => d.status === 'pending').map((d) => d.key),
    postdeploy: postdeployPlan.planHash,
  });
  upsertMemo({ summary: `release → ${target}: ${progress.steps.map((s) => `${s.name}: ${s.summary}`).join('; ')}` });

  const refusedChild = [expandPlan, upgradePlan, postdeployPlan].some((p) => p.state === 'refused');
  return { refused: refusedChild || progress.checks.some((c) => c.status === 'refuse') };
}
