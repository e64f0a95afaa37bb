// What a `clusterUpgrade` run stages ahead of its children (issue 12, speed of upgrades; the workflow side is
// src/workflows/cluster-stage-ahead.ts): per service that gets a child, in run order, the stage steps its child
// would run — the same input for the same replica — so the child's own stage finds them staged. Pure, tested by
// value. A replica this cannot judge the way the child will (no detection, an unreadable host, no pin) is left out:
// the child stages it itself, or fails it, exactly as without stage-ahead.
import type { Artifact, ServiceTarget } from '../contracts/plan';
import type { HostDetection } from '../contracts/upgrade';
import { artifactIdentity } from './artifacts';
import { imageDigest } from './image-ref';
import { atTargetIdentity } from './upgrade-run';

/** The input of the stage step of one replica (the `stageServiceOnHost` activity). */
export interface StageStep {
  cluster: string;
  service: string;
  host: string;
  mode: 'native' | 'docker';
  imageRef?: string;
  artifact?: Artifact;
}

/**
 * The stage step of one replica of a service: serviceUpgrade's (service-replica.ts) and the parent's stage-ahead
 * both build it here, so the two can only ever stage the same thing.
 */
export function stageStep(
  svc: { cluster: string; service: string; mode: 'native' | 'docker'; imageRef?: string | undefined },
  host: string,
  artifact: Artifact | undefined,
): StageStep {
  const pin = {
    ...(svc.imageRef ? { imageRef: svc.imageRef } : {}),
    ...(artifact ? { artifact } : {}),
  };
  return { cluster: svc.cluster, service: svc.service, host, mode: svc.mode, ...pin };
}

/** One service's stage-ahead: its replicas' stage steps (possibly none). */
export interface ServiceStages {
  service: string;
  steps: StageStep[];
}

export interface StageAheadFacts {
  cluster: string;
  /** The services that get a child (not settled at target), in the order the run starts them. */
  order: readonly string[];
  targets: readonly ServiceTarget[];
  /** The detection the run settled services at target on (right before the deploy sequence). */
  fresh: Record<string, HostDetection[]>;
  configs: Record<string, string>;
  /** Each host's architecture as the run read it: what the children's detections report (src/domain/upgrade-run.ts). */
  hostArchs: Record<string, string>;
}

/**
 * Per service of `order`, the replicas its child will stage: those not already at the target identity and config
 * (the child skips or starts those without staging), with the artifact of the host's architecture (native) or the
 * pinned image (docker).
 */
export function stageAheadPlan(f: StageAheadFacts): ServiceStages[] {
  return f.order.map((service) => {
    const t = f.targets.find((x) => x.service === service);
    if (!t) return { service, steps: [] };
    const steps: StageStep[] = [];
    for (const host of t.hosts) {
      const d = f.fresh[service]?.find((x) => x.host === host);
      if (!d || d.error) continue;
      const arch = f.hostArchs[host] ?? d.arch;
      if (atTargetIdentity(t, { ...d, arch }) && d.configHash === f.configs[service]) continue;
      const artifact = t.mode === 'native' ? t.artifacts.find((a) => a.arch === arch) : undefined;
      const pinned = t.mode === 'native' ? artifactIdentity(artifact) : imageDigest(t.imageRef ?? '');
      if (pinned === null) continue;
      steps.push(stageStep({ cluster: f.cluster, service, mode: t.mode, imageRef: t.imageRef }, host, artifact));
    }
    return { service, steps };
  });
}
