// Lab native hosts that run real systemd (issue 14) and v0.1.0 installed as the FrameWorks provisioner lays it out.
// Building blocks for `lab up` (the lead wires them in lab/up.ts; see lab/README.md "systemd hosts"):
//   1. createHostNetwork(h)                      (lab/network.ts: the host's netns on the lab bridge)
//   2. startSystemdLabHost({ paths, host, … })  boots the cached rootfs in that netns; record `pid` for `down`
//   3. installProvisionerNative({ … })           per native service: binary, env, unit, marker, enable --now
//   4. stopNspawnHost(h) on `down`               (lab/nspawn.ts; by pid)
// Everything goes over OpenSSH with the lab key and the pinned known_hosts, as an operator (and the provisioner)
// would: nothing is written into the container's tree from outside (its root is a volatile overlay).
import { join } from 'node:path';
import type { HostSpec, LabPaths } from './config';
import { bootNspawnHost, ensureRootfs, type NspawnHost } from './nspawn';
import { installArgv, installMarker, provisionerUnit } from './provisioner';
import { run } from './proc';
import { sshArgs, type SshKeys } from './ssh';
import { shellCommand } from '../src/domain/hosts/shell-quote';

export interface SystemdLabHostOptions {
  paths: LabPaths;
  host: HostSpec;
  /** `ssh-ed25519 AAAA…` of the lab client key. */
  clientPub: string;
  /** Extra read-only binds `machine-path:host-path` (e.g. PostgreSQL's socket folder for purser). */
  bindRo?: string[];
  log?: (line: string) => void;
}

/**
 * Boots the host (the rootfs is built on first use: ~40 s, then cached in .data/nspawn) in the host's existing
 * network namespace; resolves once sshd answers. Append `knownHostsLine` to the lab's known_hosts.
 */
export async function startSystemdLabHost(o: SystemdLabHostOptions): Promise<NspawnHost> {
  const rootfs = await ensureRootfs(o.log ? { log: o.log } : {});
  return bootNspawnHost({
    name: o.host.name,
    rootfs: rootfs.dir,
    netns: o.host.netns,
    address: o.host.address,
    dir: join(o.paths.hostDir(o.host.name), 'nspawn'),
    authorizedKeys: [o.clientPub],
    ...(o.bindRo ? { bindRo: o.bindRo } : {}),
  });
}

export interface ProvisionerInstallOptions {
  keys: SshKeys;
  address: string;
  svc: string;
  /** The service executable's bytes (the `<svc>` member of the release tarball). */
  binary: Buffer | string;
  /** The rendered env file (lab/provisioner.ts provisionerEnvFile). */
  envText: string;
  reloadOnSighup: boolean;
  /** The release artifact, for the provisioner's install marker. */
  artifact: { checksum: string; url: string };
  restartSec?: number;
}

/** Installs one native service in the provisioner's layout and starts it (systemctl enable --now). */
export function installProvisionerNative(o: ProvisionerInstallOptions): void {
  const upload = `/root/.${o.svc}.upload`;
  const ssh = (command: string, input: Buffer | string) =>
    run('ssh', [...sshArgs(o.keys, o.address), '--', command], { input, timeoutMs: 120_000 });
  ssh(shellCommand(['sh', '-c', 'umask 077 && cat > "$1"', 'sh', upload]), o.binary);
  const unit = provisionerUnit({
    svc: o.svc,
    reloadOnSighup: o.reloadOnSighup,
    ...(o.restartSec !== undefined ? { restartSec: o.restartSec } : {}),
  });
  ssh(shellCommand(installArgv(o.svc, upload, unit, installMarker(o.artifact.checksum, o.artifact.url))), o.envText);
}
