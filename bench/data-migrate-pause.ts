// Pause latency of the data-migrate benchmark: during one `dataMigration` run at batch size 1,000, the `pause`
// update is sent N times (resumed after each), at different points of a batch cycle, and for each send we
// measure (a) until the update returns (acknowledged: the loop stopped and the row says paused) and (b) until
// the last batch committed, as seen by a poller reading the run row's checkpoint every few milliseconds on its
// own connection. The batch in flight at the send and the run's batch durations come from the server's history.
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { DataMigrationStatusView } from '../src/contracts/data-migrate';
import { pauseUpdate, resumeUpdate } from '../src/workflows/messages';
import { MIGRATION_ID, startDataMigration } from './data-migrate-sides';
import { median, round, type TemporalEnv } from './types';

/** The update is sent this fraction of a batch cycle after a commit, one trial each. */
export const PHASES = [0.1, 0.3, 0.5, 0.7, 0.9];
/** Added to one batch for the bound (the "pause latency ≤ one batch + 1 s"). */
export const PAUSE_SLACK_MS = 1000;
const POLL_EVERY_MS = 2;

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with PostgreSQL's and Temporal's clocks. */
const nowMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Commit {
  /** When the poller first saw this checkpoint (an upper bound on its commit time). */
  seenAt: number;
  checkpoint: string;
  scanned: number;
  /** The row's updated_at: NOW() of the batch's transaction, i.e. when that transaction began. */
  txStartAt: number;
}

/** Reads the run row in a tight loop and records every checkpoint change with the time it was first seen. */
class CommitPoller {
  readonly commits: Commit[] = [];
  private readonly gaps: number[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly url: string) {}

