// The worker's workflowsPath: every workflow type is exported from here.
export { upgradePlan } from './upgrade-plan';
export { schemaMigrate } from './schema-migrate';
export { dataMigration } from './data-migration';
export { dataMigrationControl } from './data-migration-control';
export { clusterUpgrade } from './cluster-upgrade';
export { serviceUpgrade } from './service-upgrade';
export { clusterStatus } from './status';
export { clusterDoctor } from './doctor';
export { release } from './release';
export { noop } from './noop';
export { clusterRollback } from './cluster-rollback';
