// `migrate --phase P`: gather facts (topology, target, catalog, files, ledgers, data-migration states), decide
// purely (planSchemaMigration), wait for approval unless --yes, then apply: transactional migrations in stretches
// (one local activity per stretch of one database, each migration its own transaction with its ledger row), `.notx`
// ones one activity each; a failure names its file. Runs on the cluster's change lock (fw/<cluster>/change).
import { resolveSelector } from '../domain/selector';
import {
  ApplicationFailure,
  patched,
  proxyActivities,
  proxyLocalActivities,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ChangeRunState } from '../contracts/change-run';
import {
  SchemaMigrateInputSchema,
  type SchemaMigrateInput,
  type SchemaMigrateProgress,
} from '../contracts/schema-migrate';
import type { MigrationItem } from '../contracts/migrations';
import { fingerprint } from '../domain/hash';
import { phaseGateRequirements, planSchemaMigration, type MigratePlan } from '../domain/migrations/migrate-plan';
import { validateVersion } from '../contracts/version';
import { FailureType, NON_RETRYABLE_FAILURES } from '../errors';
import { failureMessage } from '../temporal/failures';
import { changeRun, type ChangeRun } from './change-run';
import { schemaMigrateMessages } from './messages';
import { decide, readOptions } from './util';

const reads = proxyActivities<Activities>(readOptions('2 minutes', 5));
const REMOTE_APPLY = {
  // DDL can take long; liveness comes from heartbeats, so a killed worker is noticed in seconds.
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
} as const;

// Transactional migrations are short units of work: they run as local activities, executed by the worker that
// runs this workflow task and recorded in history as one marker each (named in the Web UI by their summary),
// without a round trip through the task queue per migration — on a Temporal server that round trip costs more
// than a typical migration. A crash re-runs at most the migrations whose markers were not yet recorded, and apply
// is idempotent (ledger checked under the lock, in the migration's own transaction). `.notx` migrations (index
// builds that can take hours) stay ordinary activities with heartbeats.
const LOCAL_APPLY = {
  startToCloseTimeout: '1 hour',
  localRetryThreshold: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
} as const;
/** Histories started before local apply keep replaying with one ordinary activity per migration. */
const LOCAL_APPLY_PATCH = 'schema-migrate-local-apply';
/**
 * Consecutive transactional migrations of one database run as a stretch: one local activity applies them back to
 * back on one connection, each in its own transaction with its ledger row (exactly-once comes from that
 * transaction, not from the history), for up to STRETCH_BUDGET_MS, and returns one result per migration it did.
 * Histories before this patch keep one local activity per migration.
 */
const APPLY_STRETCH_PATCH = 'schema-migrate-apply-stretch';
/** How long one stretch call runs before it returns (then the next continues): a few markers per thousand files. */
const STRETCH_BUDGET_MS = 2_000;
/** At most this many items are handed to one call (its input; a call usually stops on its budget first). */
const STRETCH_MAX_ITEMS = 500;

/** The transactional migrations of pending[i]'s database starting at i, up to the next .notx or other database. */
function stretchFrom(pending: readonly MigrationItem[], i: number): MigrationItem[] {
  const first = pending[i]!;
  const out: MigrationItem[] = [];
  for (let j = i; j < pending.length && out.length < STRETCH_MAX_ITEMS; j++) {
    const p = pending[j]!;
    if (!p.transactional || p.database !== first.database) break;
    out.push(p);
  }
  return out;
}

export async function schemaMigrate(rawInput: SchemaMigrateInput): Promise<SchemaMigrateProgress> {
  const input = decide(() => SchemaMigrateInputSchema.parse(rawInput));
  const progress: SchemaMigrateProgress = {
    cluster: input.cluster,
    phase: input.phase,
    target: input.toVersion,
    state: 'planning',
    checks: [],
    alreadyApplied: 0,
    migrations: [],
    planHash: '',
    warnings: [],
  };
  let plan: MigratePlan | undefined;
  return changeRun({
    progress,
    messages: schemaMigrateMessages,
    input,
    changing: 'migrations start',
    executing: 'applying',
    plan: async (run) => {
      plan = await planMigrations(input, run);
      return { refused: plan.refused, nothingToDo: plan.pending.length === 0 };
    },
    execute: (run) => applyPending(input, plan!, run.progress, run.setState),
  });
}

