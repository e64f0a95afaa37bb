// `cluster rollback <run-id>` (issue 12 item 4), the judgement: from the record of a finished upgrade or release
// run and the facts of the live cluster, which replicas go back to which identity and config, in which order, and
// every reason to refuse. Pure (unit-tested in test/unit/rollback-plan.test.ts); clusterRollback gathers the facts
// and executes the steps with the upgrade's own per-service child (src/workflows/service-upgrade.ts).
//
// Rules:
// - Only replicas the run MOVED are reverted (upgraded, reloaded, or left half-way by a failed rollback); skipped,
//   started, failed-before-activation and already rolled-back replicas are untouched.
// - Services are reverted in the reverse of the order the run upgraded them (its dependency order), replicas of a
//   service one by one, each with the upgrade's health gate (and automatic return to what it runs now on failure).
// - A replica that already runs its pre-run identity and config is not touched (no restart).
// - Refusals: the target release's rollback_disabled names a service (unless --exclude'd); a later run moved the
//   same replica; the replica now runs neither the run's result nor its pre-run state (changed since); the pre-run
//   artifact is gone from the host (named); the pre-run config is not what the cluster files render now (activation
//   writes that config); a contract migration of a rolled-back release has run; a ledger cannot be read (fail
//   closed); the run is still going, is not an upgrade or release, or recorded no identities.
// - Schema and data are never touched: expand and postdeploy migrations of the rolled-back releases stay applied,
//   which is safe by the expand/contract rule (every release runs against the schema of the next one's expand).
import type { GateCheck } from '../contracts/plan';
import type { LedgerRead } from '../contracts/migrations';
import type { LaterRun, RollbackHostFacts, RollbackStep, RunRecord, RunReplica } from '../contracts/rollback';
import type { HostOutcome, ServiceUpgradeResult } from '../contracts/upgrade';
import { compareVersions, versionProblem } from '../contracts/version';

/** Actions after which a replica runs (or may run) something other than before the run. */
const MOVED: ReadonlySet<HostOutcome['action']> = new Set(['upgraded', 'reloaded', 'rollback-failed']);

export const ROLLBACK_RUN_TYPES: readonly string[] = ['clusterUpgrade', 'release'];

const short = (identity: string): string => identity.replace(/^sha256:/, '').slice(0, 12);

/** The replicas of an upgrade's per-service results, as a run record lists them. */
export function replicasOfResults(results: readonly (ServiceUpgradeResult | undefined)[]): RunReplica[] {
  return results.flatMap((r) =>
    (r?.hosts ?? []).map((h) => ({
      service: r!.service,
      host: h.host,
      action: h.action,
      from:
        h.fromIdentity && h.fromConfigHash
          ? { identity: h.fromIdentity, configHash: h.fromConfigHash, version: h.from }
          : null,
      to:
        h.toIdentity && h.toConfigHash !== undefined
          ? { identity: h.toIdentity, configHash: h.toConfigHash, version: h.to }
          : null,
    })),
  );
}

/** Replicas a run moved (the ones a rollback reverts and a later run conflicts with). */
export function movedReplicas(replicas: readonly RunReplica[]): RunReplica[] {
  return replicas.filter((r) => MOVED.has(r.action));
}

export interface RollbackFacts {
  record: RunRecord;
  later: readonly LaterRun[];
  exclude: readonly string[];
  /** Deploy mode of each service of the cluster (cluster.yaml). */
  modes: Record<string, 'native' | 'docker'>;
  /** rollback_disabled of the run's target release (catalog and manifest), with the reason. */
  rollbackDisabled: readonly { service: string; reason: string }[];
  /** Every moved replica as its host is now (inspectRollbackHosts). */
  hosts: readonly RollbackHostFacts[];
  /** Config hash each service's config renders to now (what activation writes). */
  configs: Record<string, string>;
  /** Ledgers of the databases the moved services own. */
  ledgers: readonly LedgerRead[];
}

