// The clusters a worker serves, loaded once at start (config/cluster.ts does the reading; this module is the
// worker-side name for it so activities keep one import).
export {
  loadClusterConfig,
  noMigrationsSource,
  requireMigrationsDir,
  resolveRepository,
  SHIPPED_CATALOG_DIR,
  topologyOf,
  type ClusterLoadOptions,
  type LoadedCluster,
} from '../config/cluster';
