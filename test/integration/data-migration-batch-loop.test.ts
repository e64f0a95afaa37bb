// dmRunBatch's body as a loop of batches (timeBudgetMs), on real PostgreSQL with the shipped purser
// invoice-line-items definition, called directly (no Temporal) as a retried or duplicated activity would be:
// the same input twice, a resume from the heartbeat details of an attempt that died after committing, a resume
// from heartbeat details that lag behind the last commit, two attempts racing, and a pause landing while the
// loop runs. After each, line-item count and amount sum are compared with the source JSONB: a batch applied
// twice would add its lines twice (the table has no unique key the batch could lean on besides ON CONFLICT of
// the definition, so the count and sum are checked together with verify).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClusterConfig, type LoadedCluster } from '../../src/activities/cluster-config';
import {
  batch,
  locate,
  prepare,
  setStatus,
  status,
  verifyMigration,
} from '../../src/activities/data-migrations/activities';
import { closePools } from '../../src/activities/postgres/connect';
import { WHOLE_JOB, type BatchProgress, type Checkpoint, type RunBatchInput } from '../../src/contracts/data-migrate';
import { writePurserCluster } from '../helpers/fixtures';
import { seedPurser, type PurserSeed } from '../../lab/purser-seed';
import { databaseUrl, sql } from '../helpers/servers';
import { waitFor } from '../helpers/wait';

const URL_ENV = 'FW_TEST_DM_LOOP_URL';
const DB = 'dm_loop_purser';
const ref = { cluster: 'dm-loop', service: 'purser', id: 'invoice-line-items' };
let cluster: LoadedCluster;

beforeAll(async () => {
  process.env[URL_ENV] = databaseUrl();
  cluster = await loadClusterConfig(writePurserCluster(ref.cluster, DB, URL_ENV));
});
afterAll(async () => {
  await closePools();
});

function input(expectedCheckpoint: Checkpoint | null, batchSize: number, timeBudgetMs: number): RunBatchInput {
  return { ...ref, scope: WHOLE_JOB, expectedCheckpoint, batchSize, timeBudgetMs };
}

async function aggregates() {
  const [r] = await sql<{ items: number; amount: string }>(
    DB,
    'SELECT count(*)::int AS items, COALESCE(sum(amount_cents), 0)::text AS amount FROM invoice_line_items',
  );
  return { items: r!.items, amount: Number(r!.amount) };
}

async function stored() {
  const [r] = await sql<{ checkpoint: Checkpoint; scanned: string }>(
    DB,
    'SELECT checkpoint, scanned_count AS scanned FROM _data_migration_runs',
  );
  return { checkpoint: r!.checkpoint, scanned: Number(r!.scanned) };
}

async function columns(): Promise<string[]> {
  const rows = await sql<{ c: string }>(
    DB,
    "SELECT column_name AS c FROM information_schema.columns WHERE table_name = '_data_migration_runs'",
  );
  return rows.map((r) => r.c);
}

async function expectExactlyOnce(seed: PurserSeed) {
  expect(await aggregates()).toEqual({ items: seed.lineItems, amount: seed.amountCents });
  expect((await stored()).scanned).toBe(seed.invoices);
  expect((await verifyMigration(cluster, ref)).filter((c) => !c.ok)).toEqual([]);
}

/** Runs the body with an onProgress that "kills" the attempt right after its n-th commit. */
async function attemptDyingAfter(n: number, inp: RunBatchInput, beats: BatchProgress[]) {
  return batch(cluster, inp, {
    onProgress: (p) => {
      beats.push(p);
      if (p.batches >= n) throw new Error(`attempt killed after batch ${p.batches}`);
    },
  });
}

