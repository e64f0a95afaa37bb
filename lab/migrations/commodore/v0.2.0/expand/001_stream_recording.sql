-- v0.2.0 can record streams and shows when a key was last used. Both columns are additive: the boolean has a
-- constant default (no rewrite), the timestamp is nullable, so v0.1.0 binaries are unaffected.
ALTER TABLE streams ADD COLUMN recording_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE stream_keys ADD COLUMN last_used_at timestamptz;

CREATE TABLE stream_recordings (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  stream_id    uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
  started_at   timestamptz NOT NULL,
  ended_at     timestamptz,
  object_key   text NOT NULL UNIQUE,
  size_bytes   bigint CHECK (size_bytes >= 0),
  CHECK (ended_at IS NULL OR ended_at >= started_at)
);

CREATE INDEX stream_recordings_stream_started_idx ON stream_recordings (stream_id, started_at DESC);
