// `lab down`: removes what `up` recorded, in dependency order, by pid and by recorded name only.
//   1. containers (through each host's dockerd), then dockerd itself, so no container outlives its engine;
//   2. systemd hosts: their systemd-nspawn (SIGTERM = a clean poweroff of the container, never signals into it);
//      then every process left in each host's network namespace (`ip netns pids`: sshd, SSH sessions, the fw-svc
//      supervisors and services, containerd) — all of them exist only because the lab made that namespace;
//   3. container processes still in the host's cgroup parent, then the cgroup folders;
//   4. registry, artifact server, PostgreSQL (each checked against its recorded command line first);
//   5. namespaces, veths, bridge; the empty mountpoints up created; the lab folder.
// Works on a partial state (an `up` that failed midway) and reports anything it could not remove.
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BRIDGE, HOSTS, labPaths } from './config';
import { dockerPing } from './hosts';
import { deleteBridge, deleteHostNetwork, linkExists, netnsExists, netnsPids } from './network';
import { isAlive, isOurs, stopPid, tryRun } from './proc';
import { readState, type Daemon, type LabState } from './state';
import { removeMountpoint, type Log } from './up';

export interface DownReport {
  stopped: string[];
  /** What still exists afterwards (empty = clean). */
  leftovers: string[];
}

async function stopDaemon(name: string, d: Daemon | undefined, report: DownReport, signal?: NodeJS.Signals) {
  if (!d || !isOurs(d.pid, d.marker)) return;
  await stopPid(d.pid, 20_000, signal);
  report.stopped.push(`${name} (pid ${d.pid})`);
}

async function removeContainers(socket: string): Promise<void> {
  if (!(await dockerPing(socket))) return;
  const host = `unix://${socket}`;
  const ids = tryRun('docker', ['-H', host, 'ps', '--all', '--quiet']).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) tryRun('docker', ['-H', host, 'rm', '--force', ...ids], { timeoutMs: 60_000 });
}

/** SIGTERM everything in the namespace, then SIGKILL what is left after a grace period; repeat until empty. */
async function emptyNamespace(netns: string, report: DownReport): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const pids = netnsPids(netns);
    if (pids.length === 0) return;
    await Promise.all(pids.map((pid) => stopPid(pid, round === 0 ? 5_000 : 1_000)));
    report.stopped.push(`${pids.length} process(es) in ${netns}`);
  }
}

/** cgroup v1 controller folders (plus the v2 mount) holding the host's container cgroups. */
function cgroupDirs(parent: string): string[] {
  const base = '/sys/fs/cgroup';
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .map((c) => join(base, c, parent))
    .filter((d) => existsSync(d));
}

function walk(dir: string): string[] {
  const subs = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  return [...subs.flatMap((e) => walk(join(dir, e.name))), dir];
}

async function removeCgroups(parent: string, report: DownReport): Promise<void> {
  for (const top of cgroupDirs(parent)) {
    for (const dir of walk(top)) {
      const procs = join(dir, 'cgroup.procs');
      const pids = existsSync(procs) ? readFileSync(procs, 'utf8').split('\n').filter(Boolean).map(Number) : [];
      for (const pid of pids) {
        await stopPid(pid, 1_000, 'SIGKILL');
        report.stopped.push(`container process ${pid}`);
      }
      try {
        rmdirSync(dir); // cgroup folders are removed with rmdir even though they list control files
      } catch {
        // busy for a moment after its last process died; retried below
        await sleep(100);
        try {
          rmdirSync(dir);
        } catch {
          // reported as a leftover
        }
      }
    }
  }
}

export async function downFromState(root: string, log: Log): Promise<DownReport> {
  const paths = labPaths(root);
  const state: LabState | undefined = readState(paths.state);
  const report: DownReport = { stopped: [], leftovers: [] };
  const hosts = HOSTS.map((h) => ({ spec: h, st: state?.hosts[h.name] }));

  log('down: containers and dockerd');
  await Promise.all(
    hosts.map(async ({ spec, st }) => {
      if (st?.dockerSocket) await removeContainers(st.dockerSocket);
      await stopDaemon(`dockerd ${spec.name}`, st?.dockerd, report);
    }),
  );
  log('down: systemd hosts, then the processes of each host namespace');
  await Promise.all(hosts.map(({ spec, st }) => stopDaemon(`systemd host ${spec.name}`, st?.nspawn, report)));
  await Promise.all(hosts.map(({ spec }) => emptyNamespace(spec.netns, report)));
  for (const { spec, st } of hosts) await removeCgroups(st?.cgroupParent ?? `/${spec.netns}`, report);

  log('down: registry, artifact server, PostgreSQL');
  await stopDaemon('registry', state?.registry, report);
  await stopDaemon('artifact server', state?.artifactServer, report);
  // SIGINT is PostgreSQL's "fast" shutdown: it ends sessions and exits cleanly.
  await stopDaemon('postgres', state?.postgres, report, 'SIGINT');

  log('down: namespaces, bridge, folders');
  for (const { spec } of hosts) deleteHostNetwork(spec);
  deleteBridge();
  for (const m of state?.createdMountpoints ?? []) removeMountpoint(m);
  rmSync(root, { recursive: true, force: true });
  if (state?.postgres && !state.postgres.dataDir.startsWith(root)) {
    rmSync(state.postgres.dataDir, { recursive: true, force: true });
  }
  report.leftovers = leftovers(state, root);
  return report;
}

/** Anything of the lab still present: namespaces, links, recorded live pids, folders. */
export function leftovers(state: LabState | undefined, root: string): string[] {
  const out: string[] = [];
  for (const h of HOSTS) {
    if (netnsExists(h.netns)) out.push(`network namespace ${h.netns}`);
    if (linkExists(h.veth)) out.push(`link ${h.veth}`);
    for (const d of cgroupDirs(`/${h.netns}`)) out.push(`cgroup ${d}`);
  }
  if (linkExists(BRIDGE.name)) out.push(`bridge ${BRIDGE.name}`);
  const daemons: [string, Daemon | undefined][] = [
    ['registry', state?.registry],
    ['artifact server', state?.artifactServer],
    ['postgres', state?.postgres],
    ...HOSTS.flatMap((h): [string, Daemon | undefined][] => [
      [`sshd ${h.name}`, state?.hosts[h.name]?.sshd],
      [`systemd host ${h.name}`, state?.hosts[h.name]?.nspawn],
      [`dockerd ${h.name}`, state?.hosts[h.name]?.dockerd],
    ]),
  ];
  for (const [name, d] of daemons) if (d && isAlive(d.pid) && isOurs(d.pid, d.marker)) out.push(`${name} pid ${d.pid}`);
  if (existsSync(root)) out.push(`folder ${root}`);
  for (const m of state?.createdMountpoints ?? []) {
    if (existsSync(m) && statSync(m).isDirectory()) out.push(`mountpoint ${m}`);
  }
  return out;
}
