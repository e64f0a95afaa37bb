// The upgrade plan (reference §1.2, SPEC §5/§6) as a pure function of what the workflow gathered: the
// cluster topology, the catalog (or why it failed to load), the pinned release slice and the orchestrator
// version. Checks that need the live cluster (detected versions, ledger, data-migration state, host arch
// detection) are listed as not checked here; `upgrade` runs them before any change.
import type { CatalogLoadResult } from '../contracts/catalog-load';
import type { ClusterTopology, GateCheck, ReleaseSlice, ServiceTarget, UpgradePlan } from '../contracts/plan';
import { artifactPinProblems, imagePinProblems } from './artifacts';
import { withoutDigest } from './image-ref';
import { checkCliVersionFloor, checkTransitions, lookupRelease, rollbackDisabledReasons } from './catalog';
import type { MigrationItem, Phase } from '../contracts/migrations';
import { fingerprint } from './hash';
import { selectMigrations } from './migrations/layout';
import { planRollout, type RolloutPlan } from './planner';
import { isCanonicalVersion } from '../contracts/version';

export interface BuildUpgradePlanInput {
  topology: ClusterTopology;
  selector: string;
  resolved: { channel: 'stable' | 'rc'; version: string };
  catalog: CatalogLoadResult;
  release: ReleaseSlice;
  cliVersion: string;
  unsafeIgnoreCliVersionFloor: boolean;
  /** Every discovered migration file (the plan lists those up to the target, by phase). */
  migrationItems: MigrationItem[];
  /**
   * Check the catalog's transitions up to the target and their agreement with the manifest (reference
   * §6.2.1–6.2.2). False only for runs recorded before this check existed (the workflows decide it by patch).
   */
  catalogTransitions?: boolean;
  /** Set when the cluster has no migrations source configured: the schema gate cannot be judged, so refuse. */
  migrationsUnconfigured?: string;
}

/** Reference §1.2: migrations by phase up to the target, for the cluster's databases; null when it has none. */
export function migrationsByPhase(input: BuildUpgradePlanInput): UpgradePlan['migrations'] {
  if (input.topology.databases.length === 0) return null;
  const floor = input.catalog.ok ? input.catalog.catalog.schema_migration_floor : undefined;
  const pick = (phase: Phase) =>
    selectMigrations(input.migrationItems, {
      phase,
      target: input.release.platformVersion,
      databases: input.topology.databases,
      ...(floor ? { floor } : {}),
    }).map((m) => ({ database: m.database, version: m.version, filename: m.filename, transactional: m.transactional }));
  return { expand: pick('expand'), postdeploy: pick('postdeploy'), contract: pick('contract') };
}

/** Target identity per service: what will run after the upgrade, and why it might not be deployable. */
export function serviceTargets(topology: ClusterTopology, order: string[], release: ReleaseSlice): ServiceTarget[] {
  return order.map((service) => {
    const svc = topology.services[service]!;
    const slice = release.services[service];
    const base: ServiceTarget = { service, mode: svc.mode, hosts: [...svc.hosts], artifacts: [], problems: [] };
    if (!slice) return { ...base, problems: [`not in release manifest ${release.platformVersion}`] };
    const target: ServiceTarget = {
      ...base,
      version: slice.version,
      ...(slice.carriedFrom ? { carriedFrom: slice.carriedFrom } : {}),
    };
    if (svc.mode === 'docker') {
      const problems = imagePinProblems(slice.image, slice.digest);
      if (problems.length > 0) target.problems.push(...problems);
      else target.imageRef = `${withoutDigest(slice.image!)}@${slice.digest!}`;
      return target;
    }
    if (slice.artifacts.length === 0) {
      target.problems.push('no binary artifacts for native mode');
      return target;
    }
    // Hosts with a declared arch need exactly that artifact; undeclared arches are detected by `upgrade`, so then
    // every artifact of the service must be installable.
    const declared = [...new Set(svc.hosts.map((h) => topology.hosts[h]?.arch).filter((a): a is string => !!a))].sort();
    const undeclared = svc.hosts.some((h) => !topology.hosts[h]?.arch);
    for (const arch of declared) {
      if (!slice.artifacts.some((a) => a.arch === arch)) {
        const hosts = svc.hosts.filter((h) => topology.hosts[h]?.arch === arch);
        target.problems.push(`no artifact for ${arch} (host ${hosts.join(', ')})`);
      }
    }
    const needed = undeclared ? slice.artifacts : slice.artifacts.filter((a) => declared.includes(a.arch));
    const arches = needed.map((a) => a.arch).filter((a) => a !== '');
    for (const arch of [...new Set(arches.filter((a, i) => arches.indexOf(a) !== i))]) {
      target.problems.push(`more than one native artifact for ${arch}: which one to install is ambiguous`);
    }
    for (const a of needed) target.problems.push(...artifactPinProblems(a));
    target.artifacts = needed;
    return target;
  });
}

