// The release-repository fetcher: channel pointers and release manifests from local directories or HTTP(S),
// with retries, repository fallback and an on-disk cache (reference §2.2).
export {
  createReleaseFetcher,
  type FetchedRelease,
  type ReleaseFetcher,
  type ReleaseFetcherOptions,
  type ReleaseSelector,
} from './fetcher';
export { HttpStatusError, ReleaseFetchError, type RepositoryFailure } from './errors';
export { cachePaths, LATEST_POLICY, PINNED_POLICY, repositoryKey, type CachePolicy } from './cache';
export { parseRepository, type Repository } from './repository';
