// The data-migrate benchmark (SPEC §12): rows/s of `data-migrate run` — the real `dataMigration` workflow with the
// sql driver on purser's invoice-line-items backfill — against a plain Node keyset loop running the same `batch`
// statement with the same batch size and checkpoint protocol and no Temporal (targets ≥ 0.8× at batch 1,000,
// ≥ 0.95× at 10,000), against set-based SQL (the ceiling), and against our driver without Temporal (to split the
// difference); plus pause latency (update sent → last batch committed ≤ one batch + 1 s). Side by side in one run:
// a freshly seeded, identical database per side and repetition, rotating order, medians. The sides are in
// data-migrate-sides.ts, the pause trials in data-migrate-pause.ts, the result in data-migrate-report.ts.
// BENCH_DM_INVOICES (default 200,000) and BENCH_REPS (default 3) make smaller runs while developing.
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadClusterConfig, type LoadedCluster } from '../src/activities/cluster-config';
import { locate } from '../src/activities/data-migrations/activities';
import { withClient } from '../src/activities/postgres/connect';
import { writePurserCluster } from '../lab/fixture-cluster';
import { seedPurser, type PurserSeed } from '../lab/purser-seed';
import { measurePause } from './data-migrate-pause';
import { report, type Costs, type DataMigrateRun } from './data-migrate-report';
import {
  fingerprint,
  loadDefinition,
  MIGRATION_ID,
  preparePlainLoop,
  runDriver,
  runPlainLoop,
  runSetBased,
  runWorkflow,
  SERVICE,
  type Fingerprint,
  type SideRun,
  type Variant,
} from './data-migrate-sides';
import { median, round, type BenchContext, type Benchmark, type BenchOutcome, type TemporalEnv } from './types';

const CLUSTER = 'bench-dm';
const DRIVER_CLUSTER = 'bench-dm-driver';
const URL_ENV = 'FW_BENCH_DM_DATABASE_URL';
export const BATCH_SIZES = [1000, 10_000];
const DEFAULT_INVOICES = 200_000;
const WARMUP_INVOICES = 5000;

/** The database each side migrates: the workflow's and the driver's are the ones their cluster manifests name. */
const DATABASE: Record<Variant, string> = {
  workflow: 'bench_dm',
  driver: 'bench_dm_driver',
  'plain-loop': 'bench_dm_plain',
  'set-based': 'bench_dm_set',
};

interface Job {
  variant: Variant;
  batchSize: number | null;
}

/** The three batch sides of one batch size run back to back, so the pairs compared see the same conditions. */
const BLOCKS: Job[][] = [
  ...BATCH_SIZES.map((batchSize) =>
    (['workflow', 'plain-loop', 'driver'] as const).map((variant) => ({ variant, batchSize })),
  ),
  [{ variant: 'set-based', batchSize: null }],
];
const JOBS: Job[] = BLOCKS.flat();

const rotate = <T>(list: T[], by: number): T[] => list.map((_, i) => list[(i + by) % list.length]!);