/**
 * The artifact gate over the given targets (reference §6.2.3): one refusal listing every service that cannot be
 * deployed pinned by content, each problem naming its service. A service's problems never refuse another one:
 * `upgrade <svc>` passes only that service's target here.
 */
export function artifactsCheck(targets: readonly ServiceTarget[]): GateCheck {
  const problems = targets.flatMap((t) => t.problems.map((p) => `${t.service}: ${p}`));
  return problems.length === 0
    ? {
        id: 'artifacts',
        label: 'release artifacts resolve',
        status: 'pass',
        detail: `${targets.length} service(s) pinned by content identity`,
      }
    : {
        id: 'artifacts',
        label: 'release artifacts resolve',
        status: 'refuse',
        detail: `release artifacts do not resolve for planned service(s), refusing before mutating the cluster: ${problems.join('; ')}`,
        fix: 'publish a release manifest with an image digest, or a native artifact with url and sha256 checksum, for every planned service and host arch',
      };
}

function catalogChecks(input: BuildUpgradePlanInput): GateCheck[] {
  const { catalog, release } = input;
  const target = release.platformVersion;
  const checks: GateCheck[] = [];
  if (!catalog.ok) {
    checks.push({
      id: 'catalog-loads',
      label: 'release catalog loads',
      status: 'refuse',
      detail: `release catalog failed to load: ${catalog.error}`,
      fix: `fix or restore the catalog in ${catalog.source} (or upgrade the orchestrator)`,
    });
    return checks;
  }
  checks.push({
    id: 'catalog-loads',
    label: 'release catalog loads',
    status: 'pass',
    detail: `loaded from ${catalog.source}`,
  });

  const entry = lookupRelease(catalog.catalog, target);
  if (catalog.catalog.releases.length === 0) {
    checks.push({
      id: 'target-declared',
      label: 'target declared in catalog',
      status: 'pass',
      detail: 'catalog declares no releases: nothing to check (explicit pass)',
    });
  } else if (!entry) {
    checks.push({
      id: 'target-declared',
      label: 'target declared in catalog',
      status: 'refuse',
      detail: `${target} is not declared in the release catalog`,
      fix: 'update the orchestrator (and its catalog) to a version that knows this release before upgrading',
    });
  } else {
    checks.push({
      id: 'target-declared',
      label: 'target declared in catalog',
      status: 'pass',
      detail: `${entry.version} declared`,
    });
  }

  const floors = [release.minCliVersion, entry?.min_cli_version].filter((v): v is string => !!v);
  if (floors.length === 0) {
    checks.push({
      id: 'min-cli-version',
      label: 'orchestrator version floor',
      status: 'pass',
      detail: 'no min_cli_version declared',
    });
  }
  for (const floor of [...new Set(floors)]) {
    const r = checkCliVersionFloor(input.cliVersion, floor, { unsafeIgnore: input.unsafeIgnoreCliVersionFloor });
    checks.push({
      id: 'min-cli-version',
      label: `orchestrator version floor ${floor}`,
      status: !r.ok ? 'refuse' : r.warning ? 'bypassed' : 'pass',
      detail: r.ok ? (r.warning ?? `orchestrator ${input.cliVersion} ≥ ${floor}`) : r.reason,
      ...(!r.ok ? { fix: r.fix } : {}),
    });
  }

  if (input.catalogTransitions) {
    const r = checkTransitions(catalog.catalog, target, release.requiredTransitions);
    checks.push(
      r.ok
        ? { id: 'required-transitions', label: 'required transitions implemented', status: 'pass', detail: r.detail }
        : {
            id: 'required-transitions',
            label: 'required transitions implemented',
            status: 'refuse',
            detail: r.problems.join('\n'),
            fix: r.fix,
          },
    );
  } else if (release.requiredTransitions.length > 0) {
    checks.push({
      id: 'required-transitions',
      label: 'required transitions implemented',
      status: 'refuse',
      detail: `this orchestrator does not implement the transition(s) ${release.requiredTransitions.join(', ')} required by ${target}`,
      fix: 'upgrade the orchestrator to a version that implements them',
    });
  }
  return checks;
}

