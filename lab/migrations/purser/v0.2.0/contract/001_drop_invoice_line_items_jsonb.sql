-- Contract: invoice_line_items is now the only source of invoice lines. The catalog makes this phase wait
-- for the `invoice-line-items` data migration to complete (and verify), and no v0.1.0 binary that reads the
-- JSONB column may still run. Its CHECK (invoices_line_items_is_array) is dropped with it.
ALTER TABLE invoices DROP COLUMN IF EXISTS line_items;
