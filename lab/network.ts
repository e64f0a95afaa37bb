// The lab network (infra-recipes §1, "Several hosts on one bridge"): bridge fwlab0 = 10.77.1.1/24 in the root
// namespace, and per host a network namespace with a veth whose peer is the host's eth0. `ip netns exec` is
// fine for these one-shot `ip` commands; daemons are started with nsenter instead (see hosts.ts), because
// `ip netns exec` remounts /sys and hides the cgroup mounts dockerd needs.
import { BRIDGE, type HostSpec } from './config';
import { run, tryRun } from './proc';

function ipOk(args: string[]): boolean {
  return tryRun('ip', args).code === 0;
}

export function linkExists(name: string): boolean {
  return ipOk(['link', 'show', 'dev', name]);
}

export function netnsExists(name: string): boolean {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .some((l) => l.split(' ')[0] === name);
}

export function createBridge(): void {
  if (linkExists(BRIDGE.name)) throw new Error(`${BRIDGE.name} already exists; run \`npx tsx lab/cli.ts down\` first`);
  run('ip', ['link', 'add', BRIDGE.name, 'type', 'bridge']);
  run('ip', ['addr', 'add', `${BRIDGE.address}/${BRIDGE.prefix}`, 'dev', BRIDGE.name]);
  run('ip', ['link', 'set', BRIDGE.name, 'up']);
}

export function createHostNetwork(h: HostSpec): void {
  if (netnsExists(h.netns)) throw new Error(`network namespace ${h.netns} already exists; run lab down first`);
  run('ip', ['netns', 'add', h.netns]);
  run('ip', ['link', 'add', h.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns]);
  run('ip', ['link', 'set', h.veth, 'master', BRIDGE.name, 'up']);
  const inNs = (args: string[]) => run('ip', ['netns', 'exec', h.netns, 'ip', ...args]);
  inNs(['addr', 'add', `${h.address}/${BRIDGE.prefix}`, 'dev', 'eth0']);
  inNs(['link', 'set', 'eth0', 'up']);
  inNs(['link', 'set', 'lo', 'up']);
  inNs(['route', 'add', 'default', 'via', BRIDGE.address]);
}

/** Pids of every process whose network namespace is `netns` (`ip netns pids`). */
export function netnsPids(netns: string): number[] {
  const r = tryRun('ip', ['netns', 'pids', netns]);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Deletes the namespace (its eth0 goes with it, and so does the root-side veth) and any veth left over. */
export function deleteHostNetwork(h: HostSpec): void {
  if (netnsExists(h.netns)) run('ip', ['netns', 'del', h.netns]);
  // The kernel removes the root-side veth with the namespace, asynchronously when the namespace's last user (e.g. a
  // systemd-nspawn that just exited) lets go of it: a veth that vanishes between the check and the delete is fine.
  if (linkExists(h.veth)) {
    const r = tryRun('ip', ['link', 'del', h.veth]);
    if (r.code !== 0 && linkExists(h.veth)) throw new Error(`ip link del ${h.veth} failed: ${r.stderr.trim()}`);
  }
}

export function deleteBridge(): void {
  if (linkExists(BRIDGE.name)) run('ip', ['link', 'del', BRIDGE.name]);
}