  async start(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url });
    await c.connect();
    this.loop = (async () => {
      let last = nowMs();
      try {
        while (!this.stopped) {
          try {
            const r = await c.query<{ checkpoint: string; scanned: string; tx: string }>(
              `SELECT checkpoint::text AS checkpoint, scanned_count AS scanned,
                      (extract(epoch FROM updated_at) * 1000)::float8 AS tx
                 FROM _data_migration_runs WHERE id = $1`,
              [MIGRATION_ID],
            );
            const at = nowMs();
            this.gaps.push(at - last);
            last = at;
            const row = r.rows[0];
            if (row && row.checkpoint !== this.commits[this.commits.length - 1]?.checkpoint) {
              this.commits.push({
                seenAt: at,
                checkpoint: row.checkpoint,
                scanned: Number(row.scanned),
                txStartAt: Number(row.tx),
              });
            }
          } catch (err) {
            // Before dmPrepare the state tables do not exist yet.
            if ((err as { code?: string }).code !== '42P01') throw err;
          }
          await sleep(POLL_EVERY_MS);
        }
      } finally {
        await c.end();
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  latest(): Commit | undefined {
    return this.commits[this.commits.length - 1];
  }

  /** Median time between the last `n` commits: one batch cycle (batch plus the orchestration between batches). */
  cycleMs(n = 10): number {
    const c = this.commits.slice(-n - 1);
    return median(c.slice(1).map((x, i) => x.seenAt - c[i]!.seenAt));
  }

  pollGaps(): { medianMs: number; maxMs: number } {
    return { medianMs: round(median(this.gaps), 2), maxMs: round(Math.max(0, ...this.gaps), 1) };
  }
}

interface BatchSpan {
  started: number;
  completed: number;
}

/** Every dmRunBatch that completed, with its start and completion times from the server's history. */
function batchSpans(history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>): BatchSpan[] {
  const scheduled = new Map<string, string>();
  const started = new Map<string, number>();
  const spans: BatchSpan[] = [];
  for (const e of history.events ?? []) {
    const at = tsToMs(e.eventTime);
    if (e.activityTaskScheduledEventAttributes) {
      scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    }
    const s = e.activityTaskStartedEventAttributes;
    if (s) started.set(String(s.scheduledEventId), at);
    const d = e.activityTaskCompletedEventAttributes;
    if (d && scheduled.get(String(d.scheduledEventId)) === 'dmRunBatch') {
      spans.push({ started: started.get(String(d.scheduledEventId)) ?? at, completed: at });
    }
  }
  return spans;
}

export interface PauseTrial {
  trial: number;
  /** Fraction of a batch cycle after a commit at which the update was sent. */
  phase: number;
  /** Invoices scanned when the update was sent. */
  scannedAtSend: number;
  /** (a) send → executeUpdate returned. */
  ackMs: number;
  ackState: string;
  /** (b) send → the last batch's commit, first seen by the poller (≤ 0: nothing committed after the send). */
  lastCommitMs: number;
  /** send → the last dmRunBatch completed, by the server's history clock (the activity returns after COMMIT). */
  lastCommitHistoryMs: number;
  /** send → the last batch's transaction began (its updated_at = NOW()); > 0 means a batch began after the send. */
  lastBatchBeganMs: number;
  /** Commit-to-commit span of the batch the pause waited for (the last one, committed after the send); null: none. */
  waitedBatchMs: number | null;
  /** "One batch" in the bound: the batch waited for (commit-to-commit), else the run's median commit cycle. */
  oneBatchMs: number;
  boundMs: number;
  /** No checkpoint moved between the acknowledgement and the resume (held for `heldMs`). */
  quietWhilePaused: boolean;
  heldMs: number;
}

export interface PauseResult {
  batchSize: number;
  invoices: number;
  trials: PauseTrial[];
  /** Median dmRunBatch activity (many batches) started → completed, and median commit-to-commit cycle (one batch). */
  medianBatchMs: number;
  medianCycleMs: number;
  poll: { medianMs: number; maxMs: number };
}

/**
 * Starts a run (its database freshly seeded by the caller), pauses and resumes it once per phase, spread over
 * the run, then terminates it while paused after the last one (the remaining batches would measure nothing new).
 */
export async function measurePause(
  temporal: TemporalEnv,
  opts: { cluster: string; url: string; batchSize: number; invoices: number; log: (line: string) => void },
): Promise<PauseResult> {
  const poller = new CommitPoller(opts.url);
  await poller.start();
  const handle = await startDataMigration(temporal, opts.cluster, opts.batchSize);
  const sends: { trial: number; phase: number; sentAt: number; ackAt: number; ack: DataMigrationStatusView }[] = [];
  const held: { quiet: boolean; heldMs: number; scanned: number }[] = [];
  try {
    const spacing = Math.floor(opts.invoices / (PHASES.length + 1));
    for (const [i, phase] of PHASES.entries()) {
      const threshold = spacing * (i + 1);
      for (let waited = 0; (poller.latest()?.scanned ?? 0) < threshold; waited += POLL_EVERY_MS) {
        if (waited > 300_000) throw new Error(`pause trial ${i + 1}: the run did not reach ${threshold} invoices`);
        await sleep(POLL_EVERY_MS);
      }
      const cycle = poller.cycleMs();
      const commit = poller.latest()!;
      await sleep(Math.max(0, commit.seenAt + phase * cycle - nowMs()));
      const scanned = poller.latest()!.scanned;
      const sentAt = nowMs();
      const ack = await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'bench: pause latency' }] });
      const ackAt = nowMs();
      sends.push({ trial: i + 1, phase, sentAt, ackAt, ack });
      // Hold the pause for a few cycles: nothing may commit after the acknowledgement.
      const heldMs = Math.max(500, 3 * cycle);
      await sleep(heldMs);
      held.push({ quiet: poller.latest()!.seenAt <= ackAt, heldMs: round(heldMs, 0), scanned });
      // The last pause stays: the run is terminated while paused, with no batch in flight.
      if (i < PHASES.length - 1) await handle.executeUpdate(resumeUpdate, { args: [] });
      opts.log(
        `pause trial ${i + 1} (phase ${phase}): acknowledged in ${(ackAt - sentAt).toFixed(0)} ms, state ${ack.state}`,
      );
    }
  } finally {
    await poller.stop();
    await handle.terminate('bench: pause trials done').catch(() => {});
  }
  const spans = batchSpans(await handle.fetchHistory());
  const medianBatchMs = round(median(spans.map((s) => s.completed - s.started)), 1);
  // Pauses sit inside some gaps; the median is the uninterrupted commit-to-commit cycle (one batch).
  const allCycles = poller.commits.slice(1).map((c, i) => c.seenAt - poller.commits[i]!.seenAt);
  const medianCycleMs = round(median(allCycles), 1);
  const trials = sends.map((s, i): PauseTrial => {
    // The last commit before the acknowledgement: its checkpoint is the one the run paused at.
    const last = [...poller.commits].reverse().find((c) => c.seenAt <= s.ackAt)!;
    const lastBatch = [...spans].reverse().find((b) => b.completed <= s.ackAt + 1);
    // The batch the pause had to wait for: the last one, when it committed after the send. One dmRunBatch
    // activity runs many batches, so its duration is not one batch: the batch's own span is the time from the
    // commit before it to its commit, as the poller saw them.
    const lastIndex = poller.commits.indexOf(last);
    const before = lastIndex > 0 ? poller.commits[lastIndex - 1] : undefined;
    const waitedBatchMs = last.seenAt > s.sentAt && before ? round(last.seenAt - before.seenAt, 1) : null;
    const oneBatchMs = waitedBatchMs ?? medianCycleMs;
    return {
      trial: s.trial,
      phase: s.phase,
      scannedAtSend: held[i]!.scanned,
      ackMs: round(s.ackAt - s.sentAt, 1),
      ackState: s.ack.state,
      lastCommitMs: round(last.seenAt - s.sentAt, 1),
      lastCommitHistoryMs: lastBatch ? round(lastBatch.completed - s.sentAt, 1) : Number.NaN,
      lastBatchBeganMs: round(last.txStartAt - s.sentAt, 1),
      waitedBatchMs,
      oneBatchMs,
      boundMs: round(oneBatchMs + PAUSE_SLACK_MS, 1),
      quietWhilePaused: held[i]!.quiet,
      heldMs: held[i]!.heldMs,
    };
  });
  return {
    batchSize: opts.batchSize,
    invoices: opts.invoices,
    trials,
    medianBatchMs,
    medianCycleMs,
    poll: poller.pollGaps(),
  };
}
