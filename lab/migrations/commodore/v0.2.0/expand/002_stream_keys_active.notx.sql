-- Ingest authentication looks keys up among the unrevoked ones. stream_keys is hot, so the index is built
-- CONCURRENTLY (no write lock), which cannot run in a transaction; IF NOT EXISTS makes a rerun after a
-- failure between the build and the ledger insert a no-op.
CREATE INDEX CONCURRENTLY IF NOT EXISTS stream_keys_active_idx
  ON stream_keys (stream_id)
  WHERE revoked_at IS NULL;
