-- v0.2.0 normalises invoice lines out of invoices.line_items (JSONB) into their own table, so lines can be
-- queried, summed and referenced. Expand only adds: v0.1.0 binaries keep writing the JSONB column, v0.2.0
-- binaries write both, and the `invoice-line-items` data migration backfills older invoices in batches,
-- stamping line_items_normalized_at. The JSONB column is dropped in contract, after that backfill completed.

CREATE TABLE invoice_line_items (
  id                bigserial PRIMARY KEY,
  invoice_id        bigint NOT NULL,
  position          integer NOT NULL CHECK (position >= 0),
  description       text NOT NULL,
  quantity          numeric(12,3) NOT NULL,
  unit_price_cents  bigint NOT NULL,
  -- round(quantity * unit_price_cents), fixed when the line is written so totals never drift.
  amount_cents      bigint NOT NULL,
  UNIQUE (invoice_id, position)
);

-- NOT VALID: no validation scan and only a brief lock on invoices now; postdeploy validates it. New rows are
-- checked from this moment on.
ALTER TABLE invoice_line_items
  ADD CONSTRAINT invoice_line_items_invoice_id_fkey
  FOREIGN KEY (invoice_id) REFERENCES invoices (id) ON DELETE CASCADE NOT VALID;

-- NULL = lines not yet copied into invoice_line_items; the data migration's keyset batches select on it.
ALTER TABLE invoices ADD COLUMN line_items_normalized_at timestamptz;
