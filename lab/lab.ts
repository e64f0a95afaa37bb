// The lab cluster of SPEC §10 as a library: `labUp`, `labDown`, `labStatus` (lab/cli.ts and
// `frameworks dev lab …` are thin adapters). All three serialise on one lock per lab folder.
import { DEFAULT_LAB_DIR, HOSTS, INSTALLED_VERSION, labPaths, lockPath } from './config';
import { downFromState, leftovers, type DownReport } from './down';
import { linkExists, netnsExists } from './network';
import { isOurs } from './proc';
import { readState, withLabLock, type Daemon, type LabState } from './state';
import { checkPrerequisites, servicesHealthy, upFromScratch, type Log } from './up';

export type { LabState } from './state';
export type { DownReport } from './down';

export interface LabOptions {
  /** Lab folder (default .data/lab, or FW_LAB_DIR). */
  root?: string;
  /** Progress lines (default: none). */
  log?: Log;
}

export interface LabUpOptions extends LabOptions {
  /** Always tear down and rebuild, even when a healthy lab at v0.1.0 exists. */
  fresh?: boolean;
}

export interface LabStatus {
  /** Some lab state exists (possibly broken). */
  exists: boolean;
  /** `up` completed and nothing below is wrong. */
  healthy: boolean;
  state?: LabState;
  processes: { name: string; pid: number; alive: boolean }[];
  /** Each service replica's /health: `<svc> on <host>: …` lines for those not answering 200. */
  problems: string[];
}

const quiet: Log = () => {};

function daemonsOf(state: LabState): [string, Daemon | undefined][] {
  return [
    ['registry', state.registry],
    ['artifact server', state.artifactServer],
    ['postgres', state.postgres],
    ...HOSTS.flatMap((h): [string, Daemon | undefined][] => [
      h.systemd
        ? [`systemd host ${h.name}`, state.hosts[h.name]?.nspawn]
        : [`sshd ${h.name}`, state.hosts[h.name]?.sshd],
      ...(h.dockerBip ? [[`dockerd ${h.name}`, state.hosts[h.name]?.dockerd] as [string, Daemon | undefined]] : []),
    ]),
  ];
}

/** `initial`: also require the version and config `up` installed (a reusable lab). */
async function statusOf(root: string, initial = false): Promise<LabStatus> {
  const state = readState(labPaths(root).state);
  if (!state) return { exists: false, healthy: false, processes: [], problems: ['no lab state (run lab up)'] };
  const problems: string[] = [];
  if (!state.ready) problems.push('lab up did not finish');
  const processes = daemonsOf(state).map(([name, d]) => {
    const alive = d !== undefined && isOurs(d.pid, d.marker);
    if (!alive) problems.push(`${name} is not running`);
    return { name, pid: d?.pid ?? 0, alive };
  });
  for (const h of HOSTS) if (!netnsExists(h.netns)) problems.push(`network namespace ${h.netns} is missing`);
  if (state.bridge && !linkExists(state.bridge.name)) problems.push(`bridge ${state.bridge.name} is missing`);
  if (problems.length === 0) {
    problems.push(
      ...(await servicesHealthy(initial ? { version: INSTALLED_VERSION, installed: state.installed } : undefined)),
    );
  }
  return { exists: true, healthy: problems.length === 0, state, processes, problems };
}

/** Reads the lab's state and probes every recorded daemon and service; never changes anything. */
export async function labStatus(opts: LabOptions = {}): Promise<LabStatus> {
  return statusOf(opts.root ?? DEFAULT_LAB_DIR);
}

/**
 * Brings the lab up with v0.1.0 installed and healthy. Idempotent: a healthy lab still running exactly what
 * `up` installed (version and config) is reused; anything else (partial, broken, upgraded, reconfigured) is torn
 * down and rebuilt. Databases are not compared: pass `fresh` when a run needs empty databases.
 */
export async function labUp(opts: LabUpOptions = {}): Promise<LabState> {
  const root = opts.root ?? DEFAULT_LAB_DIR;
  const log = opts.log ?? quiet;
  checkPrerequisites();
  return withLabLock(lockPath(root), async () => {
    if (!opts.fresh) {
      const current = await statusOf(root, true);
      if (current.healthy && current.state) {
        log(`lab is up, healthy and still at ${INSTALLED_VERSION} as installed: reusing it`);
        return current.state;
      }
    }
    const report = await downFromState(root, log);
    if (report.leftovers.length > 0) {
      throw new Error(`cannot rebuild the lab, the previous one left: ${report.leftovers.join(', ')}`);
    }
    try {
      return await upFromScratch(root, log);
    } catch (err) {
      // Leave the machine as we found it; the state file made everything removable.
      log(`up failed: ${err instanceof Error ? err.message : String(err)}; tearing down`);
      if (!process.env.FW_LAB_KEEP_FAILED) await downFromState(root, log);
      throw err;
    }
  });
}

/** Stops and removes everything `up` created; returns what was stopped and anything that survived. */
export async function labDown(opts: LabOptions = {}): Promise<DownReport> {
  const root = opts.root ?? DEFAULT_LAB_DIR;
  return withLabLock(lockPath(root), () => downFromState(root, opts.log ?? quiet));
}

/** What of a lab (by its last state) is still on the machine; empty after a clean `labDown`. */
export function labLeftovers(state: LabState): string[] {
  return leftovers(state, state.root);
}
