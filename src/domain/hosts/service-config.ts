// The configuration a service runs with: what cluster.yaml says (non-secret `env`) plus the few variables every
// FrameWorks service gets. Rendered once, hashed, and compared with what a host reports, so "config changed" is
// a content comparison — the same function is used by the lab when it installs a release.
import type { ServiceDefinition } from '../../contracts/catalog';
import type { ClusterService } from '../../contracts/cluster';
import { configHash, renderEnvFile } from './commands';

/**
 * The service's config is exactly cluster.yaml's `env` for it. Ports and names come from the service definition
 * and the binary itself; keeping them out means a catalog edit never looks like a config change on every host.
 */
export function serviceEnv(
  _service: string,
  cluster: ClusterService,
  _def: ServiceDefinition | undefined,
): Record<string, string> {
  return { ...(cluster.env ?? {}) };
}

/** Rendered env file and its hash (lowercase hex SHA-256 of the file's bytes). */
export function renderEnvConfig(env: Record<string, string>): { text: string; hash: string } {
  const text = renderEnvFile(env);
  return { text, hash: configHash(text) };
}

export function renderServiceConfig(
  service: string,
  cluster: ClusterService,
  def: ServiceDefinition | undefined,
): { env: Record<string, string>; text: string; hash: string } {
  const env = serviceEnv(service, cluster, def);
  return { env, ...renderEnvConfig(env) };
}
