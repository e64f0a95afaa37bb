// The sql data-migration driver and its state tables on real PostgreSQL, with the shipped purser
// invoice-line-items definition: a batch loop to completion that verifies against direct SQL aggregates,
// exactly-once under repeated and concurrent calls, finalized invoices untouched, a dry run that writes
// nothing, the pause/resume/complete transitions, and a verify that notices tampering.
import { LAB_MIGRATIONS_DIR } from '../../lab/config';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import {
  discoverScopes,
  dryRunBatch,
  estimateTotal,
  readStatus,
  runBatch,
  verify,
} from '../../src/activities/data-migrations/sql-driver';
import { prepareJob, setJobStatus } from '../../src/activities/data-migrations/state';
import { withClient, type DatabaseTarget } from '../../src/activities/postgres/connect';
import {
  WHOLE_JOB,
  type Checkpoint,
  type DataMigrationStatus,
  type RunBatchResult,
} from '../../src/contracts/data-migrate';
import { FailureType } from '../../src/errors';
import { parseDataMigrationDefinition } from '../../src/domain/data-migrations/definition';
import { seedPurser } from '../../lab/purser-seed';
import { databaseUrl, freshDatabase, sql } from '../helpers/servers';

const REL = 'purser/v0.2.0/data/invoice-line-items.sql';
const def = parseDataMigrationDefinition(readFileSync(join(LAB_MIGRATIONS_DIR, REL), 'utf8'), REL);
const ID = 'invoice-line-items';

function target(database: string): DatabaseTarget {
  return { database, engine: 'postgres', url: `${databaseUrl()}/${database}`, secrets: [] };
}

function batch(database: string, expectedCheckpoint: Checkpoint | null, batchSize = 500): Promise<RunBatchResult> {
  return runBatch(target(database), def, {
    cluster: 'lab',
    service: 'purser',
    id: ID,
    scope: WHOLE_JOB,
    expectedCheckpoint,
    batchSize,
  });
}

async function prepare(database: string) {
  return withClient(target(database), (c) => prepareJob(c, { id: ID, releaseVersion: 'v0.2.0', scopes: [WHOLE_JOB] }));
}

async function transition(database: string, status: DataMigrationStatus, lastError?: string) {
  return withClient(target(database), (c) => setJobStatus(c, ID, status, lastError, 'v0.2.0'));
}

async function runToCompletion(database: string, batchSize: number): Promise<RunBatchResult[]> {
  const results: RunBatchResult[] = [];
  let checkpoint: Checkpoint | null = null;
  for (;;) {
    const r = await batch(database, checkpoint, batchSize);
    results.push(r);
    checkpoint = r.checkpoint;
    if (r.done) return results;
  }
}

const lineCount = async (db: string) =>
  (await sql<{ n: number }>(db, 'SELECT count(*)::int AS n FROM invoice_line_items'))[0]!.n;

// Row text AND tuple version: xmin changes on any UPDATE, even one writing the same values back.
const frozenFingerprint = async (db: string) =>
  (
    await sql<{ md5: string; n: number }>(
      db,
      `SELECT md5(string_agg(i::text || '/' || i.xmin::text, '|' ORDER BY id)) AS md5, count(*)::int AS n
         FROM invoices i WHERE status IN ('finalized', 'void')`,
    )
  )[0]!;

