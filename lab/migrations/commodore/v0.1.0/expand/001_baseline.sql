-- Commodore baseline (v0.1.0): live streams and the ingest keys that publish to them.

CREATE TABLE streams (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id      uuid NOT NULL,
  internal_name  text NOT NULL UNIQUE CHECK (internal_name ~ '^[a-z0-9][a-z0-9_-]*$'),
  title          text NOT NULL DEFAULT '',
  status         text NOT NULL DEFAULT 'offline' CHECK (status IN ('offline', 'live', 'ended')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX streams_tenant_id_idx ON streams (tenant_id);

-- Only a hash of each key is stored; the key itself is shown once, when it is created.
CREATE TABLE stream_keys (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  stream_id   uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
  key_hash    text NOT NULL UNIQUE,
  label       text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE INDEX stream_keys_stream_id_idx ON stream_keys (stream_id);
