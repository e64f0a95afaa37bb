-- Purser baseline (v0.1.0): billing plans and tenant invoices.

CREATE TABLE billing_plans (
  id                   bigserial PRIMARY KEY,
  code                 text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9_-]*$'),
  name                 text NOT NULL,
  currency             char(3) NOT NULL DEFAULT 'EUR',
  monthly_price_cents  bigint NOT NULL CHECK (monthly_price_cents >= 0),
  included_minutes     bigint NOT NULL DEFAULT 0 CHECK (included_minutes >= 0),
  active               boolean NOT NULL DEFAULT true,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- line_items holds the invoice lines as a JSON array of
--   {"description": text, "quantity": number, "unit_price_cents": integer}
-- v0.2.0 moves them into invoice_line_items (a data migration backfills it; contract drops this column).
CREATE TABLE invoices (
  id            bigserial PRIMARY KEY,
  tenant_id     uuid NOT NULL,
  number        text UNIQUE,
  status        text NOT NULL CHECK (status IN ('draft', 'open', 'finalized', 'void')),
  currency      char(3) NOT NULL DEFAULT 'EUR',
  line_items    jsonb NOT NULL DEFAULT '[]',
  total_cents   bigint NOT NULL,
  issued_at     timestamptz,
  finalized_at  timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT invoices_line_items_is_array CHECK (jsonb_typeof(line_items) = 'array'),
  -- A finalized invoice is immutable and numbered; drafts get a number when they are issued.
  CONSTRAINT invoices_finalized_numbered CHECK (status <> 'finalized' OR (number IS NOT NULL AND finalized_at IS NOT NULL))
);

CREATE INDEX invoices_tenant_id_idx ON invoices (tenant_id, created_at DESC);
