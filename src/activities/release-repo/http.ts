// GET with a per-attempt timeout and bounded retries (reference §2.2: 3 attempts, linear back-off 250 ms ×
// attempt). Only 429, 5xx and transport errors are retried: a 404 or 403 will not change by asking again,
// and retrying it would only delay the fallback to the next repository.
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpStatusError } from './errors';

export interface HttpGetOptions {
  timeoutMs: number;
  attempts: number;
  /** Delay before attempt `attempt + 1`, given the 1-based number of the attempt that just failed. */
  retryDelayMs: (attempt: number) => number;
}

// A release manifest is a few kilobytes; anything this large is not one, and reading it whole would only
// waste the worker's memory.
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export async function httpGetText(url: string, opts: HttpGetOptions): Promise<string> {
  let lastError: Error = new Error(`GET ${url}: not attempted`);
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    try {
      return await getOnce(url, opts.timeoutMs, attempt);
    } catch (err) {
      lastError = err instanceof Error ? err : new Error(String(err));
      if (err instanceof HttpStatusError && !err.retryable) throw err;
      if (err instanceof BodyTooLargeError) throw err;
    }
    if (attempt < opts.attempts) await sleep(opts.retryDelayMs(attempt));
  }
  throw lastError;
}

class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

async function getOnce(url: string, timeoutMs: number, attempt: number): Promise<string> {
  let res: Response;
  // The timeout covers the body too: the same signal aborts a server that sends headers and then stalls.
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    res = await fetch(url, { signal, headers: { accept: 'application/yaml, text/yaml, text/plain, */*' } });
  } catch (err) {
    throw transportError(url, err, timeoutMs);
  }
  if (res.status !== 200) {
    // Drain the body so the connection can be reused; its content is not needed.
    await res.body?.cancel().catch(() => undefined);
    throw new HttpStatusError(url, res.status, attempt);
  }
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw new BodyTooLargeError(`GET ${url}: response of ${declared} bytes exceeds the ${MAX_BODY_BYTES}-byte limit`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw transportError(url, err, timeoutMs);
  }
  if (text.length > MAX_BODY_BYTES) {
    throw new BodyTooLargeError(`GET ${url}: response exceeds the ${MAX_BODY_BYTES}-byte limit`);
  }
  return text;
}

function transportError(url: string, err: unknown, timeoutMs: number): Error {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return new Error(`GET ${url}: no complete response within ${timeoutMs} ms`, { cause: err });
  }
  // undici reports the useful part (ECONNREFUSED, ENOTFOUND…) in `cause`, behind a generic "fetch failed".
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  const msg = err instanceof Error ? err.message : String(err);
  return new Error(`GET ${url}: ${msg}${cause}`, { cause: err });
}
