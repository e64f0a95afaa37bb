// Running a command on a lab host the way an operator would: OpenSSH with the lab key and the pinned
// known_hosts (StrictHostKeyChecking=yes, so a changed or unknown host key is refused, never learned).
import type { LabPaths } from './config';
import { run, tryRun, type RunResult } from './proc';

/** What OpenSSH needs of the lab's folder (a test can hand in its own key and known_hosts). */
export type SshKeys = Pick<LabPaths, 'clientKey' | 'knownHosts'>;

export function sshArgs(paths: SshKeys, address: string, knownHosts = paths.knownHosts): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    paths.clientKey,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'LogLevel=ERROR',
    `root@${address}`,
  ];
}

/** Runs a shell command line on the host; never throws for a non-zero exit. */
export function sshTry(paths: SshKeys, address: string, command: string, knownHosts?: string): RunResult {
  return tryRun('ssh', [...sshArgs(paths, address, knownHosts), '--', command], { timeoutMs: 60_000 });
}

/** Runs a shell command line on the host and returns stdout; throws with stderr on a non-zero exit. */
export function ssh(paths: SshKeys, address: string, command: string): string {
  return run('ssh', [...sshArgs(paths, address), '--', command], { timeoutMs: 60_000 });
}
