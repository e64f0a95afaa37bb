-- v0.2.0 schedules by CPU architecture and free-form labels.
--
-- arch is added with a default, so rows that exist get it without a table rewrite and v0.1.0 binaries, which
-- never write the column, keep inserting valid rows. NOT NULL comes in postdeploy: the CHECK below is NOT
-- VALID (no scan, no long lock now), already enforced for new rows, and lets SET NOT NULL skip its scan later.
ALTER TABLE nodes ADD COLUMN arch text DEFAULT 'linux-amd64';
ALTER TABLE nodes ADD CONSTRAINT nodes_arch_not_null CHECK (arch IS NOT NULL) NOT VALID;

CREATE TABLE node_labels (
  node_id     uuid NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  key         text NOT NULL CHECK (key ~ '^[a-z0-9][a-z0-9._/-]*$'),
  value       text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, key)
);

CREATE INDEX node_labels_key_value_idx ON node_labels (key, value);
