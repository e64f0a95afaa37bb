// `frameworks cluster upgrade <service> | --all`: starts `clusterUpgrade` on the cluster's change lock, shows the
// plan and every gate before the prompt, then follows the run per service and host. Ctrl-C detaches.
import type { WorkflowHandle } from '@temporalio/client';
import type { CanaryDecision } from '../../contracts/canary';
import type { ClusterUpgradeProgress, HostOutcome } from '../../contracts/upgrade';
import { deployedServices } from '../../domain/frameworks/deployed';
import { describeWaves } from '../../domain/waves';
import { durationProblem } from '../../contracts/duration';
import { ExitError } from '../../errors';
import { changeWorkflowId } from '../../temporal/ids';
import { ORCHESTRATOR_VERSION } from '../../version';
import { canaryUpdate, clusterUpgradeMessages } from '../../workflows/messages';
import { gateLines, type Output } from '../output';
import { confirm } from '../prompt';
import { runChange, type ChangeView } from '../run-change';
import { healthOverrides, operatorName, warnOtherChannel } from '../runs';

export interface UpgradeOptions {
  manifest?: string;
  all?: boolean;
  version?: string;
  dryRun?: boolean;
  yes?: boolean;
  rollback?: boolean;
  skipValidation?: boolean;
  skipMigrationCheck?: boolean;
  skipDataMigrationCheck?: boolean;
  unsafeIgnoreCliVersionFloor?: boolean;
  unsafeAllowUnknownVersion?: boolean;
  allowDowngrade?: boolean;
  /** --parallel <n> as typed (commander hands over the string). */
  parallel?: string;
  /** --canary, --soak <duration>, --canary-timeout <duration> (src/contracts/canary.ts). */
  canary?: boolean;
  soak?: string;
  canaryTimeout?: string;
  detach?: boolean;
  json?: boolean;
}

const STATUS_MARK: Record<string, string> = {
  pending: '·',
  upgrading: '…',
  upgraded: '✓',
  started: '▶',
  skipped: '=',
  failed: '✗',
  'rolled-back': '↩',
  'rollback-failed': '✗✗',
};

export function renderUpgradeProgress(p: ClusterUpgradeProgress): string[] {
  const lines: string[] = [];
  if (p.target)
    lines.push(
      `Upgrading ${p.order.length} service(s) to ${p.target}${p.order.length ? `: ${p.order.join(' -> ')}` : ''}`,
    );
  if (p.waves && (p.parallel ?? 1) > 1) {
    lines.push(`Waves (at most ${p.parallel} service(s) at once):`);
    for (const w of describeWaves({ waves: p.waves }, p.parallel ?? 1)) lines.push(`  ${w}`);
  }
  lines.push(...gateLines(p.checks));
  for (const w of p.warnings) lines.push(`WARNING: ${w}`);
  if (p.state === 'dry-run' || p.state === 'awaiting-approval') {
    for (const x of p.preview) lines.push(`  ${x.line}`);
    for (const r of p.rollbackDisabled ?? []) lines.push(`  no automatic rollback for ${r.service}: ${r.reason}`);
  }
  lines.push(...canaryLines(p));
  for (const s of p.services) {
    if (s.status === 'pending') continue;
    lines.push(`  ${STATUS_MARK[s.status]} ${s.service}: ${s.status}`);
    // The service is named on every host line: follow() prints each distinct line once, so a bare
    // "h2: upgraded (v0.1.0 → v0.2.0)" of a second service on the same host would be swallowed.
    for (const h of s.result?.hosts ?? []) {
      lines.push(`      ${s.service} on ${h.host}: ${hostMove(h)}${h.detail ? ` — ${h.detail}` : ''}`);
    }
  }
  return lines;
}

/** --parallel: a whole number from 1 to 64 (the contract's bound), else a usage error naming the flag. */
export function parseParallel(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new ExitError(`--parallel must be a whole number from 1 to 64, got "${raw}"`, 2);
  }
  return n;
}

/** The canaries of a `--canary` run: soaking, waiting for a decision (with the commands that answer), decided. */
export function canaryLines(p: ClusterUpgradeProgress): string[] {
  const id = changeWorkflowId(p.cluster);
  return (p.canaries ?? []).map((c) => {
    const head = `  canary ${c.service} on ${c.host}`;
    switch (c.state) {
      case 'soaking':
        return `${head}: healthy since ${c.healthyAt}, soaking`;
      case 'awaiting':
        return `${head}: healthy, waiting until ${c.deadline ?? '?'} for: frameworks cluster runs continue ${id} | frameworks cluster runs rollback ${id}`;
      case 'expired':
        return `${head}: no decision by ${c.deadline ?? 'the deadline'}, rolled back`;
      default:
        return `${head}: ${c.state} by ${c.decidedBy ?? 'the operator'}`;
    }
  });
}

/** --canary's flags: --soak and --canary-timeout only with it, durations by the contracts' one parser, not with --no-rollback. */
export function canaryInput(opts: UpgradeOptions): Record<string, unknown> {
  if (!opts.canary) {
    if (opts.soak !== undefined) throw new ExitError('--soak needs --canary', 2);
    return {};
  }
  if (opts.rollback === false) {
    throw new ExitError(
      '--canary needs rollback: a canary that is not continued is rolled back (drop --no-rollback)',
      2,
    );
  }
  for (const [flag, value] of [
    ['--soak', opts.soak],
    ['--canary-timeout', opts.canaryTimeout],
  ] as const) {
    const problem = value === undefined ? undefined : durationProblem(value);
    if (problem) throw new ExitError(`${flag}: ${problem}`, 2);
  }
  return {
    canary: true,
    ...(opts.soak !== undefined ? { soak: opts.soak } : {}),
    ...(opts.canaryTimeout !== undefined ? { canaryTimeout: opts.canaryTimeout } : {}),
  };
}