const LIVE_CHECKS: [string, string][] = [
  [
    'compatibility-floor',
    'compatibility floor, required stops and downgrades (against the release each replica is proven to be on)',
  ],
  ['schema-gate', 'schema gate (expand ≤ target and prior postdeploy in the ledger) and below-floor guard'],
  ['data-migration-gate', 'data-migration gate (pre-deploy window)'],
  ['host-arch', 'host architectures without a declared arch'],
];

export function buildUpgradePlan(input: BuildUpgradePlanInput): UpgradePlan {
  const { topology, release } = input;
  const target = release.platformVersion;
  if (!isCanonicalVersion(target)) {
    throw new Error(`selected release manifest has non-concrete platform_version "${target}"; expected vX.Y.Z`);
  }

  let rollout: RolloutPlan;
  const checks: GateCheck[] = catalogChecks(input);
  if (input.catalog.ok) {
    try {
      rollout = planRollout({ services: topology.services, definitions: input.catalog.services });
    } catch (err) {
      rollout = { order: Object.keys(topology.services).sort(), batches: [], excluded: [] };
      checks.push({
        id: 'rollout-order',
        label: 'rollout order',
        status: 'refuse',
        detail: err instanceof Error ? err.message : String(err),
        fix: 'fix catalog/services.yaml or cluster.yaml',
      });
    }
  } else {
    rollout = { order: Object.keys(topology.services).sort(), batches: [], excluded: [] };
  }

  const targets = serviceTargets(topology, rollout.order, release);
  checks.push(artifactsCheck(targets));
  if (input.migrationsUnconfigured && topology.databases.length > 0) {
    checks.push({
      id: 'migrations-source',
      label: 'migrations source configured',
      status: 'refuse',
      detail: input.migrationsUnconfigured,
      fix: 'set migrations_dir in orchestrator.yaml beside the cluster manifest, then restart the worker',
    });
  }
  for (const [id, label] of LIVE_CHECKS) {
    checks.push({
      id,
      label,
      status: 'not-checked',
      detail: 'checked by `upgrade` against the live cluster before any change',
    });
  }

  const v = target;
  const suggestedFlow = [
    `frameworks cluster migrate --phase expand --to-version ${v} --dry-run`,
    `frameworks cluster migrate --phase expand --to-version ${v}`,
    `frameworks cluster upgrade --all --version ${v} --dry-run`,
    `frameworks cluster upgrade --all --version ${v} --yes`,
    'frameworks cluster status',
  ];
  const warnings = [...release.source.warnings];
  if (input.resolved.channel !== topology.channel) {
    warnings.push(`cluster channel is "${topology.channel}" but upgrading from "${input.resolved.channel}" channel`);
  }
  const plan: Omit<UpgradePlan, 'planHash'> = {
    cluster: topology.name,
    clusterChannel: topology.channel,
    selector: input.selector,
    resolved: input.resolved,
    platformVersion: target,
    release: { ...release.source, gitCommit: release.gitCommit, releaseDate: release.releaseDate },
    warnings,
    order: rollout.order,
    waves: rollout.batches,
    excluded: rollout.excluded.map((e) => ({ service: e.service, reason: e.reason })),
    targets,
    checks,
    refused: checks.some((c) => c.status === 'refuse'),
    // By base version, so an rc target gets its final's catalog entry (reference §3.1 RollbackDisabledFor).
    rollbackDisabled: input.catalog.ok
      ? rollbackDisabledReasons(input.catalog.catalog, target, release.rollbackDisabled, rollout.order)
      : rollout.order
          .filter((s) => release.rollbackDisabled.includes(s))
          .map((service) => ({ service, reason: `rollback_disabled in release manifest ${target}` })),
    migrations: migrationsByPhase(input),
    suggestedFlow,
  };
  return { ...plan, planHash: fingerprint({ target, order: plan.order, targets }) };
}
