-- v0.2.0 routes viewers to the nearest edge. Coordinates are nullable: nodes registered by v0.1.0 have none
-- and are routed by region until their next heartbeat reports a position.
ALTER TABLE edge_nodes
  ADD COLUMN latitude double precision CHECK (latitude BETWEEN -90 AND 90),
  ADD COLUMN longitude double precision CHECK (longitude BETWEEN -180 AND 180);

CREATE INDEX edge_nodes_region_status_idx ON edge_nodes (region, status);
