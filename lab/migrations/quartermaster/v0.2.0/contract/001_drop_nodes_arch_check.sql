-- The CHECK only existed to make postdeploy's SET NOT NULL cheap; the column constraint now says the same.
ALTER TABLE nodes DROP CONSTRAINT IF EXISTS nodes_arch_not_null;
