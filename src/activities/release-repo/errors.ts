// Failures of the release-repository fetcher. They stay plain Errors here; the activity layer maps them to
// ApplicationFailure types (src/activities/failures.ts), so this module is usable outside Temporal too.
import { InputError } from '../../errors';

/** One repository's failure, located by repository and the path that failed. */
export interface RepositoryFailure {
  repository: string;
  path: string;
  error: Error;
}

/** An HTTP response that was not 200. `retryable` is true for 429 and 5xx (the only statuses worth retrying). */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(
    readonly url: string,
    readonly status: number,
    readonly attempts: number,
  ) {
    super(
      `GET ${url}: HTTP ${status}${status === 404 ? ' (not found)' : ''}${attempts > 1 ? ` after ${attempts} attempts` : ''}`,
    );
  }

  get retryable(): boolean {
    return isRetryableStatus(this.status);
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * No repository produced a valid release. The message lists every repository with the path that failed and
 * why, so one error tells the operator everything that was tried.
 */
export class ReleaseFetchError extends Error {
  override readonly name = 'ReleaseFetchError';
  constructor(
    readonly what: string,
    readonly failures: RepositoryFailure[],
  ) {
    super(
      [
        `could not fetch ${what} from any release repository (${failures.length} tried):`,
        ...failures.map((f) => `  - ${f.repository} (${f.path}): ${f.error.message}`),
      ].join('\n'),
    );
  }

  /**
   * Whether asking again later could succeed: true when some repository failed for a transient reason
   * (network, timeout, 429/5xx). Invalid or mismatched manifests and 4xx answers will not fix themselves, so an
   * activity can report those as non-retryable instead of burning its retry budget.
   */
  get retryable(): boolean {
    return this.failures.some(
      (f) => !(f.error instanceof InputError) && !(f.error instanceof HttpStatusError && !f.error.retryable),
    );
  }
}