describe('sql data-migration driver: purser invoice-line-items', () => {
  it('runs batches to completion; verify passes and matches direct SQL aggregates; finalized rows untouched', async () => {
    const db = 'dm_loop';
    const seed = await seedPurser(databaseUrl(), db, 20_000);
    expect(seed.staleTotals).toBeGreaterThan(0);
    const before = await frozenFingerprint(db);
    expect(before.n).toBe(seed.byStatus.finalized + seed.byStatus.void);

    expect(await discoverScopes(target(db), def)).toEqual([WHOLE_JOB]);
    expect(await estimateTotal(target(db), def, WHOLE_JOB)).toBe(20_000);
    const prepared = await prepare(db);
    expect(prepared).toMatchObject({
      exists: true,
      status: 'running',
      scopes: [{ status: 'pending', checkpoint: null }],
    });

    const results = await runToCompletion(db, 1_500);
    expect(results.every((r) => r.outcome === 'applied')).toBe(true);
    expect(results).toHaveLength(Math.ceil(20_000 / 1_500));
    const last = results[results.length - 1]!;
    expect(last).toMatchObject({ done: true, checkpoint: { last_id: 20_000 } });
    // Every invoice has at least one line, so each was changed exactly once.
    expect(last.counts).toEqual({ scanned: 20_000, changed: 20_000, skipped: 0, errors: 0 });

    const [agg] = await sql<{ lines: number; cents: string; stamped: number }>(
      db,
      `SELECT (SELECT count(*)::int FROM invoice_line_items) AS lines,
              (SELECT sum(amount_cents)::text FROM invoice_line_items) AS cents,
              (SELECT count(*)::int FROM invoices WHERE line_items_normalized_at IS NOT NULL) AS stamped`,
    );
    expect(agg).toEqual({
      lines: seed.lineItems,
      cents: String(seed.amountCents),
      stamped: seed.byStatus.draft + seed.byStatus.open,
    });
    const checks = await verify(target(db), def);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.find((c) => c.name === 'line items')).toMatchObject({ expected: String(seed.lineItems) });
    expect(checks.find((c) => c.name === 'line item amount_cents sum')).toMatchObject({
      actual: String(seed.amountCents),
    });
    expect(await frozenFingerprint(db)).toEqual(before);

    // A late duplicate of the last call, and any call after completion, change nothing.
    expect((await batch(db, null)).outcome).toBe('done');
    expect(await lineCount(db)).toBe(seed.lineItems);
    expect(await transition(db, 'completed')).toMatchObject({ status: 'completed', scopes: [{ status: 'completed' }] });

    // Tampering with one line is caught by the counts-and-totals checks.
    await sql(
      db,
      'UPDATE invoice_line_items SET amount_cents = amount_cents + 1 WHERE id = (SELECT min(id) FROM invoice_line_items)',
    );
    const failed = (await verify(target(db), def)).filter((c) => !c.ok).map((c) => c.name);
    // (invoice 1 is open, so its recalculated total no longer matches its lines either)
    expect(failed).toEqual([
      'invoices with every line copied',
      'line item amount_cents sum',
      'draft/open invoices normalised, total_cents = sum of lines',
    ]);
  });

  it('applies a batch exactly once: a repeated call is stale, concurrent duplicates apply once', async () => {
    const db = 'dm_cas';
    const seed = await seedPurser(databaseUrl(), db, 1_000);
    await prepare(db);
    const first = await batch(db, null, 100);
    expect(first).toMatchObject({ outcome: 'applied', checkpoint: { last_id: 100 }, done: false });
    const lines = await lineCount(db);
    expect(lines).toBeGreaterThan(0);

    const again = await batch(db, null, 100);
    expect(again).toMatchObject({ outcome: 'stale', checkpoint: { last_id: 100 }, counts: first.counts });
    expect(again.batch).toEqual({ scanned: 0, changed: 0, skipped: 0, errors: 0 });
    expect(await lineCount(db)).toBe(lines);

    // Two activity attempts racing with the same token: one waits on the row lock, then finds it moved.
    const racing = await Promise.all([batch(db, first.checkpoint, 100), batch(db, first.checkpoint, 100)]);
    expect(racing.map((r) => r.outcome).sort()).toEqual(['applied', 'stale']);
    const status = await readStatus(target(db), ID);
    expect(status.scopes[0]).toMatchObject({ checkpoint: { last_id: 200 }, counts: { scanned: 200 }, attempts: 1 });

    // The stale answer carries the truth, so the loop continues from it without double-applying.
    const results = await runToCompletion(db, 300);
    expect(results[0]).toMatchObject({ outcome: 'stale', checkpoint: { last_id: 200 } });
    expect(results[1]).toMatchObject({ outcome: 'applied', checkpoint: { last_id: 500 } });
    expect(await lineCount(db)).toBe(seed.lineItems);
    expect((await verify(target(db), def)).every((c) => c.ok)).toBe(true);
  });

  it('dry-runs one batch without writing anything, not even the state tables', async () => {
    const db = 'dm_dry';
    await seedPurser(databaseUrl(), db, 300);
    const status = await readStatus(target(db), ID);
    expect(status).toEqual({
      id: ID,
      exists: false,
      tablesExist: false,
      status: null,
      releaseVersion: null,
      lastError: null,
      scopes: [],
    });
    const dry = await dryRunBatch(target(db), def, WHOLE_JOB, 200);
    expect(dry).toMatchObject({
      checkpoint: null,
      nextCheckpoint: { last_id: 200 },
      done: false,
      batch: { scanned: 200, changed: 200, skipped: 0, errors: 0 },
    });
    const [after] = await sql<{ state: string | null; lines: number; stamped: number }>(
      db,
      `SELECT to_regclass('_data_migrations')::text AS state,
              (SELECT count(*)::int FROM invoice_line_items) AS lines,
              (SELECT count(*)::int FROM invoices WHERE line_items_normalized_at IS NOT NULL) AS stamped`,
    );
    expect(after).toEqual({ state: null, lines: 0, stamped: 0 });

    // With state present, the dry run starts from the stored checkpoint.
    await prepare(db);
    await batch(db, null, 100);
    expect(await dryRunBatch(target(db), def, WHOLE_JOB, 1_000)).toMatchObject({
      checkpoint: { last_id: 100 },
      nextCheckpoint: { last_id: 300 },
      done: true,
      batch: { scanned: 200 },
    });
    expect((await readStatus(target(db), ID)).scopes[0]!.checkpoint).toEqual({ last_id: 100 });
  });

  it('follows the pause/resume/complete transitions, refusing the invalid ones', async () => {
    const db = 'dm_state';
    await seedPurser(databaseUrl(), db, 50);
    await expect(transition(db, 'pending')).rejects.toThrow(`${ID} is not paused (it has never run)`);
    // A never-started job can be paused: an explicit paused row, which a run then keeps.
    expect(await transition(db, 'paused')).toMatchObject({ exists: true, status: 'paused', releaseVersion: 'v0.2.0' });
    expect(await prepare(db)).toMatchObject({ status: 'paused', scopes: [{ status: 'paused' }] });
    const paused = await batch(db, null).catch((e: unknown) => e);
    expect(paused).toBeInstanceOf(ApplicationFailure);
    expect(paused).toMatchObject({ type: FailureType.DataMigrationPaused, nonRetryable: true });
    await expect(transition(db, 'running')).rejects.toThrow(/is paused: resume it first/);

    expect(await transition(db, 'pending')).toMatchObject({ status: 'pending', scopes: [{ status: 'pending' }] });
    await expect(transition(db, 'pending')).rejects.toThrow(`${ID} is not paused (status pending)`);
    expect(await prepare(db)).toMatchObject({ status: 'running' });
    await expect(transition(db, 'completed')).rejects.toThrow(
      `${ID} cannot be marked completed: 1 of 1 scope(s) not completed`,
    );
    expect(await transition(db, 'failed', 'boom')).toMatchObject({ status: 'failed', lastError: 'boom' });
    expect(await prepare(db)).toMatchObject({ status: 'running' });

    expect((await batch(db, null, 1_000)).done).toBe(true);
    expect(await transition(db, 'completed')).toMatchObject({
      status: 'completed',
      scopes: [{ status: 'completed', attempts: 1 }],
    });
    await expect(transition(db, 'paused')).rejects.toThrow(`${ID} already completed`);
    await expect(transition(db, 'pending')).rejects.toThrow(`${ID} already completed`);
    expect(await prepare(db)).toMatchObject({ status: 'completed' });
  });

  it('names the file and line of a failing statement, records it, and refuses a checkpoint that does not move', async () => {
    const db = 'dm_errors';
    await freshDatabase(db);
    const broken = parseDataMigrationDefinition(
      [
        '-- name: batch',
        'SELECT $1::jsonb AS next_checkpoint, $2::int AS scanned,',
        '       no_such_column AS changed',
        '-- name: verify',
        "SELECT 'x' AS name, '1' AS expected, '1' AS actual",
      ].join('\n'),
      'toy/v0.1.0/data/broken.sql',
    );
    const stuck = parseDataMigrationDefinition(
      [
        '-- name: batch',
        'SELECT $1::jsonb AS next_checkpoint, 0::bigint AS scanned, 0::bigint AS changed, 0::bigint AS skipped,',
        '       0::bigint AS errors, $2::int < 0 AS done',
        '-- name: verify',
        "SELECT 'x' AS name, '1' AS expected, '1' AS actual",
      ].join('\n'),
      'toy/v0.1.0/data/stuck.sql',
    );
    const input = { cluster: 'lab', service: 'toy', scope: WHOLE_JOB, expectedCheckpoint: null, batchSize: 10 };
    await withClient(target(db), async (c) => {
      await prepareJob(c, { id: 'broken', releaseVersion: 'v0.1.0', scopes: [WHOLE_JOB] });
      await prepareJob(c, { id: 'stuck', releaseVersion: 'v0.1.0', scopes: [WHOLE_JOB] });
    });
    await expect(runBatch(target(db), broken, { ...input, id: 'broken' })).rejects.toThrow(
      /^toy\/v0\.1\.0\/data\/broken\.sql:3: batch statement failed: column "no_such_column" does not exist/,
    );
    expect((await readStatus(target(db), 'broken')).scopes[0]).toMatchObject({
      status: 'failed',
      lastError: expect.stringContaining('no_such_column') as string,
    });
    await expect(runBatch(target(db), stuck, { ...input, id: 'stuck' })).rejects.toThrow(
      'toy/v0.1.0/data/stuck.sql:2: batch statement returned the checkpoint it was given ({}) without done = true',
    );
    await expect(runBatch(target(db), stuck, { ...input, id: 'broken' })).rejects.toThrow(
      'defines data migration "stuck", not "broken"',
    );
  });
});
