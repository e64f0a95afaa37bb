// Which releases pin a replica's content identity (issue 11 item 1): the release repository is scanned for the
// manifests that pin exactly a detected image digest / tarball checksum for that service. The answer is a small
// slice (the asked pairs → release tags), never whole manifests, so it stays cheap in workflow history.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pinKey, type PinQuery, type ReleasePins } from '../contracts/upgrade';
import { manifestPinsIdentity } from '../domain/gates/replica-lines';
import { compareVersions, isCanonicalVersion, isPrerelease } from '../contracts/version';
import { errorMessage } from '../errors';
import { HttpStatusError, ReleaseFetchError, parseRepository, type ReleaseFetcher } from './release-repo';

function notPublished(err: unknown): boolean {
  return (
    err instanceof ReleaseFetchError &&
    err.failures.every((f) => f.error instanceof HttpStatusError && f.error.status === 404)
  );
}

/**
 * Release tags a repository holds. A local repository is listed (`releases/*.yaml`); an HTTP repository cannot be
 * listed, so its candidates are the catalog's releases plus the channel heads (read by the caller).
 */
async function listedTags(repos: readonly string[]): Promise<string[]> {
  const tags: string[] = [];
  for (const r of repos) {
    const repo = parseRepository(r);
    if (repo.type !== 'local') continue;
    try {
      for (const f of await readdir(join(repo.dir, 'releases'))) {
        const tag = f.replace(/\.ya?ml$/, '');
        if (tag !== f && isCanonicalVersion(tag)) tags.push(tag);
      }
    } catch {
      // A repository without releases/ has nothing to pin; the fetches below report real read failures.
    }
  }
  return tags;
}

export async function findReleasesPinning(
  fetcher: ReleaseFetcher,
  repos: readonly string[],
  catalogVersions: readonly string[],
  queries: readonly PinQuery[],
): Promise<ReleasePins> {
  const result: ReleasePins = { scanned: [], pins: {}, warnings: [] };
  if (queries.length === 0) return result;
  const record = (tag: string, manifest: Parameters<typeof manifestPinsIdentity>[0]): void => {
    if (result.scanned.includes(tag)) return;
    result.scanned.push(tag);
    for (const q of queries) {
      if (!manifestPinsIdentity(manifest, q.service, q.identity)) continue;
      (result.pins[pinKey(q.service, q.identity)] ??= []).push(tag);
    }
  };
  const http = repos.some((r) => parseRepository(r).type === 'http');
  if (http) {
    for (const channel of ['stable', 'rc'] as const) {
      try {
        const head = await fetcher.fetch([...repos], { channel, version: 'latest' });
        record(head.manifest.platform_version, head.manifest);
      } catch (err) {
        result.warnings.push(`channel ${channel}: ${errorMessage(err)}`);
      }
    }
  }
  const tags = [...new Set([...(await listedTags(repos)), ...(http ? catalogVersions : [])])].sort(compareVersions);
  for (const tag of tags) {
    if (result.scanned.includes(tag)) continue;
    try {
      const got = await fetcher.fetch([...repos], { channel: isPrerelease(tag) ? 'rc' : 'stable', version: tag });
      record(tag, got.manifest);
    } catch (err) {
      // A catalog release not published (yet) in the repository is normal: nothing pins anything there.
      if (notPublished(err)) continue;
      // One unreadable manifest must not hide the others; its identities fall back to the label (and say so).
      result.warnings.push(`${tag}: ${errorMessage(err)}`);
    }
  }
  result.scanned.sort(compareVersions);
  for (const list of Object.values(result.pins)) list.sort(compareVersions);
  return result;
}
