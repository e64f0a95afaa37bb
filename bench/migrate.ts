// Issue 3's benchmark (SPEC §12 "migrate"): N small migrations (default 1,000) applied and ledger-checked by our
// path — the real `schemaMigrate` workflow on the Temporal dev server, a real in-process worker and the real
// activities, transactional migrations applied in stretches on one connection (issue 12) — against psql running
// the same files on the same PostgreSQL, side by side in one run: fresh database per side per repetition, rotating
// order, median of the repetitions; ratio = ours / psql in one session, target ≤ 1.5× (psql with one process per
// file is kept as a comparison). The sides are in migrate-sides.ts, the result in migrate-report.ts, the
// explanation in migrate-findings.ts.
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { discoverMigrations } from '../src/config/migrations';
import { lintMigrations } from '../src/domain/migrations/lint';
import { writeFixtureCluster } from '../lab/fixture-cluster';
import { dbUrl, dropDatabases, freshDatabase, measureApplyCosts, verifyApplied } from './migrate-db';
import { report } from './migrate-report';
import {
  FLOOR_TASK_QUEUE,
  FLOOR_WORKFLOWS,
  measureProcessStart,
  NONSTICKY_TASK_QUEUE,
  probeDispatch,
  runDirect,
  runFloor,
  runPsqlPerFile,
  runPsqlSession,
  runWorkflow,
  VARIANTS,
  type SideRun,
  type Tree,
  type Variant,
} from './migrate-sides';
import { expectedTables, psqlBinary, writeMigrationTree, writePsqlScripts } from './migrate-tree';
import { round, type BenchContext, type Benchmark, type BenchOutcome, type TemporalEnv } from './types';

const CLUSTER = 'bench-migrate';
const DATABASE = 'bench_migrate';
const WARMUP_CLUSTER = 'bench-migrate-warmup';
const WARMUP_DATABASE = 'bench_warmup';
const URL_ENV = 'FW_BENCH_DATABASE_URL';
/** Long enough to pass the first few dozen fast sticky dispatches; short enough that non-sticky replay stays cheap. */
const PROBE_ACTIVITIES = 200;

export interface MigrateRun extends SideRun {
  rep: number;
  variant: Variant;
  note: string;
  /** 1-minute load average before and after: the machine may be shared, and this shows when it was. */
  load1: [number, number];
}

