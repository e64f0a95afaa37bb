// Which cluster a command talks about: --manifest, else FRAMEWORKS_MANIFEST, else ./cluster.yaml — the operator's
// FrameWorks manifest (clusters/<env>/cluster.yaml). The CLI reads only what is not secret: the manifest itself
// and the orchestrator settings beside it (never the hosts file or env files; the worker reads those).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadClusterSettings, type ClusterSettings } from '../config/cluster';
import { ExitError } from '../errors';

export interface ClusterContext {
  manifestPath: string;
  /** The cluster's name: workflow ids and the task queue fw-<cluster>. */
  cluster: string;
  /** stable, rc, or a concrete tag (the manifest's channel). */
  channel: string;
  settings: ClusterSettings;
}

export function resolveManifestPath(flag: string | undefined): string {
  const chosen = flag ?? process.env.FRAMEWORKS_MANIFEST;
  if (chosen) return resolve(chosen);
  const cwdDefault = resolve('cluster.yaml');
  if (existsSync(cwdDefault)) return cwdDefault;
  throw new ExitError(
    'no cluster manifest: pass --manifest <clusters/<env>/cluster.yaml>, set FRAMEWORKS_MANIFEST, or run from a folder with cluster.yaml',
    2,
  );
}

export async function loadClusterContext(flag: string | undefined): Promise<ClusterContext> {
  const manifestPath = resolveManifestPath(flag);
  const settings = await loadClusterSettings(manifestPath);
  return { manifestPath, cluster: settings.name, channel: settings.channel, settings };
}