export interface RollbackPlan {
  checks: GateCheck[];
  warnings: string[];
  steps: RollbackStep[];
  preview: { service: string; host: string; line: string }[];
  migrations: { stayApplied: string[]; note: string };
  /** Every moved replica already runs its pre-run state (or nothing was moved): nothing to change. */
  nothingToDo: boolean;
}

const key = (r: { service: string; host: string }): string => `${r.service}@${r.host}`;

/**
 * `repo@sha256:…` → `repo:<version>@sha256:…`: the host keeps the image by digest only, but a compose stack (and
 * `status`) reads the release from the reference's tag, so the pre-run version goes back into it. A reference
 * that already has a tag, or a replica whose version was unknown, is left as it is. The digest still decides what runs.
 */
export function withVersionTag(ref: string, version: string | null | undefined): string {
  const at = ref.indexOf('@');
  if (at < 0 || !version || !/^[\w][\w.-]{0,127}$/.test(version)) return ref;
  const name = ref.slice(0, at);
  if (name.slice(name.lastIndexOf('/') + 1).includes(':')) return ref;
  return `${name}:${version}${ref.slice(at)}`;
}

function check(id: string, label: string, problems: string[], pass: string, fix?: string): GateCheck {
  return problems.length === 0
    ? { id, label, status: 'pass', detail: pass }
    : { id, label, status: 'refuse', detail: problems.join('\n'), ...(fix ? { fix } : {}) };
}

/** The releases a rollback undoes: after the oldest provable pre-run release, up to the run's target. */
function undoneWindow(record: RunRecord, moved: readonly RunReplica[]): (v: string) => boolean {
  const froms = moved
    .map((r) => r.from?.version ?? null)
    .filter((v): v is string => v !== null && versionProblem(v) === undefined);
  const floor = froms.sort(compareVersions)[0];
  const target = record.target;
  const targetOk = versionProblem(target) === undefined;
  return (v) => {
    if (versionProblem(v) !== undefined || !targetOk) return v === target;
    if (compareVersions(v, target) > 0) return false;
    return floor !== undefined ? compareVersions(v, floor) > 0 : v === target;
  };
}

