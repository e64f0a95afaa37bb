// Docker host steps for `cluster upgrade`, over dockerode through the host's pinned SSH connection.
// Loaded lazily so the worker starts even where the docker driver is not needed.
import type { LoadedCluster } from '../cluster-config';
import type { HostDetection } from '../../contracts/upgrade';

/** What the upgrade needs from the docker driver (src/activities/hosts/docker.ts). */
interface DockerDriver {
  detectForUpgrade(
    cluster: LoadedCluster,
    host: string,
    service: string,
  ): Promise<Omit<HostDetection, 'host' | 'arch'>>;
  stageForUpgrade(cluster: LoadedCluster, host: string, imageRef: string): Promise<{ action: string }>;
  activateForUpgrade(
    cluster: LoadedCluster,
    host: string,
    service: string,
    input: { imageRef: string; version: string; env: Record<string, string>; port: number; configHash: string },
  ): Promise<{ action: string }>;
  finalizeForUpgrade(cluster: LoadedCluster, host: string, service: string): Promise<void>;
  rollbackForUpgrade(cluster: LoadedCluster, host: string, service: string): Promise<{ action: string }>;
}

function driver(): DockerDriver {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./docker-upgrade') as DockerDriver;
}

export async function detect(
  cluster: LoadedCluster,
  host: string,
  service: string,
): Promise<Omit<HostDetection, 'host' | 'arch'>> {
  return driver().detectForUpgrade(cluster, host, service);
}

export async function stage(cluster: LoadedCluster, host: string, imageRef: string): Promise<{ action: string }> {
  return driver().stageForUpgrade(cluster, host, imageRef);
}

export async function activate(
  cluster: LoadedCluster,
  host: string,
  service: string,
  input: { imageRef: string; version: string; env: Record<string, string>; port: number; configHash: string },
): Promise<{ action: string }> {
  return driver().activateForUpgrade(cluster, host, service, input);
}

export async function finalize(cluster: LoadedCluster, host: string, service: string): Promise<void> {
  return driver().finalizeForUpgrade(cluster, host, service);
}

export async function rollback(cluster: LoadedCluster, host: string, service: string): Promise<{ action: string }> {
  return driver().rollbackForUpgrade(cluster, host, service);
}
