// The docker driver bound to a cluster's hosts: dockerode over the host's pinned SSH connection
// (`docker system dial-stdio`), one client per step. Shapes results the way the upgrade workflow reads them.
import type Docker from 'dockerode';
import type { HostDetection } from '../../contracts/upgrade';
import type { LoadedCluster } from '../cluster-config';
import { activateDocker, detectDocker, dockerOverSsh, finalizeDocker, rollbackDocker, stageDocker } from './docker';
import { hostConnectOptions } from './ssh-session';

async function withDocker<T>(cluster: LoadedCluster, host: string, fn: (d: Docker) => Promise<T>): Promise<T> {
  const docker = dockerOverSsh(hostConnectOptions(cluster, host));
  return fn(docker);
}

export async function detectForUpgrade(
  cluster: LoadedCluster,
  host: string,
  service: string,
): Promise<Omit<HostDetection, 'host' | 'arch'>> {
  const d = await withDocker(cluster, host, (docker) => detectDocker(docker, service));
  return {
    present: d.present,
    identity: d.imageDigest,
    version: d.version,
    configHash: d.configHash,
    running: d.running,
  };
}

export async function stageForUpgrade(
  cluster: LoadedCluster,
  host: string,
  imageRef: string,
): Promise<{ action: string }> {
  return withDocker(cluster, host, (docker) => stageDocker(docker, imageRef));
}

export async function activateForUpgrade(
  cluster: LoadedCluster,
  host: string,
  service: string,
  input: { imageRef: string; version: string; env: Record<string, string>; port: number; configHash: string },
): Promise<{ action: string }> {
  // The container also gets FRAMEWORKS_CONFIG_HASH (the lab layout contract, as `up` installs it): services
  // report it in /health so an operator can see which config a replica runs. It is not part of the config
  // itself: the label and the hash stay those of cluster.yaml's `env` alone.
  const env = { ...input.env, FRAMEWORKS_CONFIG_HASH: input.configHash };
  return withDocker(cluster, host, (docker) => activateDocker(docker, service, { ...input, env }));
}

export async function finalizeForUpgrade(cluster: LoadedCluster, host: string, service: string): Promise<void> {
  await withDocker(cluster, host, (docker) => finalizeDocker(docker, service));
}

export async function rollbackForUpgrade(
  cluster: LoadedCluster,
  host: string,
  service: string,
): Promise<{ action: string }> {
  return withDocker(cluster, host, (docker) => rollbackDocker(docker, service));
}