describe('dmRunBatch as a loop of batches', () => {
  it('runs many batches per call within its budget, one batch with budget 0, and completes exactly once', async () => {
    const seed = await seedPurser(databaseUrl(), DB, 3_000);
    expect((await prepare(cluster, ref)).outcome).toBe('ready');
    const one = await batch(cluster, input(null, 100, 0));
    expect(one).toMatchObject({ outcome: 'budget', batches: 1, checkpoint: { last_id: 100 }, done: false });
    expect(one.batch.scanned).toBe(100);
    const beats: BatchProgress[] = [];
    const rest = await batch(cluster, input(one.checkpoint, 100, 60_000), { onProgress: (p) => beats.push(p) });
    expect(rest).toMatchObject({ outcome: 'done', batches: 29, done: true, counts: { scanned: 3_000 } });
    expect(rest.batch.scanned).toBe(2_900);
    // One heartbeat per commit, each with the checkpoint it committed.
    expect(beats.map((b) => b.batches)).toEqual(Array.from({ length: 29 }, (_, i) => i + 1));
    expect(beats[4]).toMatchObject({ checkpoint: { last_id: 600 }, batch: { scanned: 500 } });
    await expectExactlyOnce(seed);
    // Called again after completion: nothing to do, nothing applied.
    expect(await batch(cluster, input(rest.checkpoint, 100, 60_000))).toMatchObject({ outcome: 'done', batches: 0 });
    await expectExactlyOnce(seed);
  });

  it('a retried attempt never applies a batch twice: same input again, heartbeat resume, lagging heartbeat', async () => {
    const seed = await seedPurser(databaseUrl(), DB, 3_000);
    await prepare(cluster, ref);
    const inp = input(null, 100, 60_000);

    // Attempt 1 commits 4 batches, heartbeating each, then dies.
    const beats: BatchProgress[] = [];
    await expect(attemptDyingAfter(4, inp, beats)).rejects.toThrow('attempt killed after batch 4');
    const afterDeath = await aggregates();
    expect((await stored()).checkpoint).toEqual({ last_id: 400 });

    // Attempt 2, same input, its heartbeat details lost: the stored checkpoint is not the expected one, so it
    // applies nothing and reports the stored truth (the workflow continues from there).
    const blind = await batch(cluster, inp, {});
    expect(blind).toMatchObject({ outcome: 'stale', batches: 0, checkpoint: { last_id: 400 } });
    expect(blind.counts.scanned).toBe(400);
    // The scope's batch counter moved in the dead attempt's transactions, so it still knows its 4 batches.
    expect(blind.scopeBatches).toBe(4);
    expect(await aggregates()).toEqual(afterDeath);

    // Attempt 3 with heartbeat details that lag one commit behind (the last heartbeat never reached the server):
    // neither expected nor resume matches, so again nothing is applied.
    const lagging = await batch(cluster, inp, { resume: beats[2]! });
    expect(lagging).toMatchObject({ outcome: 'stale', checkpoint: { last_id: 400 } });
    expect(await aggregates()).toEqual(afterDeath);

    // Attempt 4 with the last heartbeat: the move was its own, so it continues from there to the end, and its
    // result counts the batches of the whole activity.
    const resumed = await batch(cluster, inp, { resume: beats[3]! });
    expect(resumed).toMatchObject({
      outcome: 'done',
      done: true,
      batches: 30,
      scopeBatches: 30,
      counts: { scanned: 3_000 },
    });
    expect(resumed.batch.scanned).toBe(3_000);
    await expectExactlyOnce(seed);

    // The same input with the same (now old) heartbeat once more: stored is done; nothing applied.
    expect(await batch(cluster, inp, { resume: beats[3]! })).toMatchObject({ outcome: 'done' });
    await expectExactlyOnce(seed);
  });

  it('a state table created before batch_count: reads work unaltered, the next batch adds the column and counts', async () => {
    const seed = await seedPurser(databaseUrl(), DB, 1_000);
    await prepare(cluster, ref);
    await batch(cluster, input(null, 100, 0), {});
    // The table as an older release left it: no batch_count, one batch committed.
    await sql(DB, 'ALTER TABLE _data_migration_runs DROP COLUMN batch_count');
    const before = await status(cluster, ref);
    expect(before.scopes[0]).toMatchObject({ counts: { scanned: 100 } });
    expect(before.scopes[0]!.batches).toBeUndefined();
    expect(await columns()).not.toContain('batch_count');
    // Running batches adds the column (default 0: batches from before it are not counted) and advances it.
    const rest = await batch(cluster, input({ last_id: 100 }, 100, 60_000), {});
    expect(rest).toMatchObject({ outcome: 'done', batches: 9, scopeBatches: 9 });
    expect((await status(cluster, ref)).scopes[0]!.batches).toBe(9);
    await expectExactlyOnce(seed);
  });

  it('two attempts racing with the same input apply every batch once between them', async () => {
    const seed = await seedPurser(databaseUrl(), DB, 3_000);
    await prepare(cluster, ref);
    const inp = input(null, 50, 60_000);
    const [a, b] = await Promise.all([batch(cluster, inp, {}), batch(cluster, inp, {})]);
    // The loser waited on the row lock, then found the checkpoint moved by the winner: stale, nothing applied.
    expect([a.outcome, b.outcome].sort()).toEqual(['done', 'stale']);
    expect(a.batches! + b.batches!).toBe(60);
    await expectExactlyOnce(seed);
  });

  it('a pause that commits while the loop runs stops it at the next batch boundary; nothing commits after', async () => {
    const seed = await seedPurser(databaseUrl(), DB, 40_000);
    await prepare(cluster, ref);
    const running = batch(cluster, input(null, 100, 120_000), {});
    await waitFor('1,000 rows scanned', async () => (await stored()).scanned >= 1_000, { intervalMs: 10 });
    const paused = await setStatus(cluster, ref, 'paused');
    expect(paused.status).toBe('paused');
    const r = await running;
    expect(r.outcome).toBe('paused');
    expect(r.done).toBe(false);
    expect(r.batches).toBeGreaterThanOrEqual(10);
    expect(r.batches).toBeLessThan(400);
    // The result is the last commit, and it stays the last one.
    const atReturn = await stored();
    expect(atReturn.checkpoint).toEqual(r.checkpoint);
    expect(atReturn.scanned).toBe(r.counts.scanned);
    // Nothing can commit after it: the loop's connection went back to the pool, and no worker session on the
    // database is inside a statement or a transaction.
    const busy = await sql<{ state: string }>(
      'postgres',
      `SELECT state FROM pg_stat_activity WHERE datname = $1 AND application_name = 'frameworks-worker' AND state <> 'idle'`,
      [DB],
    );
    expect(busy).toEqual([]);
    // Called while paused: refuses to start a batch, as an outcome rather than a failure.
    expect(await batch(cluster, input(r.checkpoint, 100, 120_000), {})).toMatchObject({
      outcome: 'paused',
      batches: 0,
    });

    await setStatus(cluster, ref, 'pending');
    await setStatus(cluster, ref, 'running');
    const rest = await batch(cluster, input(r.checkpoint, 1_000, 120_000), {});
    expect(rest.outcome).toBe('done');
    await expectExactlyOnce(seed);
  });

  it('locate() is cached per cluster and re-reads a definition file that changed', async () => {
    const a = await locate(cluster, 'purser', 'invoice-line-items');
    const b = await locate(cluster, 'purser', 'invoice-line-items');
    if (typeof a === 'string' || typeof b === 'string') throw new Error('not located');
    expect(a.driver.kind).toBe('sql');
    // The same parsed definition object: no second parse.
    expect(b.driver.kind === 'sql' && a.driver.kind === 'sql' && b.driver.definition).toBe(
      a.driver.kind === 'sql' && a.driver.definition,
    );
    const { readFileSync, writeFileSync } = await import('node:fs');
    const path = a.driver.kind === 'sql' ? a.driver.definition.source : '';
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, `${text}\n-- touched\n`);
    const c = await locate(cluster, 'purser', 'invoice-line-items');
    if (typeof c === 'string' || c.driver.kind !== 'sql' || a.driver.kind !== 'sql') throw new Error('not sql');
    expect(c.driver.definition).not.toBe(a.driver.definition);
    expect(c.driver.definition.batch.sql).toBe(a.driver.definition.batch.sql);
  });
});