/** Repetition `rep` (from 1): the blocks, and the sides within each block, in rotated order. */
function orderFor(rep: number): Job[] {
  return rotate(BLOCKS, rep - 1).flatMap((block) => rotate(block, rep - 1));
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${raw} is not a positive integer`);
  return n;
}

const dbUrl = (serverUrl: string, db: string): string => `${serverUrl}/${db}`;

async function admin<T>(serverUrl: string, db: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: dbUrl(serverUrl, db) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Untimed: a freshly seeded database (same rows for every side), the loop's checkpoint row for the plain loop,
 * then VACUUM ANALYZE (so autovacuum of the fresh table does not land inside one side's measurement) and a
 * CHECKPOINT (so every side starts with clean buffers).
 */
async function seed(serverUrl: string, job: Job, invoices: number): Promise<PurserSeed> {
  const db = DATABASE[job.variant];
  const s = await seedPurser(serverUrl, db, invoices);
  if (job.variant === 'plain-loop') await preparePlainLoop(dbUrl(serverUrl, db));
  await admin(serverUrl, db, async (c) => {
    await c.query('VACUUM (ANALYZE) invoices');
    await c.query('CHECKPOINT');
  });
  return s;
}

async function dropDatabases(serverUrl: string): Promise<void> {
  await admin(serverUrl, 'postgres', async (c) => {
    for (const db of [...Object.values(DATABASE), COSTS_DB])
      await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  });
}

function label(job: Job): string {
  return job.batchSize === null ? job.variant : `${job.variant} @${job.batchSize}`;
}

/** Throws unless the run did exactly the seeded work, with the same result as every other side. */
function checkWork(job: Job, run: SideRun, seeded: PurserSeed, fp: Fingerprint, reference: { fp?: Fingerprint }) {
  const problems: string[] = [];
  if (run.scanned !== seeded.invoices) problems.push(`scanned ${run.scanned} of ${seeded.invoices} invoices`);
  if (fp.lineItems !== seeded.lineItems) problems.push(`${fp.lineItems} line items, expected ${seeded.lineItems}`);
  if (fp.amountCents !== seeded.amountCents)
    problems.push(`amount sum ${fp.amountCents}, expected ${seeded.amountCents}`);
  const mutable = seeded.byStatus.draft + seeded.byStatus.open;
  if (fp.stampedInvoices !== mutable) problems.push(`${fp.stampedInvoices} invoices normalised, expected ${mutable}`);
  reference.fp ??= fp;
  if (fp.linesMd5 !== reference.fp.linesMd5 || fp.invoicesMd5 !== reference.fp.invoicesMd5) {
    problems.push('data differs from the first side measured (md5 of line items or invoices)');
  }
  if (problems.length > 0) throw new Error(`${label(job)} did not do the same work: ${problems.join('; ')}`);
}

interface Setup {
  ctx: BenchContext;
  temporal: TemporalEnv;
  driverCluster: LoadedCluster;
  def: ReturnType<typeof loadDefinition>;
}

async function runJob(s: Setup, job: Job, invoices: number, reference: { fp?: Fingerprint }): Promise<SideRun> {
  const { ctx } = s;
  const seeded = await seed(ctx.postgresUrl, job, invoices);
  const url = dbUrl(ctx.postgresUrl, DATABASE[job.variant]);
  const size = job.batchSize ?? 0;
  const side: Record<Variant, () => Promise<SideRun>> = {
    workflow: () => runWorkflow(s.temporal, CLUSTER, size),
    'plain-loop': () => runPlainLoop(url, s.def, size),
    driver: () => runDriver(s.driverCluster, size),
    'set-based': () => runSetBased(url),
  };
  const run = await side[job.variant]();
  checkWork(job, run, seeded, await fingerprint(url), reference);
  await admin(ctx.postgresUrl, 'postgres', (c) => c.query(`DROP DATABASE ${DATABASE[job.variant]} WITH (FORCE)`));
  return run;
}

function note(run: SideRun, job: Job): string {
  const parts = [`${Math.round(run.scanned / (run.wallMs / 1000))} rows/s`];
  if (job.batchSize !== null) parts.push(`${run.batches} batches, ${(run.wallMs / run.batches).toFixed(1)} ms each`);
  const h = run.history;
  if (h) {
    parts.push(
      `prepare ${h.planningMs} ms; ${h.applyActivities} dmRunBatch activities, per activity (means): ${(h.execute.totalMs / h.execute.count).toFixed(1)} ms ` +
        `(our code ${run.batchCode?.meanMs ?? '?'} ms per batch), turnaround ${(h.turnaround.totalMs / Math.max(1, h.turnaround.count)).toFixed(1)} ms; ` +
        `${h.events} history events`,
    );
  }
  return parts.join('; ');
}

const COSTS_DB = 'bench_dm_costs';

/**
 * Medians of the fixed per-batch costs of our activity that the plain loop does not pay: locate() (catalog and
 * definition parsed again), a new connection, and the batch statement itself on a connection that has never run
 * it (a new backend loads its catalog caches and plans from scratch) against the same statement on a connection
 * that has — both on the same 1,000 invoices in a transaction that is rolled back, so every sample does the same
 * work.
 */
async function measureCosts(cluster: LoadedCluster, serverUrl: string, def: Setup['def'], samples = 30) {
  const locateMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const l = await locate(cluster, SERVICE, MIGRATION_ID);
    locateMs.push(performance.now() - t0);
    if (typeof l === 'string') throw new Error(`locate: ${l}`);
  }
  await seedPurser(serverUrl, COSTS_DB, 20_000);
  const target = { database: COSTS_DB, engine: 'postgres' as const, url: dbUrl(serverUrl, COSTS_DB), secrets: [] };
  const connectMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await withClient(target, async () => {});
    connectMs.push(performance.now() - t0);
  }
  const params = ['{"last_id": 10000}', 1000];
  const timedBatch = async (c: pg.Client): Promise<number> => {
    await c.query('BEGIN');
    const t0 = performance.now();
    await c.query(def.batch.sql, params);
    const t = performance.now() - t0;
    await c.query('ROLLBACK');
    return t;
  };
  const coldMs: number[] = [];
  for (let i = 0; i < samples; i++) coldMs.push(await withClient(target, timedBatch));
  const warmMs = await withClient(target, async (c) => {
    const out: number[] = [];
    await timedBatch(c);
    for (let i = 0; i < samples; i++) out.push(await timedBatch(c));
    return out;
  });
  const costs: Costs = {
    locateMs: round(median(locateMs), 3),
    connectMs: round(median(connectMs), 3),
    coldBatchMs: round(median(coldMs), 2),
    warmBatchMs: round(median(warmMs), 2),
    samples,
  };
  return costs;
}

async function run(ctx: BenchContext): Promise<BenchOutcome> {
  const temporal = ctx.temporal;
  if (!temporal) throw new Error('the data-migrate benchmark needs the Temporal dev server');
  const invoices = intFromEnv('BENCH_DM_INVOICES', DEFAULT_INVOICES);
  const reps = intFromEnv('BENCH_REPS', 3);
  process.env[URL_ENV] = ctx.postgresUrl;
  const manifests = [
    writePurserCluster(CLUSTER, DATABASE.workflow, URL_ENV),
    writePurserCluster(DRIVER_CLUSTER, DATABASE.driver, URL_ENV),
  ];
  const loaded = await Promise.all(manifests.map((m) => loadClusterConfig(m)));
  const setup: Setup = { ctx, temporal, driverCluster: loaded[1]!, def: loadDefinition() };
  const runs: DataMigrateRun[] = [];
  try {
    const workers = await temporal.startWorkers([manifests[0]!]);
    ctx.log(`${invoices} invoices per side, batch sizes ${BATCH_SIZES.join(' and ')}, ${reps} repetitions`);
    // Warm-up (not recorded): workflow bundle and isolate, gRPC channels, pg driver, every code path once.
    const warm: { fp?: Fingerprint } = {};
    for (const job of JOBS) await runJob(setup, job, Math.min(WARMUP_INVOICES, invoices), warm);
    const reference: { fp?: Fingerprint } = {};
    for (let rep = 1; rep <= reps; rep++) {
      // Rotating the order spreads drift (other load, page cache, autovacuum) over every side.
      for (const job of orderFor(rep)) {
        const before = round(loadavg()[0]!, 2);
        const r = await runJob(setup, job, invoices, reference);
        const full: DataMigrateRun = {
          rep,
          variant: label(job),
          side: job.variant,
          batchSize: job.batchSize,
          ...r,
          wallMs: round(r.wallMs, 1),
          rowsPerSecond: Math.round(r.scanned / (r.wallMs / 1000)),
          load1: [before, round(loadavg()[0]!, 2)],
          note: note(r, job),
        };
        runs.push(full);
        ctx.log(`rep ${rep} ${label(job).padEnd(18)} ${(r.wallMs / 1000).toFixed(2)} s — ${full.note}`);
      }
    }
    // Pause latency: its own run at batch 1,000 on a freshly seeded copy of the same data.
    await seed(ctx.postgresUrl, { variant: 'workflow', batchSize: 1000 }, invoices);
    const pause = await measurePause(temporal, {
      cluster: CLUSTER,
      url: dbUrl(ctx.postgresUrl, DATABASE.workflow),
      batchSize: 1000,
      invoices,
      log: (line) => ctx.log(line),
    });
    await workers.stop();
    const costs = await measureCosts(loaded[1]!, ctx.postgresUrl, setup.def);
    return report({ invoices, reps, runs, pause, costs });
  } finally {
    await dropDatabases(ctx.postgresUrl);
    for (const l of loaded) {
      rmSync(dirname(l.manifestPath), { recursive: true, force: true });
      rmSync(dirname(l.catalogDir), { recursive: true, force: true });
    }
  }
}

export const dataMigrateBenchmark: Benchmark = {
  name: 'data-migrate',
  summary: 'rows/s of the dataMigration workflow vs a plain keyset loop and one SQL statement; pause latency',
  needs: ['postgres', 'temporal'],
  run,
};