/** The database a side applies to; the workflow's is the one its cluster manifest and migration folder name. */
function databaseFor(variant: Variant, base: string): string {
  return variant === 'workflow' ? base : `${base}_${variant.replace(/-/g, '_')}`;
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${raw} is not a positive integer`);
  return n;
}

function buildTree(dir: string, database: string, count: number): Tree {
  const root = join(dir, 'migrations');
  writeMigrationTree(root, database, count);
  const tree = discoverMigrations(root);
  const problems = [...tree.problems, ...lintMigrations(tree.files)];
  if (problems.length > 0 || tree.items.length !== count) {
    const first = problems.slice(0, 3).map((p) => `${p.file}:${p.line} ${p.message}`);
    throw new Error(`generated migrations are not clean (${tree.items.length}/${count} items): ${first.join('; ')}`);
  }
  return { root, items: tree.items, psql: writePsqlScripts(join(dir, 'psql'), tree.items, root, psqlBinary()) };
}

async function runSide(
  ctx: BenchContext,
  temporal: TemporalEnv,
  variant: Variant,
  tree: Tree,
  opts: { cluster: string; database: string; rep: number },
): Promise<Omit<MigrateRun, 'note'>> {
  const usesDb = variant !== 'temporal-floor' && variant !== 'local-floor';
  if (usesDb) await freshDatabase(ctx.postgresUrl, opts.database);
  const before = round(loadavg()[0]!, 2);
  const url = dbUrl(ctx.postgresUrl, opts.database);
  const n = tree.items.length;
  const side: Record<Variant, () => Promise<SideRun>> = {
    workflow: () => runWorkflow(temporal, opts.cluster, n),
    'psql-per-file': () => runPsqlPerFile(url, tree),
    'psql-session': () => runPsqlSession(url, tree),
    direct: () => runDirect(ctx.postgresUrl, opts.database, tree),
    'local-floor': () => runFloor(temporal, n, opts.rep, FLOOR_TASK_QUEUE, 'localActivityLoop'),
    'temporal-floor': () => runFloor(temporal, n, opts.rep),
  };
  const run = await side[variant]();
  const load1: [number, number] = [before, round(loadavg()[0]!, 2)];
  if (usesDb) await verifyApplied(ctx.postgresUrl, opts.database, tree.items, expectedTables(n));
  return { rep: opts.rep, variant, ...run, load1 };
}

function note(run: Omit<MigrateRun, 'note'>, count: number): string {
  const per = `${(run.wallMs / count).toFixed(2)} ms each; load ${run.load1[0]}→${run.load1[1]}`;
  const h = run.history;
  if (!h) return per;
  const code = run.activityCode ? ` (our code ${run.activityCode.medianMs} ms)` : '';
  const head = `${per}; ${h.events} history events, ${h.workflowTasks} workflow tasks (longest ${h.workflowTaskRun.maxMs} ms)`;
  if (h.localApplies > 0) {
    const l = h.local;
    return (
      `${head}; ${l.markers} local-activity markers, ${h.applyActivities} ordinary` +
      (l.cycle.count > 0 ? `; per local activity (medians): cycle ${l.cycle.medianMs} ms${code}` : code)
    );
  }
  return (
    `${head}; per activity (medians): started→completed ${h.execute.medianMs} ms${code}, workflow task ` +
    `dispatch ${h.workflowTaskDispatch.medianMs} ms + run ${h.workflowTaskRun.medianMs} ms`
  );
}

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const temporal = ctx.temporal;
  if (!temporal) throw new Error('the migrate benchmark needs the Temporal dev server');
  const count = intFromEnv('BENCH_MIGRATE_COUNT', 1000);
  const reps = intFromEnv('BENCH_REPS', 3);
  const warmupCount = Math.min(20, count);

  const tree = buildTree(join(ctx.workDir, 'main'), DATABASE, count);
  const warmTree = buildTree(join(ctx.workDir, 'warmup'), WARMUP_DATABASE, warmupCount);
  ctx.log(`${count} migrations generated and linted clean; ${reps} repetitions, ${warmupCount}-migration warm-up`);

  process.env[URL_ENV] = ctx.postgresUrl;
  const manifests = [
    writeFixtureCluster({ name: CLUSTER, databases: [DATABASE], urlEnv: URL_ENV, migrationsDir: tree.root }),
    writeFixtureCluster({
      name: WARMUP_CLUSTER,
      databases: [WARMUP_DATABASE],
      urlEnv: URL_ENV,
      migrationsDir: warmTree.root,
    }),
  ];
  const databases = VARIANTS.flatMap((v) => [databaseFor(v, DATABASE), databaseFor(v, WARMUP_DATABASE)]);
  const runs: MigrateRun[] = [];
  try {
    const workers = await temporal.startWorkers(manifests);
    const floorWorker = await temporal.startPlainWorker({
      taskQueue: FLOOR_TASK_QUEUE,
      workflowsPath: FLOOR_WORKFLOWS,
      activities: { noop: async () => {} },
    });
    const nonStickyWorker = await temporal.startPlainWorker({
      taskQueue: NONSTICKY_TASK_QUEUE,
      workflowsPath: FLOOR_WORKFLOWS,
      activities: { noop: async () => {} },
      maxCachedWorkflows: 0,
    });
    // Warm-up (not recorded): workflow bundle and isolate, gRPC channels, pg driver and psql binaries in cache.
    for (const v of VARIANTS) {
      await runSide(ctx, temporal, v, warmTree, {
        cluster: WARMUP_CLUSTER,
        database: databaseFor(v, WARMUP_DATABASE),
        rep: 0,
      });
    }
    for (let rep = 1; rep <= reps; rep++) {
      // Rotating the order spreads any drift (load from elsewhere, page cache, autovacuum, JIT) over every side.
      const order = VARIANTS.map((_, i) => VARIANTS[(i + rep - 1) % VARIANTS.length]!);
      for (const v of order) {
        const r = await runSide(ctx, temporal, v, tree, { cluster: CLUSTER, database: databaseFor(v, DATABASE), rep });
        const full: MigrateRun = { ...r, note: note(r, count) };
        runs.push(full);
        ctx.log(`rep ${rep} ${v.padEnd(14)} ${(r.wallMs / 1000).toFixed(2)} s — ${full.note}`);
      }
    }
    const probe = await probeDispatch(temporal, Math.min(PROBE_ACTIVITIES, count));
    ctx.log(
      `dispatch probe (${probe.activities} no-op activities): workflow task dispatch median ` +
        `${probe.sticky.medianMs} ms sticky, ${probe.nonSticky.medianMs} ms non-sticky`,
    );
    await nonStickyWorker.stop();
    await floorWorker.stop();
    await workers.stop();
    const costs = await measureApplyCosts({
      database: databaseFor('direct', DATABASE),
      engine: 'postgres',
      url: dbUrl(ctx.postgresUrl, databaseFor('direct', DATABASE)),
      secrets: [],
    });
    const psqlStart = { binary: await measureProcessStart(psqlBinary()), onPath: await measureProcessStart('psql') };
    return report({ count, reps, runs, costs, psqlStart, probe });
  } finally {
    await dropDatabases(ctx.postgresUrl, databases);
    for (const m of manifests) rmSync(dirname(m), { recursive: true, force: true });
  }
}

export const migrateBenchmark: Benchmark = {
  name: 'migrate',
  summary: 'N small migrations via the schemaMigrate workflow vs psql on the same files (SPEC §12)',
  needs: ['postgres', 'temporal'],
  run,
};
