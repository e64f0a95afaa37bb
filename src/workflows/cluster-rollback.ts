// `cluster rollback <run-id>` (issue 12 item 4): reverts what a finished upgrade or release run changed — every
// replica it moved goes back to the identity and config recorded before the run, services in the reverse of the
// run's order, replicas one by one with the upgrade's health gate. The judgement is src/domain/rollback-plan.ts;
// each service's move is the upgrade's own child workflow `serviceUpgrade` (fw/<cluster>/change/<service>) told
// that the identity is already on the host (nothing staged or downloaded). Schema and data are never touched.
// Runs on the cluster's change lock fw/<cluster>/change, on the change-run lifecycle (changeRun): this file is
// only the rollback's plan (gather facts, planRollback) and its execution (one child per step).
import {
  ParentClosePolicy,
  executeChild,
  proxyActivities,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  ClusterRollbackInputSchema,
  type ClusterRollbackInput,
  type ClusterRollbackProgress,
  type RollbackStep,
} from '../contracts/rollback';
import { rollbackDisabledReasons } from '../domain/catalog';
import { ownedDatabases } from '../domain/gates/upgrade-gates';
import { fingerprint } from '../domain/hash';
import { movedReplicas, planRollback } from '../domain/rollback-plan';
import { resolveSelector } from '../domain/selector';
import { failureMessage } from '../temporal/failures';
import { serviceChildWorkflowId } from '../temporal/ids';
import { FwCluster, FwOperation, FwOperator, FwServices, FwTargetVersion } from '../temporal/search-attributes';
import { changeRun } from './change-run';
import { clusterRollbackMessages } from './messages';
import { serviceUpgrade } from './service-upgrade';
import { decide, parseInput, readOptions } from './util';

const act = proxyActivities<Activities>(readOptions('5 minutes', 5));

type Input = ReturnType<typeof ClusterRollbackInputSchema.parse>;

export async function clusterRollback(rawInput: ClusterRollbackInput): Promise<ClusterRollbackProgress> {
  const input = parseInput(ClusterRollbackInputSchema, rawInput, 'clusterRollback');
  const progress: ClusterRollbackProgress = {
    cluster: input.cluster,
    runId: input.record.runId,
    target: input.record.target,
    state: 'planning',
    checks: [],
    warnings: [],
    preview: [],
    steps: [],
    migrations: { stayApplied: [], note: '' },
    services: [],
    planHash: '',
  };
  return changeRun({
    progress,
    messages: clusterRollbackMessages,
    input,
    changing: 'any host changes',
    executing: 'rolling-back',
    plan: async () => {
      const nothingToDo = await plan(input, progress);
      progress.planHash = fingerprint({
        runId: input.record.runId,
        steps: progress.steps,
        preview: progress.preview,
        migrations: progress.migrations,
      });
      upsertMemo({ summary: `rollback of ${input.record.runId} (${input.record.target})` });
      return { refused: progress.checks.some((c) => c.status === 'refuse'), nothingToDo };
    },
    execute: async (run) => {
      const failed = await execute(input, progress);
      if (failed) run.fail(failed);
    },
  });
}

