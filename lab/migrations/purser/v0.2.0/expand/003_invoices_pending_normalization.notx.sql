-- Lets the backfill find invoices whose lines are not normalised yet without scanning all invoices; the index
-- shrinks to nothing as the backfill completes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS invoices_line_items_pending_idx
  ON invoices (id)
  WHERE line_items_normalized_at IS NULL;
