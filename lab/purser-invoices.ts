// Purser invoices as v0.1.0 binaries write them (line items only in the JSONB column), generated set-based and
// deterministically: used by the test suite (1M rows in seconds) and by the demo to give the backfill real work.
import type pg from 'pg';

// Status by id modulo 10: 2 draft, 2 open, 5 finalized, 1 void. 1–5 lines; a third of the quantities are
// whole numbers, the rest have three decimals; prices 0.50–199.99.
export const INSERT_INVOICES = `
INSERT INTO invoices (id, tenant_id, number, status, line_items, total_cents, issued_at, finalized_at, created_at, updated_at)
SELECT g, md5('tenant-' || (g % 97))::uuid,
       CASE WHEN s.status = 'draft' THEN NULL ELSE 'INV-' || lpad(g::text, 8, '0') END,
       s.status,
       li.items,
       li.cents + CASE WHEN $2::boolean AND s.status IN ('draft', 'open') AND g % 7 = 0 THEN 100 + g % 50 ELSE 0 END,
       CASE WHEN s.status <> 'draft' THEN ts.created + interval '1 hour' END,
       CASE WHEN s.status = 'finalized' THEN ts.created + interval '2 hours' END,
       ts.created,
       ts.created + interval '2 hours'
  FROM generate_series(1, $1::int) AS g
 CROSS JOIN LATERAL (
   SELECT (ARRAY['draft','open','finalized','finalized','void','draft','open','finalized','finalized','finalized'])[1 + g % 10] AS status
 ) s
 CROSS JOIN LATERAL (SELECT timestamptz '2025-01-01 00:00:00+00' + g * interval '1 minute' AS created) ts
 CROSS JOIN LATERAL (
   SELECT jsonb_agg(jsonb_build_object('description', 'Item ' || k || ' of invoice ' || g, 'quantity', q,
                                       'unit_price_cents', p) ORDER BY k) AS items,
          sum(round(q * p))::bigint AS cents
     FROM (SELECT k,
                  CASE WHEN (g + k) % 3 = 0 THEN ((g * 7 + k) % 10 + 1)::numeric
                       ELSE round((((g * 13 + k * 31) % 9999) + 1)::numeric / 1000, 3) END AS q,
                  50 + ((g * 97 + k * 89) % 19950) AS p
             FROM generate_series(1, 1 + (g / 10) % 5) AS k) x
 ) li`;

export const AGGREGATES = `
SELECT (SELECT count(*) FROM invoices) AS invoices,
       (SELECT COALESCE(sum(jsonb_array_length(line_items)), 0) FROM invoices) AS line_items,
       (SELECT COALESCE(sum(round((e ->> 'quantity')::numeric * (e ->> 'unit_price_cents')::numeric)), 0)
          FROM invoices, jsonb_array_elements(line_items) AS e) AS amount_cents,
       (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM invoices GROUP BY status) x) AS by_status,
       (SELECT count(*) FROM invoices i
         WHERE i.status IN ('draft', 'open')
           AND i.total_cents <> (SELECT COALESCE(sum(round((e ->> 'quantity')::numeric * (e ->> 'unit_price_cents')::numeric)), 0)
                                   FROM jsonb_array_elements(i.line_items) AS e)) AS stale`;

/** Inserts invoices 1..rows (ids fixed) into a purser database at the v0.1.0 schema; moves the id sequence. */
export async function insertInvoices(client: pg.Client, rows: number, staleOpenTotals = true): Promise<void> {
  await client.query(INSERT_INVOICES, [rows, staleOpenTotals]);
  await client.query(
    `SELECT setval(pg_get_serial_sequence('invoices', 'id'), GREATEST($1::bigint, 1), $1::bigint > 0)`,
    [rows],
  );
}
