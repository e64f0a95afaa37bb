// The servers a bench run needs, started once per run: PostgreSQL here (DATABASE_URL, else a private Debian
// server, durable by default); Temporal in bench/temporal.ts, loaded only when a selected benchmark needs it.
// Everything started is stopped through the stop functions recorded in a Cleanup (by pid underneath), in
// reverse order, even after a failure.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensurePostgres, reachableDataDir } from '../lab/postgres';
import { PROJECT_ROOT } from '../temporal-dev/locate';

export class Cleanup {
  private readonly steps: { what: string; fn: () => Promise<void> }[] = [];

  push(what: string, fn: () => Promise<void>): void {
    this.steps.push({ what, fn });
  }

  /** Runs every step (last first); a failing step is reported and does not stop the others. */
  async run(log: (line: string) => void): Promise<boolean> {
    let ok = true;
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        ok = false;
        log(`cleanup: stopping ${step.what} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return ok;
  }
}

export async function startPostgres(cleanup: Cleanup, log: (line: string) => void): Promise<string> {
  const dataDir = reachableDataDir(
    join(PROJECT_ROOT, '.data', `bench-pg-${process.pid}`),
    `fw-bench-pg-${process.pid}`,
  );
  // Durable by default (fsync on), as a production server runs; BENCH_PG_FAST=1 trades that for speed.
  const fast = process.env.BENCH_PG_FAST === '1';
  const pg = await ensurePostgres({ dataDir, fast, removeOnStop: true });
  cleanup.push(`PostgreSQL${pg.pid ? ` (pid ${pg.pid})` : ''}`, () => pg.stop());
  log(`PostgreSQL at ${pg.url}${process.env.DATABASE_URL ? ' (DATABASE_URL)' : `, pid ${pg.pid}, fast=${fast}`}`);
  return pg.url;
}

/**
 * The code measured: the commit, and whether src/, lab/ or temporal-dev/ differed from it. An exported tree
 * (`git archive`, no .git) names its commit in BENCH_SOURCE_COMMIT.
 */
export function revision(): { commit: string; dirty: boolean } {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (head.status !== 0) {
    const exported = process.env.BENCH_SOURCE_COMMIT;
    return { commit: exported ?? 'unknown', dirty: exported === undefined };
  }
  const status = spawnSync('git', ['status', '--porcelain', '--', 'src', 'lab', 'temporal-dev'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  });
  return { commit: head.stdout.trim(), dirty: status.status !== 0 || status.stdout.trim() !== '' };
}
