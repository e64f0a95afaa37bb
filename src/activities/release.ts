// Fetches the release for a selector and returns the slice planning needs: the services of this cluster only.
import type { ReleaseManifest } from '../contracts/release';
import type { ReleaseServiceSlice, ReleaseSlice } from '../contracts/plan';
import { getServiceInfo } from '../domain/release';
import type { ReleaseFetcher } from './release-repo';

export function sliceRelease(
  manifest: ReleaseManifest,
  services: string[],
  source: ReleaseSlice['source'],
): ReleaseSlice {
  const sliced: Record<string, ReleaseServiceSlice> = {};
  for (const name of services) {
    const info = getServiceInfo(manifest, name);
    if (!info) continue;
    sliced[name] = {
      name,
      version: info.version,
      ...(info.image ? { image: info.image } : {}),
      ...(info.digest ? { digest: info.digest } : {}),
      // Absent fields stay absent: the plan's artifact gate refuses this service if it cannot be pinned.
      artifacts: info.binaries.map((b) => ({
        arch: b.arch ?? '',
        ...(b.url ? { url: b.url } : {}),
        ...(b.checksum ? { checksum: b.checksum } : {}),
        ...(b.size_bytes !== undefined ? { sizeBytes: b.size_bytes } : {}),
      })),
      ...(info.carriedFrom ? { carriedFrom: info.carriedFrom } : {}),
    };
  }
  return {
    platformVersion: manifest.platform_version,
    gitCommit: manifest.git_commit,
    releaseDate: String(manifest.release_date),
    ...(manifest.min_cli_version ? { minCliVersion: manifest.min_cli_version } : {}),
    requiredTransitions: manifest.required_transitions ?? [],
    rollbackDisabled: manifest.rollback_disabled ?? [],
    services: sliced,
    source,
  };
}

export async function fetchReleaseSliceWith(
  fetcher: ReleaseFetcher,
  repos: string[],
  selector: { channel: 'stable' | 'rc'; version: string },
  services: string[],
): Promise<ReleaseSlice> {
  const fetched = await fetcher.fetch(repos, selector);
  return sliceRelease(fetched.manifest, services, {
    repository: fetched.repository,
    path: fetched.manifestPath,
    fromCache: fetched.fromCache,
    stale: fetched.stale,
    warnings: fetched.warnings,
  });
}
