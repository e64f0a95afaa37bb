// The release-repository fetcher (reference §2.2): resolves a selector (channel + `latest` or a tag) to a
// validated release manifest, trying each configured repository in order, with an on-disk cache for HTTP
// repositories.
//
// Every manifest that leaves this module — fetched or cached — has passed the same three checks: strict
// parse, identity binding (the manifest is the release it was asked for, byte-exact) and per-service artifact
// validation. A cache is never a way around them.
import type { ReleaseManifest } from '../../contracts/release';
import { validateReleaseManifest } from '../../domain/release';
import { parseChannelPointer } from '../../contracts/release';
import { normalizeVersionInput, versionProblem } from '../../contracts/version';
import { errorMessage, InputError } from '../../errors';
import { cachePaths, LATEST_POLICY, PINNED_POLICY, readCacheEntry, writeCacheEntry, type CacheEntry } from './cache';
import { ReleaseFetchError, type RepositoryFailure } from './errors';
import type { HttpGetOptions } from './http';
import { checkRelativePath, locate, parseRepository, readRepositoryFile, type Repository } from './repository';

export interface ReleaseSelector {
  channel: 'stable' | 'rc';
  /** `latest` (the channel's head) or a tag; `1.2.3` is read as `v1.2.3`. */
  version: string;
}

export interface FetchedRelease {
  manifest: ReleaseManifest;
  /** The repository as configured. */
  repository: string;
  /** Repository-relative path of the manifest, e.g. `releases/v0.2.0.yaml`. */
  manifestPath: string;
  fromCache: boolean;
  /** Served from a cache past its freshness because every repository failed. */
  stale: boolean;
  warnings: string[];
}

export interface ReleaseFetcherOptions {
  /** Root of the worker's cache (the manifests live under `<cacheDir>/manifests/`). */
  cacheDir: string;
  /** Clock in epoch ms; injectable so tests can age the cache. */
  now?: () => number;
  /** Per HTTP attempt, covering headers and body. Default 30 s. */
  httpTimeoutMs?: number;
  /** Pause after failed attempt `attempt` (1-based). Default 250 ms × attempt. */
  retryDelayMs?: (attempt: number) => number;
  warn?: (msg: string) => void;
}

export interface ReleaseFetcher {
  fetch(repos: string[], selector: ReleaseSelector): Promise<FetchedRelease>;
}

const HTTP_ATTEMPTS = 3;

interface Target {
  channel: 'stable' | 'rc';
  version: string;
  latest: boolean;
}

interface Loaded {
  manifest: ReleaseManifest;
  manifestPath: string;
  text: string;
}

type Served = Pick<FetchedRelease, 'manifest' | 'manifestPath' | 'fromCache'>;

interface StaleCandidate {
  repo: Repository;
  entry: CacheEntry;
  manifest: ReleaseManifest;
}

