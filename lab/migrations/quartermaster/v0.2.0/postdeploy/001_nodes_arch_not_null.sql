-- Every v0.2.0 binary now writes arch, so it can become NOT NULL.
--
-- Rows inserted before the column existed read the default, but a NULL written explicitly in between would
-- fail the validation below, so it is backfilled first.
UPDATE nodes SET arch = 'linux-amd64' WHERE arch IS NULL;

-- VALIDATE scans under a SHARE UPDATE EXCLUSIVE lock (reads and writes continue); with a valid
-- CHECK (arch IS NOT NULL) in place, SET NOT NULL no longer needs its own full scan (PostgreSQL 12+).
ALTER TABLE nodes VALIDATE CONSTRAINT nodes_arch_not_null;
ALTER TABLE nodes ALTER COLUMN arch SET NOT NULL;
