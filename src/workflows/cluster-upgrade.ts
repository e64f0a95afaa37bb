// `cluster upgrade <service>|--all` (SPEC §6): pin the concrete version once, plan, run every gate before any
// change, wait for approval of the plan hash (unless --yes), then one child workflow per service, wave by wave of
// the dependency order (at most --parallel at once; cluster-upgrade-run.ts); the first failure stops new starts and
// the result lists succeeded / failed / rolled back / remaining.
// Runs on the cluster's change lock fw/<cluster>/change.
import { patched, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import { ClusterUpgradeInputSchema, type ClusterUpgradeInput, type ClusterUpgradeProgress } from '../contracts/upgrade';
import { serviceDatabase } from '../domain/catalog';
import { catalogRequirements, preDeployWindow, requirementKey } from '../domain/data-migrations/gates';
import { judgeReplicas, pinQueries } from '../domain/gates/replica-lines';
import { ownedDatabases, upgradeGates, type UpgradeGateFacts } from '../domain/gates/upgrade-gates';
import { fingerprint } from '../domain/hash';
import { ledgersAfterExpand } from '../domain/migrations/project';
import { artifactsCheck } from '../domain/upgrade-plan';
import { hostArchs, previewLines, registryCheck, selectServices } from '../domain/upgrade-run';
import { scheduleWaves } from '../domain/waves';
import { failureMessage } from '../temporal/failures';
import { FwServices } from '../temporal/search-attributes';
import { changeRun, type ChangeRun } from './change-run';
import { upgradeActivities } from './cluster-upgrade-fresh';
import { runUpgrades, type UpgradeRunPlan } from './cluster-upgrade-run';
import { clusterUpgradeMessages } from './messages';
import { gatherAndPlan } from './plan-steps';
import { parseInput } from './util';

const act = upgradeActivities;

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

export { REUSE_PLAN_DETECTION_PATCH, SKIP_AT_TARGET_PATCH } from './cluster-upgrade-run';
export { STAGE_AHEAD_PATCH } from './cluster-stage-ahead';

export type ParsedUpgradeInput = ReturnType<typeof ClusterUpgradeInputSchema.parse>;

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
  let planned: UpgradeRunPlan | undefined;
  return changeRun({
    progress,
    messages: clusterUpgradeMessages,
    input,
    changing: 'any host changes',
    executing: 'upgrading',
    plan: async (run) => {
      planned = await planUpgrade(input, run);
      return { refused: planned === undefined || progress.checks.some((c) => c.status === 'refuse') };
    },
    execute: (run) => runUpgrades(input, planned!, run),
  });
}

/** Steps 1–4: pin the target, choose the services, gather live facts, every gate, the per-host preview. */
async function planUpgrade(
  input: ParsedUpgradeInput,
  run: ChangeRun<ClusterUpgradeProgress>,
): Promise<UpgradeRunPlan | undefined> {
  const { progress } = run;
  // 1. Pin the concrete version once; every later step uses it.
  const { topology, catalog, release, migrations, plan } = await gatherAndPlan(act, input);
  const target = plan.platformVersion;
  run.pinTarget(target);
  progress.warnings.push(...plan.warnings);

  // 2. Which services.
  const selected = selectServices(plan, input.services, topology.services, topology.manifestPath);
  if ('refuse' in selected) {
    progress.checks.push(selected.refuse);
    return undefined;
  }
  const services = selected.services;
  progress.order = services;
  upsertSearchAttributes([{ key: FwServices, value: services }]);
  const planChecks = plan.checks.filter((c) => c.status !== 'not-checked');
  if (patched(SELECTED_ARTIFACTS_PATCH)) {
    const chosen = plan.targets.filter((t) => services.includes(t.service));
    progress.checks.push(...planChecks.map((c) => (c.id === 'artifacts' ? artifactsCheck(chosen) : c)));
  } else {
    progress.checks.push(...planChecks);
  }
  if (!catalog.ok) return undefined;

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
    return undefined;
  }
  const detections = detected.d;
  const detectedAt = Date.now();
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
  progress.checks.push(...gates.checks, registryCheck(digestProblems));
  progress.warnings.push(...gates.warnings);

  // 4. What would happen, per host (dry-run output and the approval prompt).
  const backwards = new Set(
    proven
      ? judgeReplicas({ target, targets, detections, pins: proven.pins }).downgrades.map(
          (d) => `${d.line.service}@${d.line.host}`,
        )
      : [],
  );
  progress.preview.push(...previewLines({ target, services, targets, detections, configs, backwards, proven: v2 }));
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
  const rollbackDisabled = v2
    ? plan.rollbackDisabled.map((r) => r.service)
    : [
        ...release.rollbackDisabled,
        ...(catalog.catalog.releases.find((r) => r.version === target)?.rollback_disabled ?? []),
      ];
  return {
    target,
    services,
    targets,
    configs,
    proven: v2,
    waved,
    schedule,
    rollbackDisabled,
    hostArchs: hostArchs(detections),
    planDetection: { detections, at: detectedAt },
  };
}
