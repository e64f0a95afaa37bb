// Execution of a `release` run (after its one approval): expand → upgrade --all → the target's required data
// migrations → postdeploy, each a child run of the kind the single commands start; the first failure stops it.
import { ParentClosePolicy, executeChild, workflowInfo, type ChildWorkflowOptions } from '@temporalio/workflow';
import type { DataMigrationStatusView } from '../contracts/data-migrate';
import type { ReleaseInputSchema, ReleaseProgress, ReleaseStep, ReleaseStepName } from '../contracts/release-run';
import type { SchemaMigrateProgress } from '../contracts/schema-migrate';
import type { ClusterUpgradeProgress } from '../contracts/upgrade';
import { childOutcome } from '../domain/release-run';
import { failureMessage, isAlreadyStarted } from '../temporal/failures';
import { FwCluster, FwOperation, FwOperator, FwState } from '../temporal/search-attributes';
import type { ChangeRun } from './change-run';
import { clusterUpgrade } from './cluster-upgrade';
import { dataMigration } from './data-migration';
import { schemaMigrate } from './schema-migrate';

export type ParsedReleaseInput = ReturnType<typeof ReleaseInputSchema.parse>;

/** What both halves of a release need: how children are named and what every child is passed. */
export function releaseContext(input: ParsedReleaseInput) {
  const self = workflowInfo().workflowId;
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
  const common = { cluster: input.cluster, operator: input.operator };
  // The operator's bypasses reach both upgrade runs (the plan and the real one re-checks every gate); only set
  // ones are passed, so the children's input is unchanged for runs that use none.
  const bypasses = {
    ...(input.unsafeAllowUnknownVersion ? { unsafeAllowUnknownVersion: true } : {}),
    ...(input.allowDowngrade ? { allowDowngrade: true } : {}),
  };
  return { child, common, bypasses };
}

/** Step 3: the steps, in order; the first failure stops the run and says what to do. */
export async function runReleaseSteps(input: ParsedReleaseInput, run: ChangeRun<ReleaseProgress>): Promise<void> {
  const { progress } = run;
  const { child, common, bypasses } = releaseContext(input);
  const target = progress.target;
  const stepOf = (name: ReleaseStepName): ReleaseStep => progress.steps.find((s) => s.name === name)!;
  const fail = (name: ReleaseStepName, message: string): never => {
    const s = stepOf(name);
    s.status = 'failed';
    s.error = message;
    return run.fail(`${name} failed: ${message}`);
  };
  const begin = (name: ReleaseStepName, workflowId?: string): ReleaseStep => {
    const s = stepOf(name);
    s.status = 'running';
    if (workflowId) s.workflowId = workflowId;
    run.setState('running');
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
    if (result.state !== 'completed') return fail(phase, childOutcome(result));
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
    if (result.state !== 'completed') return fail('upgrade', childOutcome(result));
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
}