/** Facts (topology, target, catalog, files, ledgers, data-migration states), the pure plan, previews, plan hash. */
async function planMigrations(
  input: ReturnType<typeof SchemaMigrateInputSchema.parse>,
  run: ChangeRun<SchemaMigrateProgress>,
): Promise<MigratePlan> {
  const { progress } = run;
  const topology = await reads.describeCluster({ cluster: input.cluster });
  const target =
    input.toVersion !== ''
      ? decide(() => validateVersion(input.toVersion, '--to-version'))
      : (
          await reads.fetchReleaseSlice({
            cluster: input.cluster,
            ...resolveSelector(topology.channel),
            services: [],
          })
        ).platformVersion;
  run.pinTarget(target);

  const [catalog, discovered, facts] = await Promise.all([
    reads.loadCatalog({ cluster: input.cluster }),
    reads.discoverMigrations({ cluster: input.cluster }),
    reads.readDatabaseStates({ cluster: input.cluster, databases: topology.databases }),
  ]);
  const gateReqs = phaseGateRequirements(catalog, input.phase, target);
  const liveStates =
    gateReqs.length > 0
      ? await reads.readDataMigrationStates({
          cluster: input.cluster,
          requirements: gateReqs.map((r) => ({ key: r.key, id: r.requirement.id, database: r.database ?? null })),
        })
      : {};

  const plan = decide(() =>
    planSchemaMigration({
      phase: input.phase,
      target,
      databases: topology.databases,
      catalog,
      items: discovered.items,
      fileProblems: discovered.problems,
      ...(discovered.unconfigured ? { unconfigured: discovered.unconfigured } : {}),
      facts,
      liveStates,
      approved: input.approved || input.dryRun,
      skipDataMigrationCheck: input.skipDataMigrationCheck,
    }),
  );
  progress.checks = plan.checks;
  progress.warnings.push(...plan.warnings);
  progress.alreadyApplied = plan.alreadyApplied;
  // Refusal is settled before the previews are read.
  if (plan.refused) return plan;
  const previews =
    plan.pending.length > 0
      ? await reads.previewMigrations({ cluster: input.cluster, relPaths: plan.pending.map((p) => p.relPath) })
      : {};
  progress.migrations = plan.pending.map((item) => ({
    ...item,
    status: 'pending',
    preview: previews[item.relPath] ?? [],
  }));
  progress.planHash = fingerprint({
    target,
    phase: input.phase,
    pending: plan.pending.map((p) => [p.relPath, p.checksum]),
  });
  upsertMemo({
    summary: `${input.phase} → ${target}: ${plan.pending.length} pending, ${plan.alreadyApplied} already applied`,
  });
  return plan;
}

/** One activity (or local activity) per pending migration, in order; the first failure fails the run. */
async function applyPending(
  input: ReturnType<typeof SchemaMigrateInputSchema.parse>,
  plan: MigratePlan,
  progress: SchemaMigrateProgress,
  setState: (state: ChangeRunState) => void,
): Promise<void> {
  const holder = `${workflowInfo().workflowId}#${workflowInfo().runId}`;
  const local = patched(LOCAL_APPLY_PATCH);
  const stretches = local && patched(APPLY_STRETCH_PATCH);
  for (let i = 0; i < plan.pending.length;) {
    const item = plan.pending[i]!;
    const m = progress.migrations[i]!;
    m.status = 'applying';
    try {
      if (stretches && item.transactional) {
        // The transactional migrations of this database from here on, applied back to back on one connection.
        const items = stretchFrom(plan.pending, i);
        const first = items[0]!.relPath;
        const summary = `apply ${first}${items.length > 1 ? ` and up to ${items.length - 1} more of ${item.database}` : ''}`;
        const results = await proxyLocalActivities<Activities>({ ...LOCAL_APPLY, summary }).applyMigrations({
          cluster: input.cluster,
          items,
          holder,
          budgetMs: STRETCH_BUDGET_MS,
        });
        // The activity returns at least one result or throws; anything else would loop here forever.
        if (results.length === 0) throw new Error(`applyMigrations returned no result for ${first}`);
        for (const r of results) {
          const done = progress.migrations[i++]!;
          done.status = r.outcome;
          done.durationMs = r.durationMs;
        }
        continue;
      }
      const args = { cluster: input.cluster, item, holder };
      // The summary names the migration on its event in the Web UI (histories before the patch had none).
      const summary = local ? { summary: `apply ${item.relPath}` } : {};
      const r =
        local && item.transactional
          ? await proxyLocalActivities<Activities>({ ...LOCAL_APPLY, ...summary }).applyMigration(args)
          : await proxyActivities<Activities>({ ...REMOTE_APPLY, ...summary }).applyMigration(args);
      m.status = r.outcome;
      m.durationMs = r.durationMs;
      i++;
    } catch (err) {
      m.status = 'failed';
      m.error = failureMessage(err);
      progress.error = m.error;
      setState('failed');
      throw ApplicationFailure.create({
        type: FailureType.MigrationFailed,
        message: `${m.error} (applied before it: ${i}, not attempted: ${plan.pending.length - i - 1})`,
        nonRetryable: true,
      });
    }
  }
}
