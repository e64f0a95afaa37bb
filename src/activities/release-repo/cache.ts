// On-disk cache of fetched manifests (reference §2.2):
//   <cacheDir>/manifests/<first 8 bytes of sha256(repository), hex>/<channel>/<version>.yaml
//   <cacheDir>/manifests/…/<version>.meta.json  {fetched_at, platform_version, manifest}
// Scoping by repository keeps two repositories that publish the same tag from serving each other's bytes.
// The meta file also records which platform_version a `latest` entry was bound to, so a cached `latest`
// can be re-validated without the pointer. Writes go to a temporary file and are renamed into place, so a
// reader (another worker, a crash mid-write) sees the old entry or the new one, never half of one.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface CachePolicy {
  /** Younger than this: served without touching the network. */
  ttlMs: number;
  /** Younger than this: served (with a warning) when every fetch failed. */
  maxStaleMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** A channel head moves, so it is trusted only briefly. */
export const LATEST_POLICY: CachePolicy = { ttlMs: 15 * MINUTE, maxStaleMs: HOUR };
/** A published tag should never change; the TTL only bounds how long a repository fix takes to be seen. */
export const PINNED_POLICY: CachePolicy = { ttlMs: 24 * HOUR, maxStaleMs: 7 * 24 * HOUR };

export interface CachePaths {
  manifest: string;
  meta: string;
}

export interface CacheEntry {
  text: string;
  fetchedAt: number;
  /** The identity the entry was validated against when written. */
  platformVersion: string;
  /** The repository-relative path the manifest was read from. */
  manifestPath: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function repositoryKey(repository: string): string {
  return createHash('sha256').update(repository).digest('hex').slice(0, 16);
}

/** `version` is `latest` or a canonical tag (checked by the caller), so it is safe as a file name. */
export function cachePaths(cacheDir: string, repository: string, channel: string, version: string): CachePaths {
  const dir = join(cacheDir, 'manifests', repositoryKey(repository), channel);
  return { manifest: join(dir, `${version}.yaml`), meta: join(dir, `${version}.meta.json`) };
}

/** undefined when there is no entry; throws when an entry exists but cannot be used (the caller warns). */
export async function readCacheEntry(paths: CachePaths): Promise<CacheEntry | undefined> {
  let metaText: string;
  let text: string;
  try {
    [metaText, text] = await Promise.all([readFile(paths.meta, 'utf8'), readFile(paths.manifest, 'utf8')]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const meta = JSON.parse(metaText) as Record<string, unknown>;
  // Every key of a release manifest is optional on input, so a truncated or edited entry can still parse; the
  // checksum recorded at fetch time is what proves the bytes are the ones that were validated.
  if (typeof meta.sha256 === 'string' && meta.sha256 !== sha256(text)) {
    throw new Error(`${paths.manifest}: content does not match the checksum recorded when it was fetched`);
  }
  if (typeof meta.sha256 !== 'string')
    throw new Error(`${paths.meta}: no content checksum (written by an older worker)`);
  const fetchedAt = typeof meta.fetched_at === 'string' ? Date.parse(meta.fetched_at) : NaN;
  if (Number.isNaN(fetchedAt) || typeof meta.platform_version !== 'string' || typeof meta.manifest !== 'string') {
    throw new Error(`${paths.meta}: missing or malformed fetched_at / platform_version / manifest`);
  }
  return { text, fetchedAt, platformVersion: meta.platform_version, manifestPath: meta.manifest };
}

export async function writeCacheEntry(paths: CachePaths, entry: CacheEntry): Promise<void> {
  await mkdir(dirname(paths.manifest), { recursive: true });
  const meta = {
    fetched_at: new Date(entry.fetchedAt).toISOString(),
    platform_version: entry.platformVersion,
    manifest: entry.manifestPath,
    sha256: sha256(entry.text),
  };
  // Manifest first, meta second: a reader that catches the new manifest with the old meta sees a
  // platform_version mismatch and refetches instead of trusting a mixed pair.
  await atomicWrite(paths.manifest, entry.text);
  await atomicWrite(paths.meta, `${JSON.stringify(meta, null, 2)}\n`);
}

async function atomicWrite(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, { mode: 0o644 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
