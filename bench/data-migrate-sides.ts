// The sides of the data-migrate benchmark, each run against its own freshly seeded copy of the same purser
// database and timed end to end:
//   workflow   (ours)      the real `dataMigration` workflow: real worker, real activities, sql driver.
//   plain-loop (baseline)  a Node keyset loop on one connection: per batch BEGIN, lock + compare the checkpoint
//                          row, the definition's `batch` statement, advance the row, COMMIT. No Temporal.
//   driver     (diagnostic) our sql-driver activity bodies (prepare, batch, setStatus) called in a plain loop:
//                          everything ours does except Temporal.
//   set-based  (ceiling)   one INSERT … SELECT over every invoice and the draft/open UPDATE, one transaction.
// After every run a fingerprint of the data (line items and invoices) is taken, so the sides provably did the
// same work.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { WorkflowHandle } from '@temporalio/client';
import pg from 'pg';
import type { LoadedCluster } from '../src/activities/cluster-config';
import { batch, prepare, setStatus, type MigrationRef } from '../src/activities/data-migrations/activities';
import type { DataMigrationStatusView } from '../src/contracts/data-migrate';
import { parseDataMigrationDefinition, type DataMigrationDefinition } from '../src/domain/data-migrations/definition';
import { dataMigrationWorkflowId, taskQueueFor } from '../src/temporal/ids';
import { DEFAULT_BATCH_TIME_BUDGET_MS } from '../src/workflows/data-migration';
import { analyseHistory, type HistoryBreakdown } from './migrate-history';
import { median, round, sum, type TemporalEnv } from './types';

export const SERVICE = 'purser';
export const MIGRATION_ID = 'invoice-line-items';
export const DEFINITION_PATH = join(
  __dirname,
  '..',
  'lab',
  'migrations',
  'purser',
  'v0.2.0',
  'data',
  `${MIGRATION_ID}.sql`,
);

export type Variant = 'workflow' | 'plain-loop' | 'driver' | 'set-based';

export const LABEL: Record<Variant, string> = {
  workflow: 'dataMigration workflow',
  'plain-loop': 'plain Node keyset loop',
  driver: 'our sql driver, no Temporal',
  'set-based': 'set-based SQL (INSERT … SELECT + UPDATE)',
};

/** jsonb arrives as text, as in the sql driver: a checkpoint is written back exactly as the batch produced it. */
const JSONB_OID = 3802;

export function loadDefinition(): DataMigrationDefinition {
  return parseDataMigrationDefinition(readFileSync(DEFINITION_PATH, 'utf8'), DEFINITION_PATH);
}

/** What one timed run produced. */
export interface SideRun {
  wallMs: number;
  scanned: number;
  batches: number;
  /** Workflow only: where its time went, from the server's history. */
  history?: HistoryBreakdown;
  /** Workflow only: runBatch's own durationMs (connect → commit) per batch, from the activity results. */
  batchCode?: { medianMs: number; meanMs: number };
}

async function withDb<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Ours: the workflow.

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** runBatches' own `durationMs` per batch from each completed dmRunBatch result (JSON payloads, default converter). */
function batchDurations(history: History): number[] {
  const types = new Map<string, string>();
  const out: number[] = [];
  for (const e of history.events ?? []) {
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) types.set(String(e.eventId), sched.activityType?.name ?? '');
    const done = e.activityTaskCompletedEventAttributes;
    if (!done || types.get(String(done.scheduledEventId)) !== 'dmRunBatch') continue;
    const data = done.result?.payloads?.[0]?.data;
    if (!data) continue;
    try {
      const r = JSON.parse(Buffer.from(data).toString('utf8')) as { durationMs?: unknown; batches?: unknown };
      // One activity runs several batches: its code time per batch it applied.
      const n = typeof r.batches === 'number' ? r.batches : 1;
      // Once per batch, so the mean is total code time / total batches (weighted by batches per activity).
      if (typeof r.durationMs === 'number' && n > 0) for (let i = 0; i < n; i++) out.push(r.durationMs / n);
    } catch {
      // not JSON (another converter): no code time for this batch
    }
  }
  return out;
}

export function startDataMigration(temporal: TemporalEnv, cluster: string, batchSize: number) {
  return temporal.client.workflow.start('dataMigration', {
    taskQueue: taskQueueFor(cluster),
    workflowId: dataMigrationWorkflowId(cluster, SERVICE, MIGRATION_ID),
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    // A stuck run fails the benchmark instead of hanging it.
    workflowExecutionTimeout: '30 minutes',
    args: [{ cluster, service: SERVICE, id: MIGRATION_ID, batchSize }],
  });
}

