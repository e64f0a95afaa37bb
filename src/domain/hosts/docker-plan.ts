// Activation and rollback of a docker service (the dockerode driver, activities/hosts/docker.ts) planned as data:
// from the two containers' state, the Engine API operations to run, in order, and the action they amount to. The
// driver executes the operations; tested by value in test/unit/docker-plan.test.ts, against a real dockerd in
// test/integration/docker-driver.test.ts.
//
// `frameworks-<svc>` is the live container; during activation the old one is stopped and renamed
// `frameworks-<svc>-previous` (stopped, because it holds the same host port) and kept until the host is healthy.
// Every plan converges from any point a crash can leave: a missing main with a present -previous means "create the
// new one", a main with the target identity that is not running means "start it".
import { assertServiceName } from './commands';

export const containerName = (svc: string): string => (assertServiceName(svc), `frameworks-${svc}`);
export const previousContainerName = (svc: string): string => `${containerName(svc)}-previous`;

export type DockerOp =
  | { op: 'remove'; name: string }
  | { op: 'stop'; name: string }
  | { op: 'rename'; name: string; to: string }
  /** Create the service's container from its spec (dockerContainerSpec) under `name`. */
  | { op: 'create'; name: string }
  /** Start the container the preceding `create` made. */
  | { op: 'start-created'; name: string }
  /** Start an existing container (already running is fine). */
  | { op: 'start'; name: string };

/** What detection read of a container (null: there is none). */
export interface ContainerFacts {
  running: boolean;
  /** `sha256:<hex>` registry digest of its image, null when it has none for its repository. */
  imageDigest: string | null;
  configHash: string | null;
}

export interface DockerActivationPlan {
  action: 'none' | 'started' | 'created' | 'replaced';
  ops: DockerOp[];
}

export function planDockerActivation(
  svc: string,
  cur: ContainerFacts | null,
  target: { digest: string; configHash: string },
): DockerActivationPlan {
  const [main, prev] = [containerName(svc), previousContainerName(svc)];
  if (cur && cur.imageDigest === target.digest && cur.configHash === target.configHash) {
    return cur.running ? { action: 'none', ops: [] } : { action: 'started', ops: [{ op: 'start', name: main }] };
  }
  const create: DockerOp[] = [
    { op: 'create', name: main },
    { op: 'start-created', name: main },
  ];
  if (!cur) return { action: 'created', ops: create };
  // What runs now is the rollback target; an older, unfinalized -previous is superseded by it.
  return {
    action: 'replaced',
    ops: [{ op: 'remove', name: prev }, { op: 'stop', name: main }, { op: 'rename', name: main, to: prev }, ...create],
  };
}

export type DockerRollbackPlan =
  { kind: 'unavailable'; why: string } | { kind: 'rollback'; action: 'none' | 'rolled-back'; ops: DockerOp[] };

/**
 * `-previous` back under the live name, the new container removed. Without a kept container, `to` (the digest
 * detected before the upgrade) lets a retry that finds the rollback already done succeed.
 */
export function planDockerRollback(
  svc: string,
  kept: ContainerFacts | null,
  cur: ContainerFacts | null,
  to?: { imageDigest: string },
): DockerRollbackPlan {
  const [main, prev] = [containerName(svc), previousContainerName(svc)];
  if (kept) {
    return {
      kind: 'rollback',
      action: 'rolled-back',
      ops: [
        { op: 'remove', name: main },
        { op: 'rename', name: prev, to: main },
        { op: 'start', name: main },
      ],
    };
  }
  if (!cur || !to || cur.imageDigest !== to.imageDigest) {
    return { kind: 'unavailable', why: `cannot roll back ${svc}: there is no ${prev} container` };
  }
  return { kind: 'rollback', action: 'none', ops: cur.running ? [] : [{ op: 'start', name: main }] };
}
