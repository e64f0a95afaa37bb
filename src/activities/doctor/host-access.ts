// Doctor's host check (reference §7.1, SPEC §8): can the worker open an SSH session to each host with the pinned
// host key and run a no-op, and, per service replica, the command an operator runs to look at it (the fix a
// failing probe prints). Read-only: `true` is the only remote command.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { HostAccess } from '../../contracts/doctor';
import { statusCommand, systemdUnit } from '../../domain/hosts/commands';
import { errorMessage } from '../../errors';
import type { LoadedCluster } from '../cluster-config';
import { exec } from '../ssh/client';
import { shellCommand, shellQuote } from '../../domain/hosts/shell-quote';
import { withHostSsh } from '../hosts/ssh-session';

/**
 * The ssh command an operator types, by host NAME: addresses and users come from the hosts file, which is secret
 * (SPEC §3.1), and this text enters workflow history. `frameworks-<host>` is the alias the reference honours.
 */
function sshLine(cluster: LoadedCluster, host: string): string {
  const h = cluster.manifest.hosts[host]!;
  const config =
    h.aliasConfig && h.aliasConfig !== join(homedir(), '.ssh', 'config') ? `-F ${shellQuote(h.aliasConfig)} ` : '';
  return `ssh ${config}${shellQuote(h.alias ?? host)}`;
}

/** What an operator runs on the host to see a service's state (docker logs / systemctl status / the status template). */
export function inspectCommand(cluster: LoadedCluster, service: string, host: string): string {
  const svc = cluster.manifest.services[service]!;
  let argv: string[];
  if (svc.mode === 'docker') argv = ['docker', 'logs', '--tail', '50', systemdUnit(service)];
  else if (cluster.manifest.service_manager.type === 'systemd') argv = ['systemctl', 'status', systemdUnit(service)];
  else argv = statusCommand(cluster.manifest.service_manager, service);
  return `${sshLine(cluster, host)} ${shellQuote(shellCommand(argv))}`;
}

export async function hostAccessFor(cluster: LoadedCluster): Promise<HostAccess> {
  const hosts = await Promise.all(
    Object.entries(cluster.manifest.hosts).map(async ([host, h]) => {
      const base = { host, port: h.port, ssh: sshLine(cluster, host) };
      try {
        const r = await withHostSsh(cluster, host, (conn) => exec(conn, ['true'], { timeoutMs: 15_000 }));
        return r.code === 0
          ? { ...base, reachable: true }
          : { ...base, reachable: false, error: `\`true\` exited ${r.code} on the host` };
      } catch (err) {
        return { ...base, reachable: false, error: errorMessage(err) };
      }
    }),
  );
  const inspect: Record<string, string> = {};
  for (const [service, s] of Object.entries(cluster.manifest.services)) {
    for (const host of s.hosts) inspect[`${service}@${host}`] = inspectCommand(cluster, service, host);
  }
  return { hosts: hosts.sort((a, b) => a.host.localeCompare(b.host)), inspect };
}