export function createReleaseFetcher(opts: ReleaseFetcherOptions): ReleaseFetcher {
  const now = opts.now ?? Date.now;
  const http: HttpGetOptions = {
    timeoutMs: opts.httpTimeoutMs ?? 30_000,
    attempts: HTTP_ATTEMPTS,
    retryDelayMs: opts.retryDelayMs ?? ((attempt) => 250 * attempt),
  };

  async function fetch(repos: string[], selector: ReleaseSelector): Promise<FetchedRelease> {
    const target = normalizeSelector(selector);
    if (repos.length === 0) {
      throw new InputError(
        'release_repositories',
        'no release repository configured; list at least one in cluster.yaml',
      );
    }
    // Configuration mistakes are reported before any I/O, and never masked by a later repository working.
    const parsed = repos.map(parseRepository);
    const what = describeTarget(target);
    const warnings: string[] = [];
    const warn = (msg: string): void => {
      warnings.push(msg);
      opts.warn?.(msg);
    };
    const failures: RepositoryFailure[] = [];
    const stale: StaleCandidate[] = [];

    // First pass: a fresh copy from any repository. Only when none has one do we fall back to a stale cache
    // (second pass) — unlike the reference, which serves repository 1's stale copy before even trying
    // repository 2: a current manifest from a mirror beats an old one from the primary.
    for (const repo of parsed) {
      const at = { path: target.latest ? pointerPath(target) : pinnedPath(target) };
      try {
        // Local directories are read directly every time: there is no round trip worth caching.
        const got =
          repo.type === 'local' ? await loadLocal(repo, target, at) : await fetchHttp(repo, target, at, warn, stale);
        return { ...got, repository: repo.repository, stale: false, warnings };
      } catch (err) {
        failures.push({ repository: repo.repository, path: at.path, error: asError(err) });
      }
    }

    const fallback = stale[0];
    if (fallback) {
      const age = now() - fallback.entry.fetchedAt;
      warn(
        `serving ${what} from the cache of ${fallback.repo.repository} fetched ${formatAge(age)} ago ` +
          `(older than the ${formatAge(policyOf(target).ttlMs)} freshness limit) because every repository failed: ` +
          failures.map((f) => f.error.message).join('; '),
      );
      return {
        manifest: fallback.manifest,
        repository: fallback.repo.repository,
        manifestPath: fallback.entry.manifestPath,
        fromCache: true,
        stale: true,
        warnings,
      };
    }
    throw new ReleaseFetchError(what, failures);
  }

  /** One HTTP repository: fresh cache, else network (refreshing the cache); records a usable stale entry. */
  async function fetchHttp(
    repo: Repository,
    target: Target,
    at: { path: string },
    warn: (msg: string) => void,
    stale: StaleCandidate[],
  ): Promise<Served> {
    const paths = cachePaths(opts.cacheDir, repo.repository, target.channel, target.version);
    const policy = policyOf(target);
    let cached: { entry: CacheEntry; manifest: ReleaseManifest } | undefined;
    try {
      const entry = await readCacheEntry(paths);
      if (entry) cached = { entry, manifest: revalidate(entry, target, paths.manifest) };
    } catch (err) {
      warn(`ignoring cache entry ${paths.manifest}: ${errorMessage(err)}`);
    }

    if (cached) {
      // A negative age means the clock went backwards or the entry came from elsewhere: trust it for nothing.
      const age = now() - cached.entry.fetchedAt;
      if (age >= 0 && age < policy.ttlMs) {
        return { manifest: cached.manifest, manifestPath: cached.entry.manifestPath, fromCache: true };
      }
      if (age >= 0 && age < policy.maxStaleMs) stale.push({ repo, ...cached });
    }

    const loaded = await loadFromRepository(repo, target, at);
    try {
      await writeCacheEntry(paths, {
        text: loaded.text,
        fetchedAt: now(),
        platformVersion: loaded.manifest.platform_version,
        manifestPath: loaded.manifestPath,
      });
    } catch (err) {
      // The cache only saves round trips; failing to write it must not fail a good fetch.
      warn(`could not write the manifest cache at ${paths.manifest}: ${errorMessage(err)}`);
    }
    return { manifest: loaded.manifest, manifestPath: loaded.manifestPath, fromCache: false };
  }

  async function loadLocal(repo: Repository, target: Target, at: { path: string }): Promise<Served> {
    const { manifest, manifestPath } = await loadFromRepository(repo, target, at);
    return { manifest, manifestPath, fromCache: false };
  }

  /** Reads pointer and/or manifest from the repository itself. `at.path` tracks the file being read for errors. */
  async function loadFromRepository(repo: Repository, target: Target, at: { path: string }): Promise<Loaded> {
    let manifestPath: string;
    let expected: string;
    if (target.latest) {
      at.path = pointerPath(target);
      const pointerText = await readRepositoryFile(repo, at.path, http);
      const pointerSource = locate(repo, at.path);
      const pointer = parseChannelPointer(pointerText, pointerSource);
      manifestPath = checkRelativePath(pointer.manifest, pointerSource);
      expected = pointer.platform_version;
    } else {
      manifestPath = pinnedPath(target);
      expected = target.version;
    }
    at.path = manifestPath;
    const text = await readRepositoryFile(repo, manifestPath, http);
    return { manifest: validateManifest(text, locate(repo, manifestPath), expected), manifestPath, text };
  }

  return { fetch };
}

/** The three checks every served manifest passes; throws InputError naming `source` on the first failing one. */
const validateManifest = validateReleaseManifest;

/**
 * A cached entry is re-checked as if freshly fetched: pinned entries against the requested tag, `latest`
 * entries against the identity recorded when they were written (the pointer is not re-read for a cache hit).
 */
function revalidate(entry: CacheEntry, target: Target, source: string): ReleaseManifest {
  if (!target.latest && entry.platformVersion !== target.version) {
    throw new Error(`recorded for ${entry.platformVersion}, not ${target.version}`);
  }
  checkRelativePath(entry.manifestPath, source);
  return validateManifest(entry.text, source, entry.platformVersion);
}

/** `''`/`latest` → the channel head; `1.2.3` → `v1.2.3`; anything else must be a canonical tag. */
function normalizeSelector(selector: ReleaseSelector): Target {
  if (selector.channel !== 'stable' && selector.channel !== 'rc') {
    throw new InputError('release selector', `unknown channel "${String(selector.channel)}"; use stable or rc`);
  }
  const raw = selector.version.trim();
  if (raw === '' || raw.toLowerCase() === 'latest')
    return { channel: selector.channel, version: 'latest', latest: true };
  const version = normalizeVersionInput(raw);
  // The tag becomes part of a URL and a cache file name, so only the version grammar may pass.
  const problem = versionProblem(version);
  if (problem) throw new InputError('release selector', problem);
  return { channel: selector.channel, version, latest: false };
}

function pointerPath(target: Target): string {
  return `channels/${target.channel}.yaml`;
}

function pinnedPath(target: Target): string {
  return `releases/${target.version}.yaml`;
}

function policyOf(target: Target) {
  return target.latest ? LATEST_POLICY : PINNED_POLICY;
}

function describeTarget(target: Target): string {
  return target.latest ? `the latest ${target.channel} release` : `release ${target.version}`;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return `${Math.floor(ms / 1000)}s`;
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} days`;
}
