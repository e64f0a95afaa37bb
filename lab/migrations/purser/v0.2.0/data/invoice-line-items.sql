-- purser.invoice-line-items (v0.2.0): copies invoices.line_items (JSONB) into invoice_line_items, so the
-- contract phase can drop the JSONB column. Parameter contract: README "Data migration definitions".
--
-- Billing rules (running-cluster upgrades guide): finalized invoices are immutable, draft/open invoices may be
-- recalculated by a documented data migration, and verification compares counts and totals.
--   * Every invoice gets its lines copied: position = array index, amount_cents = round(quantity *
--     unit_price_cents). ON CONFLICT DO NOTHING keeps lines a v0.2.0 binary already wrote.
--   * Only draft/open invoices are UPDATEd: total_cents recalculated as the sum of their lines, stamped with
--     line_items_normalized_at (updated_at set to the same instant). Finalized and void rows are never
--     UPDATEd, so they keep every byte, and stay with line_items_normalized_at NULL.
--   * A line this table cannot hold faithfully (not an object, description not a string, quantity not a
--     number or with more than 3 decimals, unit price not an integer) is an error: nothing of that invoice
--     is written, it counts in `errors`, and verify fails until someone fixes the data.
-- Keyset over invoices.id, checkpoint {"last_id": <id>}. Invoices inserted behind the cursor by a v0.1.0
-- binary during the run would be missed; v0.2.0 binaries write both, and verify would catch any gap.

