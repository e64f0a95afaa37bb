// The migrate benchmark's result: the comparisons for the table (ours vs the target baseline, plus diagnostic
// rows), headline numbers, the method in words, and the findings built from the measured numbers.
import { cpus } from 'node:os';
import { explain } from './migrate-findings';
import type { ApplyCosts } from './migrate-db';
import type { MigrateRun } from './migrate';
import { LABEL, type DispatchProbe, type Variant } from './migrate-sides';
import { BENCH_VERSION, psqlBinary } from './migrate-tree';
import { median, round, type BenchOutcome, type Comparison, type Target } from './types';

export const TARGET_RATIO = 1.5;

export interface ReportInput {
  count: number;
  reps: number;
  runs: MigrateRun[];
  costs: ApplyCosts;
  /** Median `--version` start-to-exit of the psql binary used, and of `psql` on PATH. */
  psqlStart: { binary: number; onPath: number };
  probe: DispatchProbe;
}

function method(x: ReportInput): string[] {
  const wrapper = x.psqlStart.onPath - x.psqlStart.binary;
  return [
    `${x.count} generated expand migrations, 10 per table: CREATE TABLE, ADD COLUMN (nullable, constant default, ` +
      'jsonb), CREATE INDEX ×2, CHECK and FOREIGN KEY NOT VALID, COMMENT, a child table with its index; all pass ' +
      'the project lint. One folder, one database, one release version, all transactional (no .notx).',
    'workflow (ours): `schemaMigrate` {phase: expand, toVersion: v0.1.0, approved: true} started with a Temporal ' +
      'Client and timed from start() to result(): planning activities (describe, catalog, discovery with ' +
      'checksums, ledger read, previews), then the transactional migrations in stretches: one applyMigrations ' +
      'local activity per call (at most 500 files, returning after a 2 s budget), which applies them back to back ' +
      'on one pooled connection, each in its own transaction — advisory xact lock, ledger check, the SQL, the ' +
      'ledger row, COMMIT — then DISCARD ALL (a file may SET session state); the ledger shape is checked once per ' +
      'stretch. Real worker from src/worker/create.ts in the bench process (default Worker options), dev server ' +
      'with in-memory persistence.',
    'psql, one process per file (diagnostic, the tooling being replaced): a `sh` script with `set -e` running ' +
      '`psql -X -q -v ON_ERROR_STOP=1 -f <driver>` once per migration; each driver does the same database work ' +
      'as applyMigration: BEGIN, pg_advisory_xact_lock, ledger check by key and checksum (\\gset/\\if), `\\i` of ' +
      'the original file, ledger INSERT, COMMIT. This is the shape of the tooling being replaced (one invocation ' +
      'per migration that locks, runs the file and records it). To keep the baseline as fast as it fairly can ' +
      `be, it runs the real binary (${psqlBinary()}, ${x.psqlStart.binary.toFixed(1)} ms to start) rather than ` +
      `\`psql\` on PATH${Number.isFinite(wrapper) && wrapper > 1 ? ` (Debian's Perl pg_wrapper, ${x.psqlStart.onPath.toFixed(1)} ms to start)` : ''}, ` +
      'with SSL/GSS negotiation off as node-postgres does.',
    'psql, one session (the target baseline, the SQL floor): the same per-migration blocks — one transaction each ' +
      'with lock, ledger check, file and ledger row — in one psql process and connection.',
    'our apply code, no Temporal (diagnostic): `applyStretchTo` from src/activities/postgres/apply.ts called in a ' +
      'plain loop the way the workflow calls it (same stretches and budget, same pool and transactions), re-reading ' +
      'and re-hashing each file as the activity does.',
    'Temporal floors (diagnostic, no database): bench-only workflows (bench/workflows/activity-loop.ts) calling a ' +
      `no-op activity ${x.count} times in sequence on the same server, with the same Worker defaults as ours — as ` +
      'a local activity (a proxy per call with a summary: what each transactional migration paid before stretches) ' +
      'and as an ordinary activity (what a `.notx` migration pays, and what every migration ' +
      `paid before local apply). A dispatch probe runs the ordinary loop (${x.probe.activities} activities) once ` +
      'with sticky execution on and once off (maxCachedWorkflows: 0), to see where workflow-task dispatch time goes.',
    'Every database side gets a fresh database per repetition and a CHECKPOINT before it starts; the order rotates ' +
      'per repetition; after each run the ledger is compared with the files (key, name, checksum) and the tables ' +
      'counted, so every side provably did the same work. A warm-up of every side (20 migrations) runs first and ' +
      'is not recorded. History events come from the server (`handle.fetchHistory()`), per-activity timings from ' +
      'its event timestamps (ordinary activities) or from the times Core writes into each local-activity marker ' +
      "(see bench/migrate-history.ts); our code's time per migration is its own durationMs in the " +
      `workflow result; connection, pool and ensureLedger costs are medians of ${x.costs.samples} isolated samples.`,
  ];
}

export function report(x: ReportInput): BenchOutcome {
  const { count, reps, runs, costs } = x;
  const wall = (v: Variant): number => round(median(runs.filter((r) => r.variant === v).map((r) => r.wallMs)), 1);
  const ours = wall('workflow');
  const perFile = wall('psql-per-file');
  const session = wall('psql-session');
  const direct = wall('direct');
  const floor = wall('temporal-floor');
  const localFloor = wall('local-floor');
  const target: Target = {
    metric: `wall time, ${count} migrations: workflow vs psql one session`,
    op: '<=',
    value: TARGET_RATIO,
    text: `workflow / psql (one session) ≤ ${TARGET_RATIO}× (median of ${reps})`,
  };
  const cmp = (metric: string, a: Variant, b: Variant): Comparison => {
    const [va, vb] = [wall(a), wall(b)];
    return {
      metric,
      unit: 'ms',
      ours: va,
      oursLabel: LABEL[a],
      baseline: vb,
      baselineLabel: LABEL[b],
      ratio: round(va / vb, 2),
    };
  };
  const workflowRuns = runs.filter((r) => r.variant === 'workflow');
  const floorRuns = runs.filter((r) => r.variant === 'temporal-floor');
  const localFloorRuns = runs.filter((r) => r.variant === 'local-floor');
  const events = median(workflowRuns.map((r) => r.historyEvents ?? Number.NaN));
  const fromHistory = (f: (h: NonNullable<MigrateRun['history']>) => number): number =>
    median(workflowRuns.map((r) => (r.history ? f(r.history) : Number.NaN)));
  const overhead = median(
    workflowRuns.map((r) =>
      r.history && r.activityCode ? (r.history.applyPhaseMs - r.activityCode.totalMs) / count : Number.NaN,
    ),
  );
  return {
    params: {
      migrations: count,
      repetitions: reps,
      statistic: 'median',
      version: BENCH_VERSION,
      phase: 'expand',
      psql: `${psqlBinary()} (sslmode=disable, gssencmode=disable)`,
      temporal: 'dev server, in-memory persistence, worker in the bench process (default Worker options)',
      postgres: process.env.DATABASE_URL
        ? 'DATABASE_URL'
        : `private Debian server, ${process.env.BENCH_PG_FAST === '1' ? 'fsync off' : 'durable (fsync on)'}`,
    },
    runs,
    comparisons: [
      { ...cmp(target.metric, 'workflow', 'psql-session'), target },
      cmp(`wall time, ${count} migrations: workflow vs psql per file`, 'workflow', 'psql-per-file'),
      cmp(
        `wall time, ${count} migrations: our apply code without Temporal vs psql one session`,
        'direct',
        'psql-session',
      ),
      cmp(`wall time, ${count} sequential no-op local activities vs psql per file`, 'local-floor', 'psql-per-file'),
      cmp(
        `wall time, ${count} sequential no-op ordinary activities vs psql per file`,
        'temporal-floor',
        'psql-per-file',
      ),
    ],
    target,
    metrics: {
      workflowMs: ours,
      psqlPerFileMs: perFile,
      psqlSessionMs: session,
      directMs: direct,
      temporalFloorMs: floor,
      localFloorMs: localFloor,
      historyEvents: events,
      historyEventsPerMigration: round(events / count, 2),
      historyBytes: fromHistory((h) => h.bytes),
      localActivityMarkers: fromHistory((h) => h.localApplies),
      ordinaryApplyActivities: fromHistory((h) => h.applyActivities),
      workflowTasks: fromHistory((h) => h.workflowTasks),
      longestWorkflowTaskMs: fromHistory((h) => h.workflowTaskRun.maxMs),
      planningMs: fromHistory((h) => h.planningMs),
      applyPhaseMs: fromHistory((h) => h.applyPhaseMs),
      activityCodeTotalMs: median(workflowRuns.map((r) => r.activityCode?.totalMs ?? Number.NaN)),
      overheadPerMigrationMs: round(overhead, 3),
      resultBytes: median(workflowRuns.map((r) => r.resultBytes ?? Number.NaN)),
      connectMs: costs.connectMs,
      pooledCheckoutMs: costs.pooledMs,
      ensureLedgerMs: costs.ensureLedgerMs,
      psqlStartMs: round(x.psqlStart.binary, 2),
      psqlOnPathStartMs: round(x.psqlStart.onPath, 2),
      stickyWorkflowTaskDispatchMs: x.probe.sticky.medianMs,
      nonStickyWorkflowTaskDispatchMs: x.probe.nonSticky.medianMs,
    },
    method: method(x),
    findings: explain({
      count,
      ours,
      perFile,
      session,
      direct,
      floor,
      localFloor,
      runs,
      workflowRuns,
      floorRuns,
      localFloorRuns,
      costs,
      probe: x.probe,
      target: TARGET_RATIO,
      cores: cpus().length,
    }),
  };
}
