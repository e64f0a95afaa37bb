// A CLI session following a run when Temporal goes away (a server restart, a network cut): the run itself is
// safe in Temporal's database, so the CLI says so, keeps trying for a while and carries on when the server is
// back, or stops with the command that reattaches. It never waits silently and never dies with a stack.
import { isGrpcServiceError } from '@temporalio/client';
import { ExitError } from '../errors';

/** How long a following CLI keeps trying to reach Temporal: FRAMEWORKS_RECONNECT_SECONDS, default 120. */
export function reconnectWindowMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.FRAMEWORKS_RECONNECT_SECONDS ?? 120);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 120_000;
}

// gRPC status codes: 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED, 1 CANCELLED (a dropped connection).
const TRANSIENT_CODES = new Set([1, 4, 14]);

/** True when the error means "Temporal cannot be reached right now" rather than "the request was refused". */
export function isTemporalUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && TRANSIENT_CODES.has(e.code)) return true;
    const code = (e as { code?: unknown }).code;
    if (
      typeof code === 'number' &&
      TRANSIENT_CODES.has(code) &&
      e instanceof Error &&
      /grpc|UNAVAILABLE/i.test(e.message)
    )
      return true;
    if (e instanceof Error && /\b(UNAVAILABLE|ECONNREFUSED|Connection dropped|DEADLINE_EXCEEDED)\b/.test(e.message))
      return true;
  }
  return false;
}

export interface ReconnectOptions {
  /** The command that reattaches to this run (printed when the CLI gives up, and while it waits). */
  reattach: string;
  /** Where messages go (stderr by default, so stdout stays the run's progress). */
  say?: (line: string) => void;
  windowMs?: number;
  retryMs?: number;
}

/**
 * Wraps a read of the run's state: while Temporal is unreachable it retries every `retryMs` up to `windowMs`,
 * telling the operator once when contact is lost and once when it is back; after the window it exits (code 3) with
 * the reattach command. Other errors pass through unchanged.
 */
export function reconnecting<T>(read: () => Promise<T>, opts: ReconnectOptions): () => Promise<T> {
  const say = opts.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  return async () => {
    let lostAt: number | undefined;
    for (;;) {
      try {
        const v = await read();
        if (lostAt !== undefined) say('Reconnected to Temporal; following the run again.');
        return v;
      } catch (err) {
        if (!isTemporalUnreachable(err)) throw err;
        const window = opts.windowMs ?? reconnectWindowMs();
        if (lostAt === undefined) {
          lostAt = Date.now();
          say(
            `Lost contact with Temporal (${firstLine(err)}). The run continues in Temporal; retrying for ` +
              `${Math.round(window / 1000)} s (Ctrl-C to stop). Reattach later with: ${opts.reattach}`,
          );
        }
        if (Date.now() - lostAt >= window) {
          throw new ExitError(
            `Temporal is still unreachable after ${Math.round(window / 1000)} s; the run is kept in Temporal and ` +
              `continues when its server is back. Reattach with: ${opts.reattach}`,
            3,
          );
        }
        await new Promise((r) => setTimeout(r, opts.retryMs ?? 1_000));
      }
    }
  };
}

function firstLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0]!.slice(0, 200);
}
