// The third measured step of the upgrade-lab benchmark (issue 12: "`cluster rollback` of that upgrade: ≤ 1.3× the
// same sums"): `frameworks cluster rollback <run> --yes` of the LAST upgrade run (the --parallel one; a rollback of
// an earlier run is refused while a later run changed the same replicas), through the real CLI process, timed from
// process start to exit. Checked: the run completed, every service reverted, every replica back at the identity,
// config hash and version it ran before that upgrade (read from installed.json on each host). Baseline, measured
// right after on the same replicas: the same restart-to-healthy sum as the upgrades' (bench/upgrade-lab-world.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { HOSTS } from '../lab/config';
import { nativePaths } from '../lab/layout';
import { sshArgs } from '../lab/ssh';
import type { ClusterRollbackProgress } from '../src/contracts/rollback';
import { CHANGE, runCli, timings, type RunTimings } from './upgrade-lab-history';
import type { LabWorld } from './upgrade-lab-world';
import { round, sum, type BenchContext, type Comparison, type Target } from './types';

const execFileAsync = promisify(execFile);

/** What a replica runs, as its installed.json says: keyed `service@host`. */
export type InstalledStates = Record<string, { identity: string; configHash: string; version: string }>;

export async function installedStates(world: LabWorld): Promise<InstalledStates> {
  // Double quotes only: the script goes to the remote shell in single quotes.
  const script =
    'const fs = require("node:fs"); const out = {}; ' +
    'for (const [svc, file] of process.argv.slice(1).map((a) => a.split("="))) { ' +
    'const r = JSON.parse(fs.readFileSync(file, "utf8")); ' +
    'out[svc] = { identity: r.identity, configHash: r.config_hash, version: r.version }; } ' +
    'console.log(JSON.stringify(out));';
  const args = world.services.map((s) => `${s}=${nativePaths(s).installed}`).join(' ');
  const out: InstalledStates = {};
  for (const h of HOSTS) {
    const { stdout } = await execFileAsync(
      'ssh',
      [...sshArgs(world.paths, h.address), '--', `node -e '${script}' ${args}`],
      { timeout: 60_000 },
    );
    const states = JSON.parse(stdout.trim()) as InstalledStates;
    for (const [svc, st] of Object.entries(states)) out[`${svc}@${h.name}`] = st;
  }
  return out;
}

export interface RollbackRun {
  variant: string;
  /** The upgrade run reverted. */
  of: string;
  runId: string;
  /** The version the replicas went back to. */
  version: string;
  wallMs: number;
  replicas: number;
  timings: RunTimings;
}

/**
 * Rolls back `upgradeRunId` through the real CLI and checks the outcome: run completed, every service reverted,
 * every replica at exactly the state `before` recorded (the state before that upgrade).
 */
export async function rollBack(
  ctx: BenchContext,
  world: LabWorld,
  upgradeRunId: string,
  before: InstalledStates,
  env: NodeJS.ProcessEnv,
): Promise<RollbackRun> {
  const r = await runCli(['cluster', 'rollback', upgradeRunId, '--yes', '--manifest', world.manifest], env);
  if (r.code !== 0) throw new Error(`rollback of ${upgradeRunId} exited ${r.code}: ${r.out}`);
  const handle = ctx.temporal!.client.workflow.getHandle(CHANGE);
  const result = (await handle.result()) as ClusterRollbackProgress;
  if (result.runId !== upgradeRunId) throw new Error(`the last change run rolled back ${result.runId}`);
  const reverted = result.summary?.reverted ?? [];
  if (result.state !== 'completed' || reverted.length !== world.services.length) {
    throw new Error(
      `rollback: state ${result.state}, ${reverted.length}/${world.services.length} reverted (${result.error ?? ''})`,
    );
  }
  const moved = result.steps.reduce((k, s) => k + s.hosts.length, 0);
  const now = await installedStates(world);
  const wrong = Object.entries(before).filter(([k, st]) => JSON.stringify(now[k]) !== JSON.stringify(st));
  if (wrong.length > 0) {
    throw new Error(
      `after the rollback ${wrong.length} replica(s) are not back: ` +
        wrong.map(([k, st]) => `${k} ${JSON.stringify(now[k])} ≠ ${JSON.stringify(st)}`).join('; '),
    );
  }
  const versions = [...new Set(Object.values(now).map((s) => s.version))];
  const t = await timings(ctx.temporal!.client, (await handle.describe()).runId);
  ctx.log(`rollback of ${upgradeRunId}: ${round(r.wallMs, 0)} ms, ${moved} replicas back at ${versions.join(', ')}`);
  return {
    variant: `cluster rollback <the --parallel run> --yes`,
    of: upgradeRunId,
    runId: (await handle.describe()).runId,
    version: versions.join(', '),
    wallMs: round(r.wallMs, 1),
    replicas: moved,
    timings: t,
  };
}

const ROLLBACK_STEPS = [
  'inspectRollbackHosts',
  'detectServiceOnHost',
  'activateServiceOnHost',
  'probeServiceHealth',
  'finalizeServiceOnHost',
];

