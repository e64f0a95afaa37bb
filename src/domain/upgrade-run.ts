// Pure decisions of the `clusterUpgrade` run (src/workflows/cluster-upgrade*.ts), tested by value: which services
// the run covers, the registry gate, what would happen per host (the dry-run and approval lines), and which
// services are already at target when execution begins.
import type { GateCheck, ServiceTarget, UpgradePlan } from '../contracts/plan';
import type { HostDetection, ServiceUpgradeResult } from '../contracts/upgrade';
import { targetIdentityFor } from './gates/replica-lines';

/** The services an upgrade covers: every planned one for `all`, else the one named — or the check refusing it. */
export function selectServices(
  plan: Pick<UpgradePlan, 'order' | 'excluded'>,
  requested: 'all' | string[],
  known: Record<string, unknown>,
  manifestPath: string,
): { services: string[] } | { refuse: GateCheck } {
  if (requested === 'all') return { services: plan.order };
  const svc = requested[0]!;
  if (!known[svc]) {
    return {
      refuse: {
        id: 'service',
        label: 'service known',
        status: 'refuse',
        detail: `service ${svc} is not in ${manifestPath}`,
      },
    };
  }
  if (!plan.order.includes(svc)) {
    return {
      refuse: {
        id: 'service',
        label: 'service upgradeable',
        status: 'refuse',
        detail: `${svc} is not a platform service (${plan.excluded.find((e) => e.service === svc)?.reason ?? 'excluded'})`,
      },
    };
  }
  return { services: [svc] };
}

/** The registry gate: every pinned image digest resolves. */
export function registryCheck(digestProblems: string[]): GateCheck {
  return digestProblems.length === 0
    ? {
        id: 'registry',
        label: 'image digests in the registry',
        status: 'pass',
        detail: 'every pinned digest resolves',
      }
    : {
        id: 'registry',
        label: 'image digests in the registry',
        status: 'refuse',
        detail: digestProblems.join('; '),
        fix: 'publish the images (by digest) to the registry',
      };
}

/** Whether a replica runs the identity the release pins for it (null identity — nothing pinned — never does). */
export function atTargetIdentity(target: ServiceTarget, d: HostDetection): boolean {
  const id = targetIdentityFor(target, d);
  return id !== null && d.identity === id;
}

export interface PreviewFacts {
  target: string;
  services: string[];
  targets: ServiceTarget[];
  detections: Record<string, HostDetection[]>;
  configs: Record<string, string>;
  /** `service@host` of replicas that would go back to an older release. */
  backwards: ReadonlySet<string>;
  /** Proven gates (PROVEN_GATES_PATCH): a stopped replica at target is started, not skipped. */
  proven: boolean;
}

/** Per service and host, what the upgrade would do (dry-run output and the approval prompt). */
export function previewLines(f: PreviewFacts): { service: string; host: string; line: string }[] {
  const out: { service: string; host: string; line: string }[] = [];
  for (const svc of f.services) {
    const t = f.targets.find((x) => x.service === svc)!;
    for (const d of f.detections[svc] ?? []) {
      const same = atTargetIdentity(t, d) && d.configHash === f.configs[svc];
      const to = t.version ?? f.target;
      const carried = t.carriedFrom ? ` [carried from ${t.carriedFrom}]` : '';
      let line: string;
      if (same && (!f.proven || d.running)) {
        line = `${svc} on ${d.host}: already at ${to} (identity and config match), skip`;
      } else if (same) line = `${svc} on ${d.host}: at ${to} but stopped: would start it and check its health`;
      else {
        const verb = f.backwards.has(`${svc}@${d.host}`) ? 'would DOWNGRADE' : 'would upgrade';
        line = `${verb} ${svc} on ${d.host} from ${d.version ?? 'unknown'} to ${to}${atTargetIdentity(t, d) ? ' (config changed)' : ''}${carried}`;
      }
      out.push({ service: svc, host: d.host, line });
    }
  }
  return out;
}

/**
 * Services whose every replica (detected again right before the deploy sequence) already runs the target identity
 * with the target config — and, with proven gates, is running: settled as skipped without a child run.
 */
export function settledAtTarget(f: {
  target: string;
  services: string[];
  targets: ServiceTarget[];
  fresh: Record<string, HostDetection[]>;
  configs: Record<string, string>;
  proven: boolean;
}): Map<string, ServiceUpgradeResult> {
  const settled = new Map<string, ServiceUpgradeResult>();
  for (const svc of f.services) {
    const t = f.targets.find((x) => x.service === svc)!;
    const ds = f.fresh[svc] ?? [];
    const same = (d: HostDetection): boolean =>
      d.present && !d.error && atTargetIdentity(t, d) && d.configHash === f.configs[svc] && (!f.proven || d.running);
    if (ds.length === t.hosts.length && ds.length > 0 && ds.every(same)) {
      settled.set(svc, {
        service: svc,
        outcome: 'skipped',
        hosts: ds.map((d) => ({
          host: d.host,
          action: 'skipped' as const,
          from: d.version,
          to: t.version ?? f.target,
          detail: 'identity and config already at target',
        })),
      });
    }
  }
  return settled;
}

/** The message a failed upgrade sequence ends with. */
export function upgradeFailure(error: string, s: { succeeded: string[]; failed: string[]; remaining: string[] }) {
  return `${error}. Stopping upgrade sequence. Succeeded: [${s.succeeded.join(', ')}], Failed: [${s.failed.join(', ')}], Remaining: [${s.remaining.join(', ')}]`;
}

/**
 * Each host's architecture from the run's detection (reference §9 item 11): read once per host per run and handed
 * to every later detection and host step, which then do not read it again. Hosts whose architecture is unknown
 * (unreachable, undetectable and undeclared) are left out, so a later step still tries.
 */
export function hostArchs(detections: Record<string, HostDetection[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ds of Object.values(detections)) for (const d of ds) if (d.arch) out[d.host] ??= d.arch;
  return out;
}

/** The part of `archs` for these hosts (what one service's child needs). */
export function archsFor(archs: Record<string, string>, hosts: readonly string[]): Record<string, string> {
  return Object.fromEntries(hosts.filter((h) => archs[h] !== undefined).map((h) => [h, archs[h]!]));
}