/** Gathers the facts and decides (src/domain/rollback-plan.ts); true when there is nothing to change. */
async function plan(input: Input, progress: ClusterRollbackProgress): Promise<boolean> {
  const { record } = input;
  const moved = movedReplicas(record.replicas).filter((r) => !input.exclude.includes(r.service) && r.from);
  const services = [...new Set(moved.map((r) => r.service))];
  upsertSearchAttributes([
    { key: FwTargetVersion, value: record.target },
    { key: FwServices, value: services },
  ]);
  const [topology, catalog] = await Promise.all([
    act.describeCluster({ cluster: input.cluster }),
    act.loadCatalog({ cluster: input.cluster }),
  ]);
  // rollback_disabled of the release being rolled back: the catalog's entry and the release manifest's list.
  let manifestDisabled: string[] = [];
  try {
    const resolved = decide(() => resolveSelector(record.target));
    const slice = await act.fetchReleaseSlice({
      cluster: input.cluster,
      channel: resolved.channel,
      version: resolved.version,
      services: services.length > 0 ? services : Object.keys(topology.services).sort(),
    });
    manifestDisabled = slice.rollbackDisabled;
  } catch (err) {
    progress.checks.push({
      id: 'release',
      label: `release ${record.target} readable`,
      status: 'refuse',
      detail: `its rollback_disabled list cannot be read: ${failureMessage(err)}`,
      fix: 'make the release repository reachable, then run again',
    });
  }
  if (!catalog.ok) {
    progress.checks.push({
      id: 'catalog',
      label: 'release catalog',
      status: 'refuse',
      detail: `${catalog.source}: ${catalog.error}`,
    });
    return false;
  }
  const present = services.filter((s) => topology.services[s]);
  const [hosts, configs, ledgers] = await Promise.all([
    moved.length > 0
      ? act.inspectRollbackHosts({
          cluster: input.cluster,
          replicas: moved
            .filter((r) => topology.services[r.service])
            .map((r) => ({ service: r.service, host: r.host, identity: r.from!.identity })),
        })
      : Promise.resolve([]),
    present.length > 0 ? act.describeServiceConfigs({ cluster: input.cluster, services: present }) : {},
    (async () => {
      const dbs = ownedDatabases(catalog.catalog, catalog.services, present);
      return dbs.length > 0 ? act.readDatabaseStates({ cluster: input.cluster, databases: dbs }) : [];
    })(),
  ]);
  const decided = decide(() =>
    planRollback({
      record,
      later: input.later,
      exclude: input.exclude,
      modes: Object.fromEntries(Object.entries(topology.services).map(([s, v]) => [s, v.mode])),
      rollbackDisabled: rollbackDisabledReasons(catalog.catalog, record.target, manifestDisabled, services),
      hosts,
      configs,
      ledgers: ledgers.map((l) => l.ledger),
    }),
  );
  const gone = services.filter((s) => !topology.services[s]);
  if (gone.length > 0) {
    decided.checks.push({
      id: 'services',
      label: 'services still in the cluster',
      status: 'refuse',
      detail: `${gone.join(', ')} no longer in ${topology.manifestPath}`,
    });
  }
  progress.checks.push(...decided.checks);
  progress.warnings.push(...decided.warnings);
  progress.preview = decided.preview;
  progress.steps = decided.steps;
  progress.migrations = decided.migrations;
  progress.services = [...new Set(decided.steps.map((s) => s.service))].map((service) => ({
    service,
    status: 'pending',
    results: [],
  }));
  return decided.nothingToDo;
}

/** One child per step, in plan order; stops at the first failure. Returns the failure message, if any. */
async function execute(input: Input, progress: ClusterRollbackProgress): Promise<string | undefined> {
  const reverted: string[] = [];
  for (const [i, step] of progress.steps.entries()) {
    const entry = progress.services.find((s) => s.service === step.service)!;
    entry.status = 'rolling-back';
    const result = await executeChild(serviceUpgrade, {
      workflowId: serviceChildWorkflowId(input.cluster, step.service),
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      typedSearchAttributes: [
        { key: FwCluster, value: input.cluster },
        { key: FwOperation, value: `rollback-${step.service}` },
        { key: FwServices, value: [step.service] },
        { key: FwTargetVersion, value: step.version },
        { key: FwOperator, value: input.operator || 'unknown' },
      ],
      args: [childInput(input, step)],
    });
    entry.results.push(result);
    const ok = result.outcome === 'upgraded' || result.outcome === 'started' || result.outcome === 'skipped';
    if (ok) {
      if (!progress.steps.slice(i + 1).some((s) => s.service === step.service)) {
        entry.status = 'rolled-back';
        reverted.push(step.service);
      }
      continue;
    }
    entry.status = 'failed';
    const remaining = [...new Set(progress.steps.slice(i + 1).map((s) => s.service))].filter((s) => s !== step.service);
    progress.summary = { reverted, failed: [step.service], remaining };
    progress.error = result.error ?? `${step.service} failed`;
    return (
      `rollback of ${step.service} failed: ${progress.error}. Stopping. Reverted: [${reverted.join(', ')}], ` +
      `Failed: [${step.service}], Remaining: [${remaining.join(', ')}]`
    );
  }
  progress.summary = { reverted, failed: [], remaining: [] };
  return undefined;
}

function childInput(input: Input, step: RollbackStep) {
  return {
    cluster: input.cluster,
    service: step.service,
    mode: step.mode,
    hosts: step.hosts,
    version: step.version,
    ...(step.imageRef ? { imageRef: step.imageRef } : {}),
    artifacts: [],
    configHash: step.configHash,
    // A replica that does not get healthy on its old release goes back to what it runs now.
    rollback: true,
    skipValidation: false,
    healthInterval: input.healthInterval,
    healthDeadline: input.healthDeadline,
    onHost: { identity: step.identity },
  };
}
