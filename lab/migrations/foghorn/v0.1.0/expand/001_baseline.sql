-- Foghorn baseline (v0.1.0): edge nodes that serve viewers and the routes that send a stream to them.

CREATE TABLE edge_nodes (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  hostname           text NOT NULL UNIQUE,
  region             text NOT NULL,
  address            inet NOT NULL,
  capacity_mbps      integer NOT NULL CHECK (capacity_mbps > 0),
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draining', 'offline')),
  last_heartbeat_at  timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE routes (
  id            bigserial PRIMARY KEY,
  stream_name   text NOT NULL,
  edge_node_id  uuid NOT NULL REFERENCES edge_nodes (id) ON DELETE CASCADE,
  priority      integer NOT NULL DEFAULT 100,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_name, edge_node_id)
);

CREATE INDEX routes_edge_node_id_idx ON routes (edge_node_id);
