-- The data migration's verify step and invoice rendering sum amount_cents per invoice; INCLUDE makes that an
-- index-only scan. Built CONCURRENTLY (no write lock on a table the backfill fills), hence .notx.sql and
-- IF NOT EXISTS: a failure between the build and the ledger insert must leave a rerun that succeeds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS invoice_line_items_invoice_amount_idx
  ON invoice_line_items (invoice_id) INCLUDE (amount_cents);