/** The rollback's part of the upgrade-lab outcome: its target comparison, numbers, findings, runs and method. */
export function rollbackReport(
  world: LabWorld,
  rb: RollbackRun,
  own: Record<string, Record<string, number>>,
  upgrade: { from: string; sequentialWallMs: number },
) {
  const ownSum = round(sum(world.services.map((s) => sum(world.hosts.map((h) => own[h]![s]!)))), 1);
  const metric =
    `wall time, cluster rollback of the --parallel upgrade (${upgrade.from} → ${rb.version}), ` +
    `${world.services.length} services × ${world.hosts.length} hosts, vs the sum of the replicas’ restart-to-healthy times`;
  const target: Target = {
    metric,
    op: '<=',
    value: 1.3,
    text: '`cluster rollback` of that upgrade ≤ 1.3× the same sum of the replicas’ own restart-to-healthy times (issue 12)',
  };
  const t = rb.timings;
  const perReplica = (type: string) => round((t.activities[type]?.ms ?? 0) / rb.replicas, 0);
  // inspectRollbackHosts runs once for every replica of the plan; the others once (probes: a few times) per replica.
  const steps = ROLLBACK_STEPS.map((type) =>
    type === 'inspectRollbackHosts'
      ? `${type} ${t.activities[type]?.n ?? 0}× ${t.activities[type]?.ms ?? 0} ms in all (every host in one)`
      : `${type} ${t.activities[type]?.n ?? 0}× ${perReplica(type)} ms per replica`,
  );
  const hostSteps = sum(ROLLBACK_STEPS.map((type) => t.activities[type]?.n ?? 0));
  const top = Object.entries(t.activities)
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([type, a]) => `${type} ${a.n}× ${round(a.ms / 1000, 2)} s`)
    .join(', ');
  const comparisons: Comparison[] = [
    {
      metric,
      unit: 'ms',
      ours: rb.wallMs,
      oursLabel: `frameworks cluster rollback <run> --yes, CLI process start to exit (${rb.replicas} replicas moved back)`,
      baseline: ownSum,
      baselineLabel: `${world.services.length * world.hosts.length} × fw-svc restart → /health 200, measured on each host right after the rollback, summed`,
      ratio: round(rb.wallMs / ownSum, 2),
      target,
    },
    {
      metric: 'orchestrator activate → healthy (history), rollback run, vs the replicas’ own restart-to-healthy',
      unit: 'ms',
      ours: t.activateToHealthyMs,
      oursLabel: 'sum over the rollback’s children: activateServiceOnHost scheduled → healthy probe completed',
      baseline: ownSum,
      baselineLabel: 'same sum of restarts by hand (after the rollback)',
      ratio: round(t.activateToHealthyMs / ownSum, 2),
    },
  ];
  return {
    target,
    comparisons,
    ownSum,
    metrics: {
      rollbackWallMs: rb.wallMs,
      rollbackWorkflowMs: t.workflowMs,
      rollbackPlanMs: t.beforeChildrenMs,
      rollbackActivateToHealthyMs: t.activateToHealthyMs,
      rollbackOwnSumMs: ownSum,
    },
    findings: [
      `Rollback of the --parallel run (${rb.replicas} replicas back to ${rb.version}, services in the reverse of the ` +
        `run's order, replicas one by one): ${round(rb.wallMs / 1000, 2)} s end to end against ` +
        `${round(ownSum / 1000, 2)} s for the same replicas' own restarts measured right after ` +
        `(${round(rb.wallMs / ownSum, 2)}×); the workflow ${round(t.workflowMs / 1000, 2)} s (the rest, ` +
        `${round((rb.wallMs - t.workflowMs) / 1000, 2)} s, is the CLI process: Node start, reading the run record and ` +
        `the later runs from Temporal, starting the run, following it); ${round(t.beforeChildrenMs / 1000, 2)} s of ` +
        `facts, gates and plan (inspectRollbackHosts, ledgers, release manifest) before the first of ${t.children} ` +
        `children; inside the children, activate → healthy summed to ${round(t.activateToHealthyMs / 1000, 2)} s.`,
      `Rollback per replica (${hostSteps} host activities, ${round(hostSteps / rb.replicas, 1)} per replica, over ` +
        `the SSH sessions the worker keeps per host): ${steps.join(', ')}; activation alone ${perReplica('activateServiceOnHost')} ms ` +
        `against ${round(ownSum / rb.replicas, 0)} ms for the replica's own restart → healthy. Nothing is staged ` +
        `(the previous release folder is still on the host); the rollback took ` +
        `${round(rb.wallMs / upgrade.sequentialWallMs, 2)}× the sequential upgrade of the same replicas, which ` +
        `staged (${round(upgrade.sequentialWallMs / 1000, 2)} s). Activity time summed ` +
        `by type: ${top}.`,
    ],
    runs: [
      {
        variant: rb.variant,
        version: rb.version,
        of: rb.of,
        runId: rb.runId,
        replicas: rb.replicas,
        wallMs: rb.wallMs,
        ...t,
      },
      { variant: 'restart-to-healthy by hand after the rollback, per host and service (ms)', own, sumMs: ownSum },
    ],
    method: [
      `rollback: \`frameworks cluster rollback <run id of the --parallel upgrade> --yes\` (the last run: a rollback ` +
        'of an earlier run is refused while a later one changed the same replicas), real CLI, same worker, default ' +
        'health interval and deadline. Checked: state completed, every service reverted, every replica’s ' +
        'installed.json (identity, config hash, version) exactly as read before that upgrade. Its baseline is the ' +
        'same on-host restart-to-healthy sum, measured again right after the rollback on the same replicas.',
    ],
  };
}