export async function runWorkflow(temporal: TemporalEnv, cluster: string, batchSize: number): Promise<SideRun> {
  const t0 = performance.now();
  const handle = await startDataMigration(temporal, cluster, batchSize);
  const view = (await handle.result()) as DataMigrationStatusView;
  const wallMs = performance.now() - t0;
  if (view.state !== 'completed') {
    throw new Error(`dataMigration ended ${view.state}: ${view.lastError ?? view.reason ?? ''}`);
  }
  const history = await handle.fetchHistory();
  const code = batchDurations(history);
  return {
    wallMs,
    scanned: view.totals.scanned,
    batches: view.batches,
    history: analyseHistory(history, 'dmRunBatch'),
    batchCode: { medianMs: round(median(code), 2), meanMs: round(sum(code) / Math.max(1, code.length), 2) },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Baseline: the plain keyset loop.

/** The loop's checkpoint row: created (untimed) after seeding, like the run row `dmPrepare` creates for ours. */
export const PLAIN_CHECKPOINT_DDL = `
CREATE TABLE bench_keyset_checkpoint (
  id            int PRIMARY KEY,
  checkpoint    jsonb NOT NULL DEFAULT '{}',
  scanned_count bigint NOT NULL DEFAULT 0,
  changed_count bigint NOT NULL DEFAULT 0,
  skipped_count bigint NOT NULL DEFAULT 0,
  error_count   bigint NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO bench_keyset_checkpoint (id) VALUES (1);`;

export async function preparePlainLoop(url: string): Promise<void> {
  await withDb(url, (c) => c.query(PLAIN_CHECKPOINT_DDL));
}

/**
 * One connection; per batch, one transaction: lock the checkpoint row and compare it with the one the loop
 * last saw (FOR UPDATE, the same compare-and-set as runBatch), the definition's `batch` statement with
 * ($1 checkpoint, $2 batch size), advance checkpoint and counters, COMMIT; until the statement says done.
 */
export async function runPlainLoop(url: string, def: DataMigrationDefinition, batchSize: number): Promise<SideRun> {
  const t0 = performance.now();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  c.setTypeParser(JSONB_OID, 'text', (v: string) => v);
  let checkpoint = '{}';
  let scanned = 0;
  let batches = 0;
  try {
    for (;;) {
      await c.query('BEGIN');
      const lock = await c.query<{ matches: boolean }>(
        'SELECT checkpoint = $1::jsonb AS matches FROM bench_keyset_checkpoint WHERE id = 1 FOR UPDATE',
        [checkpoint],
      );
      if (lock.rows[0]?.matches !== true) throw new Error(`plain loop: checkpoint moved under it (${checkpoint})`);
      const r = await c.query<{
        next_checkpoint: string;
        scanned: string;
        changed: string;
        skipped: string;
        errors: string;
        done: boolean;
      }>(def.batch.sql, [checkpoint, batchSize, '', ''].slice(0, def.batch.params));
      const row = r.rows[0];
      if (!row || r.rows.length !== 1) throw new Error(`plain loop: batch returned ${r.rows.length} rows`);
      await c.query(
        `UPDATE bench_keyset_checkpoint
            SET checkpoint = $1::jsonb, scanned_count = scanned_count + $2, changed_count = changed_count + $3,
                skipped_count = skipped_count + $4, error_count = error_count + $5, updated_at = now()
          WHERE id = 1`,
        [row.next_checkpoint, row.scanned, row.changed, row.skipped, row.errors],
      );
      await c.query('COMMIT');
      checkpoint = row.next_checkpoint;
      scanned += Number(row.scanned);
      batches += 1;
      if (row.done) break;
    }
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await c.end();
  }
  return { wallMs: performance.now() - t0, scanned, batches };
}

// ---------------------------------------------------------------------------------------------------------------
// Diagnostic: our driver without Temporal — the activity bodies the workflow calls, in the order it calls them.

export async function runDriver(cluster: LoadedCluster, batchSize: number): Promise<SideRun> {
  const ref: MigrationRef = { cluster: cluster.manifest.name, service: SERVICE, id: MIGRATION_ID };
  const t0 = performance.now();
  const prep = await prepare(cluster, ref);
  if (prep.outcome !== 'ready') throw new Error(`driver: prepare said ${prep.outcome}`);
  let batches = 0;
  let scanned = 0;
  for (const s of prep.scopes) {
    let checkpoint = s.checkpoint;
    for (;;) {
      // As the workflow calls it: a loop of batches for up to the default time budget per call.
      const r = await batch(
        cluster,
        {
          ...ref,
          scope: s.scope,
          expectedCheckpoint: checkpoint,
          batchSize,
          timeBudgetMs: DEFAULT_BATCH_TIME_BUDGET_MS,
        },
        {},
      );
      batches += r.batches ?? 0;
      checkpoint = r.checkpoint;
      scanned = r.counts.scanned;
      if (r.done) break;
    }
  }
  await setStatus(cluster, ref, 'completed');
  return { wallMs: performance.now() - t0, scanned, batches };
}

// ---------------------------------------------------------------------------------------------------------------
// Ceiling: the same effect as every batch together, set-based, in one transaction: one INSERT … SELECT of every
// invoice's lines, then one UPDATE of every draft/open invoice — no cursor, no LIMIT, no row locks, no checkpoint.
// Same rules as the batch statement: an invoice with a line the table cannot hold faithfully gets no lines and
// no update; lines already there are kept (ON CONFLICT DO NOTHING) and count in the recalculated total.

/** NOT FALSE when every line of the JSONB array `lines` is valid (NULL for no lines), as the batch's `ok`. */
const allLinesValid = (lines: string): string => `(
  SELECT bool_and(t.description IS NOT NULL AND t.quantity IS NOT NULL AND t.unit_price IS NOT NULL
                  AND t.quantity = round(t.quantity, 3) AND abs(t.quantity) < 1e9
                  AND t.unit_price = trunc(t.unit_price) AND abs(t.unit_price) < 1e15
                  AND abs(round(t.quantity * t.unit_price)) < 9e18)
    FROM (SELECT CASE WHEN jsonb_typeof(x -> 'description') = 'string' THEN x ->> 'description' END AS description,
                 CASE WHEN jsonb_typeof(x -> 'quantity') = 'number' THEN (x ->> 'quantity')::numeric END AS quantity,
                 CASE WHEN jsonb_typeof(x -> 'unit_price_cents') = 'number'
                      THEN (x ->> 'unit_price_cents')::numeric END AS unit_price
            FROM jsonb_array_elements(${lines}) AS x) t)`;

export const SET_BASED_INSERT = `
INSERT INTO invoice_line_items (invoice_id, position, description, quantity, unit_price_cents, amount_cents)
SELECT i.id, (e.ord - 1)::int, e.li ->> 'description', (e.li ->> 'quantity')::numeric,
       (e.li ->> 'unit_price_cents')::numeric::bigint,
       round((e.li ->> 'quantity')::numeric * (e.li ->> 'unit_price_cents')::numeric)::bigint
  FROM invoices i
 CROSS JOIN LATERAL jsonb_array_elements(i.line_items) WITH ORDINALITY AS e(li, ord)
 WHERE i.line_items_normalized_at IS NULL
   AND ${allLinesValid('i.line_items')} IS NOT FALSE
ON CONFLICT (invoice_id, position) DO NOTHING`;

export const SET_BASED_UPDATE = `
UPDATE invoices i
   SET total_cents = (SELECT COALESCE(sum(x.amount_cents), 0) FROM invoice_line_items x WHERE x.invoice_id = i.id),
       line_items_normalized_at = now(), updated_at = now()
 WHERE i.status IN ('draft', 'open')
   AND i.line_items_normalized_at IS NULL
   AND ${allLinesValid('i.line_items')} IS NOT FALSE`;

export async function runSetBased(url: string): Promise<SideRun> {
  const t0 = performance.now();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(SET_BASED_INSERT);
    await c.query(SET_BASED_UPDATE);
    const scanned = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM invoices')).rows[0]?.n ?? 0);
    await c.query('COMMIT');
    return { wallMs: performance.now() - t0, scanned, batches: 1 };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Proof of equal work.

export interface Fingerprint {
  lineItems: number;
  amountCents: number;
  /** md5 over every line item (invoice, position, description, quantity, prices), in key order. */
  linesMd5: string;
  stampedInvoices: number;
  /** md5 over every invoice's id, total_cents, stamped or not, updated_at = stamp, in id order. */
  invoicesMd5: string;
}

export async function fingerprint(url: string): Promise<Fingerprint> {
  return withDb(url, async (c) => {
    const r = await c.query<{ lines: string; amount: string; lines_md5: string; stamped: string; inv_md5: string }>(`
      SELECT (SELECT count(*) FROM invoice_line_items) AS lines,
             (SELECT COALESCE(sum(amount_cents), 0) FROM invoice_line_items) AS amount,
             (SELECT md5(string_agg(concat_ws(':', invoice_id, position, description, quantity, unit_price_cents,
                                              amount_cents), ',' ORDER BY invoice_id, position))
                FROM invoice_line_items) AS lines_md5,
             (SELECT count(*) FROM invoices WHERE line_items_normalized_at IS NOT NULL) AS stamped,
             (SELECT md5(string_agg(concat_ws(':', id, total_cents, line_items_normalized_at IS NOT NULL,
                                              updated_at = line_items_normalized_at), ',' ORDER BY id))
                FROM invoices) AS inv_md5`);
    const row = r.rows[0]!;
    return {
      lineItems: Number(row.lines),
      amountCents: Number(row.amount),
      linesMd5: row.lines_md5,
      stampedInvoices: Number(row.stamped),
      invoicesMd5: row.inv_md5,
    };
  });
}