/** Which way a host went. A rollback went back: "rolled-back to v0.2.0 (v0.2.1 failed)", never a forward arrow. */
export function hostMove(h: HostOutcome): string {
  switch (h.action) {
    case 'rolled-back':
      if (h.detail?.startsWith('canary '))
        return `rolled-back to ${h.from ?? 'the previous identity'} (canary of ${h.to})`;
      return `rolled-back to ${h.from ?? 'the previous identity'} (${h.to} failed)`;
    case 'rollback-failed':
      return `rollback-failed: ${h.to} failed and ${h.from ?? 'the previous identity'} could not be restored`;
    case 'failed':
      return `failed: the upgrade${h.from ? ` from ${h.from}` : ''} to ${h.to} did not complete`;
    default:
      return `${h.action}${h.from ? ` (${h.from} → ${h.to})` : ` (→ ${h.to})`}`;
  }
}

export const upgradeView: ChangeView<ClusterUpgradeProgress> = {
  name: 'upgrade',
  workflowType: 'clusterUpgrade',
  messages: clusterUpgradeMessages,
  render: renderUpgradeProgress,
  question: (p) => `Upgrade ${p.order.length} service(s) of ${p.cluster} to ${p.target}?`,
  operatorWait: {
    key: (p) => {
      const waiting = (p.canaries ?? []).filter((c) => c.state === 'awaiting');
      return waiting.length > 0 ? `canary ${waiting.map((c) => `${c.service}@${c.host}`).join(' ')}` : undefined;
    },
    ask: askCanary,
  },
};

/**
 * The canary prompt on a terminal (the following `upgrade --canary` and `runs watch`): continue, else roll back,
 * else leave it waiting (answer later with `runs continue|rollback`; the deadline still applies).
 */
async function askCanary(handle: WorkflowHandle, p: ClusterUpgradeProgress, out: Output): Promise<void> {
  const waiting = (p.canaries ?? []).filter((c) => c.state === 'awaiting');
  const which = waiting.map((c) => `${c.service} on ${c.host}`).join(', ');
  let decision: CanaryDecision | undefined;
  if (await confirm(`Canary ${which} is healthy at ${p.target}. Continue with the other replicas?`)) {
    decision = 'continue';
  } else if (await confirm(`Roll the canary ${which} back to what it ran before?`)) {
    decision = 'rollback';
  }
  if (!decision) {
    out.line(`Left waiting; answer with frameworks cluster runs continue|rollback ${handle.workflowId}`);
    return;
  }
  try {
    await handle.executeUpdate(canaryUpdate, { args: [{ decision, operator: operatorName() }] });
  } catch (err) {
    out.warn(`not answered: ${(err as { cause?: { message?: string } }).cause?.message ?? String(err)}`);
  }
}

export async function upgradeCommand(
  service: string | undefined,
  opts: UpgradeOptions,
  globals: { color?: boolean },
): Promise<void> {
  if (opts.all && service) throw new ExitError('--all and a service name are mutually exclusive', 2);
  if (!opts.all && !service) throw new ExitError('requires exactly 1 service name (or use --all)', 2);
  const parallel = parseParallel(opts.parallel);
  const canary = canaryInput(opts);
  if (parallel > 1 && !opts.all) throw new ExitError('--parallel needs --all (one service upgrades alone)', 2);
  const selector = opts.version ?? '';
  await runChange(
    {
      view: upgradeView,
      flags: opts,
      operation: opts.all ? 'upgrade-all' : `upgrade-${service}`,
      input: (ctx) => {
        const known = deployedServices(ctx.settings.fw);
        if (service && !known.includes(service)) {
          throw new ExitError(
            `unknown service "${service}": ${ctx.manifestPath} deploys ${known.join(', ') || 'no services'} (services are named by their deploy name)`,
            2,
          );
        }
        warnOtherChannel(selector, ctx.channel, 'upgrading from');
        return {
          services: opts.all ? 'all' : [service!],
          selector,
          cliVersion: ORCHESTRATOR_VERSION,
          noRollback: opts.rollback === false,
          skipValidation: opts.skipValidation ?? false,
          skipMigrationCheck: opts.skipMigrationCheck ?? false,
          skipDataMigrationCheck: opts.skipDataMigrationCheck ?? false,
          unsafeIgnoreCliVersionFloor: opts.unsafeIgnoreCliVersionFloor ?? false,
          unsafeAllowUnknownVersion: opts.unsafeAllowUnknownVersion ?? false,
          allowDowngrade: opts.allowDowngrade ?? false,
          ...(parallel > 1 ? { parallel } : {}),
          ...canary,
          ...healthOverrides(),
        };
      },
      outcome: (result, out) => {
        if (result.state === 'completed') {
          out.ok(
            `${result.order.length} service(s) at ${result.target} (${result.summary?.succeeded.length ?? 0} succeeded)`,
          );
          out.nextSteps([{ cmd: 'frameworks cluster status' }]);
        } else if (result.state === 'dry-run') {
          out.ok(`Dry-run complete: ${result.order.length} service(s) passed upgrade gates; nothing changed.`);
        } else if (result.state === 'refused') {
          out.fail(`upgrade to ${result.target} refused before any host changed`);
        }
      },
    },
    globals,
  );
}
