// Which release tarball a provisioner-installed native binary came from, proven by its bytes (issue 14).
//
// Release manifests pin native services by the SHA-256 of their TARBALL (SPEC §6). The FrameWorks provisioner
// unpacks that tarball and installs only its executable as /opt/frameworks/<svc>/<svc> (reference §6.2), so on a host
// it laid out there is no tarball to hash: detection's own identity for such a service is the SHA-256 of the
// installed binary. To compare it with a manifest (skip-by-content, the proven-release gate, status), the worker
// equates the binary with a tarball only when the bytes prove it:
//   1. the binary names its own release (`<svc> version --json`); that release's manifest (from the cluster's
//      release repositories) pins a tarball for the host's architecture — the label only CHOOSES the candidate;
//   2. the worker downloads that tarball into its cache, verified by the pinned SHA-256 (fetchArtifact);
//   3. the tarball's `<svc>` member is hashed; only if it equals the installed binary's SHA-256 is the replica's
//      identity that tarball's checksum. Anything else (no manifest, no artifact, different bytes, an unreachable
//      repository) leaves the binary's own SHA-256 as identity: never a guess.
// The executable is the part of the tarball the provisioner installs; other members (e.g. purser's
// data-migrations.js) are not compared, exactly as the provisioner itself never re-reads them.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { getServiceInfo } from '../../domain/release';
import type { ReleaseFetcher } from '../release-repo';
import { fetchArtifact } from './tarball';

export interface BinaryOrigin {
  /** `sha256:<tarball hex>`: the release artifact whose executable the host runs. */
  identity: string;
  /** The verified tarball in the worker's cache (for adoption into releases/<hex>/). */
  localPath: string;
  url: string;
}

export interface BinaryQuery {
  svc: string;
  /** What the binary says it is (`version --json`). */
  version: string;
  arch: string;
  /** `sha256:<hex>` of the installed binary. */
  binaryIdentity: string;
}

/** Finds the tarball a provisioner-installed binary came from; null when not proven. Never throws. */
export type BinaryOriginResolver = (q: BinaryQuery) => Promise<BinaryOrigin | null>;

/** SHA-256 (hex) of the regular-file member `name` (at the archive root) of a .tar.gz; null when absent. */
export function memberSha256(tarGz: string, name: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let found: string | null = null;
    const parser = new Parser({
      strict: true,
      onReadEntry: (e: ReadEntry) => {
        const path = e.path.replace(/^(\.\/)+/, '');
        if (path !== name || (e.type !== 'File' && e.type !== 'OldFile')) {
          e.resume();
          return;
        }
        const h = createHash('sha256');
        e.on('data', (c: Buffer) => h.update(c));
        e.on('end', () => (found = h.digest('hex')));
      },
    });
    parser.on('error', reject);
    parser.on('end', () => resolve(found));
    const file = createReadStream(tarGz);
    const gunzip = createGunzip();
    file.on('error', reject);
    gunzip.on('error', reject);
    file.pipe(gunzip).pipe(parser);
  });
}

/** A resolver over the worker's release fetcher and artifact cache; member hashes are memoized per tarball. */
export function createBinaryOriginResolver(deps: {
  fetcher: ReleaseFetcher;
  cacheDir: string;
  repositories: string[];
}): BinaryOriginResolver {
  const members = new Map<string, string | null>();
  return async (q) => {
    try {
      const fetched = await deps.fetcher.fetch(deps.repositories, { channel: 'stable', version: q.version });
      const artifact = getServiceInfo(fetched.manifest, q.svc)?.binaries.find((b) => b.arch === q.arch);
      if (!artifact?.url || !artifact.checksum) return null;
      const local = await fetchArtifact(artifact.url, deps.cacheDir, {
        checksum: artifact.checksum,
        ...(artifact.size_bytes !== undefined ? { sizeBytes: artifact.size_bytes } : {}),
      });
      const key = `${local.identity}/${q.svc}`;
      if (!members.has(key)) members.set(key, await memberSha256(local.path, q.svc));
      const hex = members.get(key);
      if (!hex || `sha256:${hex}` !== q.binaryIdentity) return null;
      return { identity: local.identity, localPath: local.path, url: artifact.url };
    } catch {
      // Unproven is not an error: the binary's own SHA-256 stays its identity.
      return null;
    }
  };
}