-- name: batch
WITH cursor AS (
  SELECT COALESCE(($1::jsonb ->> 'last_id')::bigint, 0) AS last_id
),
batch AS (
  -- NO KEY UPDATE: an application write to a draft waits for this batch instead of racing the copy; it
  -- does not block the foreign-key checks of invoice_line_items inserts.
  SELECT i.id, i.status, i.line_items, i.line_items_normalized_at AS normalized_at
    FROM invoices i
   WHERE i.id > (SELECT last_id FROM cursor)
   ORDER BY i.id
   LIMIT $2::int
     FOR NO KEY UPDATE
),
typed AS (
  -- Casts only under CASE: PostgreSQL does not promise to evaluate a type test before a cast beside it.
  SELECT b.id AS invoice_id, (e.ord - 1)::int AS position,
         CASE WHEN jsonb_typeof(e.li -> 'description') = 'string' THEN e.li ->> 'description' END AS description,
         CASE WHEN jsonb_typeof(e.li -> 'quantity') = 'number' THEN (e.li ->> 'quantity')::numeric END AS quantity,
         CASE WHEN jsonb_typeof(e.li -> 'unit_price_cents') = 'number'
              THEN (e.li ->> 'unit_price_cents')::numeric END AS unit_price
    FROM batch b
   CROSS JOIN LATERAL jsonb_array_elements(b.line_items) WITH ORDINALITY AS e(li, ord)
   WHERE b.normalized_at IS NULL
),
lines AS (
  SELECT t.*, round(t.quantity * t.unit_price) AS amount,
         (t.description IS NOT NULL AND t.quantity IS NOT NULL AND t.unit_price IS NOT NULL
          AND t.quantity = round(t.quantity, 3) AND abs(t.quantity) < 1e9
          AND t.unit_price = trunc(t.unit_price) AND abs(t.unit_price) < 1e15
          AND abs(round(t.quantity * t.unit_price)) < 9e18) AS ok
    FROM typed t
),
bad AS (
  SELECT DISTINCT invoice_id FROM lines WHERE NOT ok
),
inserted AS (
  INSERT INTO invoice_line_items (invoice_id, position, description, quantity, unit_price_cents, amount_cents)
  SELECT l.invoice_id, l.position, l.description, l.quantity, l.unit_price::bigint, l.amount::bigint
    FROM lines l
   WHERE l.invoice_id NOT IN (SELECT invoice_id FROM bad)
  ON CONFLICT (invoice_id, position) DO NOTHING
  RETURNING invoice_id, amount_cents
),
totals AS (
  -- One hash aggregate over a union instead of joins between CTEs: the planner cannot estimate CTE sizes
  -- and nested-loops them (seconds per batch). Sums the table as it is after this statement: the lines
  -- already there (this statement's snapshot, e.g. written by a v0.2.0 binary) plus the ones inserted above.
  SELECT u.id, sum(u.cents) AS total
    FROM (SELECT b.id, 0::bigint AS cents, true AS recalculate
            FROM batch b
           WHERE b.status IN ('draft', 'open')
             AND b.normalized_at IS NULL
             AND b.id NOT IN (SELECT invoice_id FROM bad)
          UNION ALL
          SELECT invoice_id, amount_cents, false FROM inserted
          UNION ALL
          SELECT x.invoice_id, x.amount_cents, false
            FROM invoice_line_items x
           WHERE x.invoice_id IN (SELECT id FROM batch)) u
   GROUP BY u.id
  HAVING bool_or(u.recalculate)
),
recalculated AS (
  UPDATE invoices i
     SET total_cents = t.total, line_items_normalized_at = now(), updated_at = now()
    FROM totals t
   WHERE i.id = t.id AND i.status IN ('draft', 'open')
  RETURNING i.id
),
changed AS (
  SELECT invoice_id AS id FROM inserted UNION SELECT id FROM recalculated
),
summary AS (
  SELECT COALESCE((SELECT max(id) FROM batch), (SELECT last_id FROM cursor)) AS last_id,
         (SELECT count(*) FROM batch) AS scanned,
         (SELECT count(*) FROM changed) AS changed,
         (SELECT count(*) FROM bad) AS errors
)
SELECT jsonb_build_object('last_id', s.last_id) AS next_checkpoint,
       s.scanned, s.changed, s.scanned - s.changed - s.errors AS skipped, s.errors,
       NOT EXISTS (SELECT 1 FROM invoices WHERE id > s.last_id) AS done
  FROM summary s;

-- name: verify
-- Counts and totals, each JSON-derived (the source of truth until contract) against the table.
-- "Finalized/void invoices written by the migration" proves they were left alone: the batch's only write to
-- invoices is the UPDATE above, which admits only draft/open and always sets line_items_normalized_at and
-- updated_at to the same instant. A finalized/void row whose stamp is not older than its last change
-- (updated_at <= line_items_normalized_at) can only be that write. A draft the migration stamped and the
-- application finalized later has updated_at > the stamp and rightly passes.
WITH per_invoice AS (
  SELECT i.id, i.status, i.total_cents, i.updated_at, i.line_items_normalized_at AS stamped,
         jsonb_array_length(i.line_items) AS json_lines,
         (SELECT COALESCE(sum(round(
                   CASE WHEN jsonb_typeof(e -> 'quantity') = 'number' AND jsonb_typeof(e -> 'unit_price_cents') = 'number'
                        THEN (e ->> 'quantity')::numeric * (e ->> 'unit_price_cents')::numeric END)), 0)
            FROM jsonb_array_elements(i.line_items) AS e) AS json_cents,
         COALESCE(t.n, 0) AS table_lines,
         COALESCE(t.cents, 0) AS table_cents
    FROM invoices i
    LEFT JOIN (SELECT invoice_id, count(*) AS n, sum(amount_cents) AS cents
                 FROM invoice_line_items GROUP BY invoice_id) t ON t.invoice_id = i.id
),
agg AS (
  SELECT count(*) AS invoices,
         count(*) FILTER (WHERE table_lines = json_lines AND table_cents = json_cents) AS copied,
         COALESCE(sum(json_lines), 0) AS json_lines,
         COALESCE(sum(json_cents), 0) AS json_cents,
         count(*) FILTER (WHERE status IN ('draft', 'open')) AS mutable,
         count(*) FILTER (WHERE status IN ('draft', 'open') AND stamped IS NOT NULL
                            AND total_cents = table_cents) AS recalculated,
         count(*) FILTER (WHERE status = 'finalized') AS finalized,
         count(*) FILTER (WHERE status = 'finalized' AND total_cents = table_cents) AS finalized_reproduced,
         count(*) FILTER (WHERE status IN ('finalized', 'void') AND stamped IS NOT NULL
                            AND updated_at <= stamped) AS frozen_written
    FROM per_invoice
),
tbl AS (
  SELECT count(*) AS lines, COALESCE(sum(amount_cents), 0) AS cents FROM invoice_line_items
)
SELECT v.name, v.expected, v.actual
  FROM agg a, tbl t,
  LATERAL (VALUES
    (1, 'invoices with every line copied', a.invoices::text, a.copied::text),
    (2, 'line items', a.json_lines::text, t.lines::text),
    (3, 'line item amount_cents sum', a.json_cents::text, t.cents::text),
    (4, 'draft/open invoices normalised, total_cents = sum of lines', a.mutable::text, a.recalculated::text),
    -- After contract the lines are the only record of a finalized invoice: they must reproduce its total.
    (5, 'finalized invoices: issued total_cents = sum of lines', a.finalized::text, a.finalized_reproduced::text),
    (6, 'finalized/void invoices written by the migration', '0', a.frozen_written::text)
  ) AS v(ord, name, expected, actual)
 ORDER BY v.ord;

-- name: estimate
SELECT count(*) AS total FROM invoices;
