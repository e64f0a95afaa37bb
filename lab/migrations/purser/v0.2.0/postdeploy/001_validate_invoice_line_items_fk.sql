-- Expand added the foreign key NOT VALID. Validating takes only a SHARE UPDATE EXCLUSIVE lock on
-- invoice_line_items (and ROW SHARE on invoices), so writes continue while the existing rows are checked.
ALTER TABLE invoice_line_items VALIDATE CONSTRAINT invoice_line_items_invoice_id_fkey;
