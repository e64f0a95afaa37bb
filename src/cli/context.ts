// Which cluster a command talks about: --manifest, else FRAMEWORKS_MANIFEST, else ./cluster.yaml.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseClusterManifest, type ClusterManifest } from '../contracts/cluster';
import { ExitError, InputError } from '../errors';

export interface ClusterContext {
  manifestPath: string;
  manifest: ClusterManifest;
}

export function resolveManifestPath(flag: string | undefined): string {
  const chosen = flag ?? process.env.FRAMEWORKS_MANIFEST;
  if (chosen) return resolve(chosen);
  const cwdDefault = resolve('cluster.yaml');
  if (existsSync(cwdDefault)) return cwdDefault;
  throw new ExitError(
    'no cluster manifest: pass --manifest <cluster.yaml>, set FRAMEWORKS_MANIFEST, or run from a folder with cluster.yaml',
    2,
  );
}

export function loadClusterContext(flag: string | undefined): ClusterContext {
  const manifestPath = resolveManifestPath(flag);
  let text: string;
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch (err) {
    throw new InputError(
      manifestPath,
      `cannot read cluster manifest: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  return { manifestPath, manifest: parseClusterManifest(text, manifestPath) };
}
