// The worker's workflowsPath: every workflow type is exported from here.
export { upgradePlan } from './upgrade-plan';
export { schemaMigrate } from './schema-migrate';
