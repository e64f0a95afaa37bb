// The rollout planner: which of the cluster's services an upgrade touches, and in what order (reference §6.1,
// adapted: we plan services, not provisioning tasks, so there are no mesh/infrastructure phases here — those
// services are simply classified out).
//
// Pure and deterministic: it runs inside Temporal workflow code, so no Node builtins, no clocks, and every
// iteration over a record goes through an explicit sort (object key order would otherwise leak insertion order
// of whichever YAML file produced the record into the plan).
import type { ServiceDefinitions } from '../contracts/catalog';
import { InputError } from '../errors';

/** The slice of the cluster manifest the planner needs: service name → where it runs. */
export interface ClusterServicesView {
  services: Record<string, { mode?: string; hosts: readonly string[] }>;
}

export interface PlanRolloutInput extends ClusterServicesView {
  definitions: ServiceDefinitions;
}

export type ServiceClass = ServiceDefinitions[string]['class'];

export interface ExcludedService {
  service: string;
  class: Exclude<ServiceClass, 'platform'>;
  reason: string;
}

export interface RolloutPlan {
  /** Platform services in upgrade order (the batches flattened). */
  order: string[];
  /** Kahn batches: every service in a batch depends only on services of earlier batches. */
  batches: string[][];
  /** Services present in the cluster that an upgrade never touches, with why. */
  excluded: ExcludedService[];
}

/** Quartermaster holds the cluster's registry; every other platform service needs it up first. */
export const ROOT_SERVICE = 'quartermaster';
const INTERFACE_ROLE = 'interface';
const SOURCE = 'service definitions (catalog/services.yaml)';

const EXCLUSION_REASON: Record<Exclude<ServiceClass, 'platform'>, string> = {
  managed: 'managed dependency: provisioned and upgraded outside FrameWorks releases',
  infrastructure: 'host infrastructure: upgraded by its own procedure, never by a service upgrade',
};

// Code-unit comparison instead of localeCompare: localeCompare depends on the ICU data and locale of the
// process, which a replaying worker on another machine need not share.
function lexical(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function planRollout(input: PlanRolloutInput): RolloutPlan {
  const names = Object.keys(input.services).sort(lexical);

  // Fail closed: a service we have no definition for could be anything (a database, an edge node), so we
  // refuse to guess its class or its dependencies. All unknown names are reported at once.
  const unknown = names.filter((n) => !Object.hasOwn(input.definitions, n));
  if (unknown.length > 0) {
    throw new InputError(
      SOURCE,
      unknown.map((n) => ({
        path: n,
        message: `service "${n}" is in the cluster manifest but has no definition; add it to catalog/services.yaml or remove it from cluster.yaml`,
      })),
    );
  }

  // A misspelt depends_on would silently drop an ordering edge, so dangling references are refused too.
  const dangling = names.flatMap((n) =>
    input.definitions[n]!.depends_on.filter((d) => !Object.hasOwn(input.definitions, d)).map((d) => ({
      path: `${n}.depends_on`,
      message: `"${n}" depends on "${d}", which has no definition`,
    })),
  );
  if (dangling.length > 0) throw new InputError(SOURCE, dangling);

  const planned: string[] = [];
  const excluded: ExcludedService[] = [];
  for (const name of names) {
    const cls = input.definitions[name]!.class;
    if (cls === 'platform') planned.push(name);
    else excluded.push({ service: name, class: cls, reason: EXCLUSION_REASON[cls] });
  }

  const deps = dependencyEdges(planned, input.definitions);
  const batches = kahnBatches(planned, deps);
  return { order: batches.flat(), batches, excluded };
}

/**
 * service → the planned services it must come after. Declared dependencies on services that are not part of
 * this rollout (not in the cluster, or not platform) are already satisfied as far as ordering goes.
 */
function dependencyEdges(planned: readonly string[], definitions: ServiceDefinitions): Map<string, Set<string>> {
  const inPlan = new Set(planned);
  const isInterface = (n: string): boolean => definitions[n]!.role === INTERFACE_ROLE;
  const backends = planned.filter((n) => !isInterface(n));
  const edges = new Map<string, Set<string>>();
  for (const name of planned) {
    // A Set also collapses duplicates (declared twice, or declared and implied), so in-degrees stay honest.
    const before = new Set<string>();
    if (name !== ROOT_SERVICE && inPlan.has(ROOT_SERVICE)) before.add(ROOT_SERVICE);
    for (const dep of definitions[name]!.depends_on) if (inPlan.has(dep)) before.add(dep);
    // Interfaces (web apps) call the APIs of everything else, so they go last.
    if (isInterface(name)) for (const b of backends) before.add(b);
    edges.set(name, before);
  }
  return edges;
}

function kahnBatches(planned: readonly string[], deps: Map<string, Set<string>>): string[][] {
  const pending = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const name of planned) {
    pending.set(name, deps.get(name)!.size);
    for (const dep of deps.get(name)!) dependents.set(dep, [...(dependents.get(dep) ?? []), name]);
  }

  // Batches carry no per-host limit (unlike the reference's provisioning tasks): upgrades run one service at a
  // time and replicas one host at a time, so a batch is only a statement about what could go in parallel.
  const batches: string[][] = [];
  let ready = planned.filter((n) => pending.get(n) === 0).sort(lexical);
  while (ready.length > 0) {
    batches.push(ready);
    const next: string[] = [];
    for (const done of ready) {
      pending.delete(done);
      for (const d of dependents.get(done) ?? []) {
        const left = pending.get(d)! - 1;
        pending.set(d, left);
        if (left === 0) next.push(d);
      }
    }
    ready = next.sort(lexical);
  }

  if (pending.size > 0) {
    const cycle = findCycle([...pending.keys()].sort(lexical), deps);
    throw new InputError(SOURCE, [
      {
        path: cycle[0]!,
        message: `dependency cycle: ${cycle.join(' -> ')} (quartermaster precedes every service and interfaces follow every backend implicitly); break it in depends_on`,
      },
    ]);
  }
  return batches;
}

/**
 * Every service left after Kahn still waits on at least one other leftover, so walking "depends on" edges
 * inside the leftovers must revisit a node; the path from its first visit is a cycle. Always taking the
 * lexically smallest next step makes the reported cycle the same on every run.
 */
function findCycle(leftover: readonly string[], deps: Map<string, Set<string>>): string[] {
  const remaining = new Set(leftover);
  const path: string[] = [];
  const seenAt = new Map<string, number>();
  let node = leftover[0]!;
  while (!seenAt.has(node)) {
    seenAt.set(node, path.length);
    path.push(node);
    node = [...deps.get(node)!].filter((d) => remaining.has(d)).sort(lexical)[0]!;
  }
  return [...path.slice(seenAt.get(node)), node];
}

/**
 * The hosts a service's replicas run on, in the order the cluster manifest lists them (replicas are upgraded
 * one by one in that order). A service absent from the cluster resolves to no hosts; a host listed twice is
 * upgraded once.
 */
export function resolveUpgradeHosts(cluster: ClusterServicesView, service: string): string[] {
  if (!Object.hasOwn(cluster.services, service)) return [];
  return [...new Set(cluster.services[service]!.hosts)];
}