export function planRollback(f: RollbackFacts): RollbackPlan {
  const checks: GateCheck[] = [];
  const warnings: string[] = [];
  const { record } = f;
  const excluded = new Set(f.exclude);
  const moved = movedReplicas(record.replicas);
  const reverting = moved.filter((r) => !excluded.has(r.service));

  // 1. The run itself.
  const runProblems: string[] = [];
  if (!ROLLBACK_RUN_TYPES.includes(record.type)) {
    runProblems.push(`run ${record.runId} is a ${record.type} run; only upgrade and release runs can be rolled back`);
  } else if (record.closedAt === null || ['running', 'planning', 'awaiting-approval'].includes(record.state)) {
    runProblems.push(`run ${record.runId} has not finished (${record.state}); wait for it, or cancel it`);
  }
  const unknown = [...excluded].filter((s) => !record.replicas.some((r) => r.service === s));
  if (unknown.length > 0) runProblems.push(`--exclude names services the run did not touch: ${unknown.join(', ')}`);
  const blind = reverting.filter((r) => r.from === null || r.to === null);
  if (blind.length > 0) {
    runProblems.push(
      `the run did not record the identities of ${blind.map(key).join(', ')} (runs before identities were kept); ` +
        'roll those back with `upgrade <service> --version <previous> --allow-downgrade`',
    );
  }
  checks.push(
    check(
      'record',
      'the run can be rolled back',
      runProblems,
      `${record.type} run ${record.runId} (${record.state}) to ${record.target}: ${moved.length} replica(s) moved` +
        (excluded.size > 0 ? `, excluded: ${[...excluded].join(', ')}` : ''),
    ),
  );

  // 2. rollback_disabled of the release being rolled back.
  const disabled = f.rollbackDisabled.filter(
    (d) => !excluded.has(d.service) && reverting.some((r) => r.service === d.service),
  );
  checks.push(
    check(
      'rollback-disabled',
      'rollback allowed for every reverted service',
      disabled.map((d) => `${d.service}: ${d.reason}`),
      f.rollbackDisabled.length > 0
        ? `rollback_disabled names only excluded or untouched services (${f.rollbackDisabled.map((d) => d.service).join(', ')})`
        : `${record.target} disables rollback for no service`,
      disabled.length > 0
        ? `leave ${disabled.map((d) => d.service).join(', ')} as they are: ${disabled.map((d) => `--exclude ${d.service}`).join(' ')}`
        : undefined,
    ),
  );

  // 3. Later runs that moved the same replicas.
  const mine = new Set(reverting.map(key));
  const conflicts = f.later.flatMap((l) => {
    const hit = l.moved.filter((m) => mine.has(key(m)));
    return hit.length > 0 ? [`${l.type} run ${l.runId} (started ${l.startedAt}) moved ${hit.map(key).join(', ')}`] : [];
  });
  checks.push(
    check(
      'later-runs',
      'no later run changed the same replicas',
      conflicts,
      f.later.length === 0
        ? 'no change run of the cluster since this one'
        : `${f.later.length} later run(s), none moved these replicas`,
      'roll back the later run first (frameworks cluster rollback <its run id>), or move these replicas with upgrade',
    ),
  );

  // 4. Each replica as its host is now: where it goes, whether its pre-run artifact and config are there.
  const facts = new Map(f.hosts.map((h) => [key(h), h]));
  const hostProblems: string[] = [];
  const artifactProblems: string[] = [];
  const configProblems: string[] = [];
  const preview: RollbackPlan['preview'] = [];
  const todo: { r: RunReplica; imageRef?: string }[] = [];
  for (const r of record.replicas) {
    const at = (s: { version: string | null } | null) => s?.version ?? 'unknown';
    if (!MOVED.has(r.action)) {
      preview.push({ ...r, line: `${r.service} on ${r.host}: not changed by the run (${r.action}), untouched` });
      continue;
    }
    if (excluded.has(r.service)) {
      preview.push({ ...r, line: `${r.service} on ${r.host}: excluded, stays at ${at(r.to)}` });
      continue;
    }
    if (!r.from || !r.to) continue;
    const h = facts.get(key(r));
    if (!h || h.detection.error || !h.detection.present) {
      hostProblems.push(`${key(r)}: not detected (${h?.detection.error ?? 'not installed'})`);
      continue;
    }
    const d = h.detection;
    const is = (s: { identity: string; configHash: string }) =>
      d.identity === s.identity && d.configHash === s.configHash;
    if (is(r.from) && d.running) {
      preview.push({
        ...r,
        line: `${r.service} on ${r.host}: already at ${at(r.from)} (identity and config), untouched`,
      });
      continue;
    }
    if (!is(r.to) && !is(r.from)) {
      hostProblems.push(
        `${key(r)}: runs ${d.version ?? 'unknown'} (${d.identity ? short(d.identity) : 'no identity'}, config ` +
          `${d.configHash ? short(d.configHash) : '?'}), neither what the run left (${at(r.to)}, ${short(r.to.identity)}) ` +
          `nor what it ran before (${at(r.from)}, ${short(r.from.identity)}): changed since the run`,
      );
      continue;
    }
    if (!h.artifact.present) {
      artifactProblems.push(
        `${key(r)}: ${at(r.from)} (${r.from.identity}) is gone from ${r.host}: ${h.artifact.where}`,
      );
      continue;
    }
    if (f.configs[r.service] !== r.from.configHash) {
      configProblems.push(
        `${key(r)}: the config before the run had hash ${short(r.from.configHash)}; the cluster files render ` +
          `${short(f.configs[r.service] ?? '?')} now`,
      );
      continue;
    }
    if (f.modes[r.service] === 'docker' && !h.artifact.imageRef) {
      artifactProblems.push(`${key(r)}: no local image reference for ${r.from.identity}`);
      continue;
    }
    todo.push({ r, ...(h.artifact.imageRef ? { imageRef: withVersionTag(h.artifact.imageRef, r.from.version) } : {}) });
    preview.push({
      ...r,
      line:
        `would roll back ${r.service} on ${r.host} from ${at(r.to)} to ${at(r.from)} ` +
        `(${short(r.from.identity)}${r.from.configHash !== r.to.configHash ? ', config too' : ''})` +
        (is(r.from) ? ' — stopped: would start it' : ''),
    });
  }
  checks.push(
    check(
      'hosts',
      'every replica still runs what the run left',
      hostProblems,
      `${todo.length} replica(s) to revert`,
      'see what changed with `frameworks cluster status`; a later change must be reverted (or re-applied) first',
    ),
  );
  checks.push(
    check(
      'artifacts',
      'pre-run artifacts still on the hosts',
      artifactProblems,
      'every pre-run release is still on its host (nothing is downloaded)',
      'reinstall the previous release with `frameworks cluster upgrade <service> --version <previous> --allow-downgrade`',
    ),
  );
  checks.push(
    check(
      'config',
      'pre-run config is what the cluster files render',
      configProblems,
      'every reverted service gets back the config it ran before',
      "restore the service's env in cluster.yaml (and its env files) to what it was before the run, then run again",
    ),
  );

  // 5. Schema and data: never touched. Contract migrations of a rolled-back release make it unsafe.
  const undone = undoneWindow(record, moved);
  const contract: string[] = [];
  const stay: string[] = [];
  const unreadable: string[] = [];
  for (const l of f.ledgers) {
    if (l.state === 'error') {
      unreadable.push(`${l.database}: ledger unreadable (${l.error})`);
      continue;
    }
    for (const row of l.rows) {
      if (!undone(row.version)) continue;
      const name = `${l.database} ${row.version}/${row.phase}/${row.filename}`;
      if (row.phase === 'contract') contract.push(name);
      else stay.push(name);
    }
  }
  checks.push(
    check(
      'contract',
      'no contract migration of a rolled-back release has run',
      [
        ...unreadable,
        ...(contract.length > 0
          ? [
              `contract migrations of ${record.target} already ran, so the previous release's schema is gone: ${contract.join(', ')}`,
            ]
          : []),
      ],
      f.ledgers.length === 0 ? 'the reverted services own no database' : 'no contract migration of these releases ran',
      contract.length > 0
        ? 'a rollback cannot restore dropped schema: fix forward with a new release'
        : 'make the ledger readable (frameworks cluster doctor), then run again',
    ),
  );
  const note =
    stay.length > 0
      ? 'schema and data are not touched: these expand/postdeploy migrations stay applied, which is safe by the ' +
        'expand/contract rule (a release keeps working on the schema of the next release until its contract runs)'
      : 'schema and data are not touched';

  // 6. Steps: services in the reverse of the run's order; hosts of one service grouped by where they go back to.
  const order = [...record.order].reverse();
  for (const r of todo) if (!order.includes(r.r.service)) order.push(r.r.service);
  const steps: RollbackStep[] = [];
  for (const service of order) {
    for (const { r, imageRef } of todo.filter((t) => t.r.service === service)) {
      const from = r.from!;
      const same = steps.find(
        (s) =>
          s.service === service &&
          s.identity === from.identity &&
          s.configHash === from.configHash &&
          s.imageRef === imageRef &&
          s.version === (from.version ?? 'unknown'),
      );
      if (same) same.hosts.push(r.host);
      else
        steps.push({
          service,
          mode: f.modes[service] ?? 'native',
          hosts: [r.host],
          identity: from.identity,
          configHash: from.configHash,
          version: from.version ?? 'unknown',
          ...(imageRef ? { imageRef } : {}),
        });
    }
  }
  if (moved.length === 0) warnings.push(`run ${record.runId} moved no replica: nothing to roll back`);
  return {
    checks,
    warnings,
    steps,
    preview,
    migrations: { stayApplied: stay, note },
    nothingToDo: steps.length === 0,
  };
}
