// Queries and updates of the mutating workflows, defined once and imported by the CLI (names never retyped).
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { DataMigrationStatusView } from '../contracts/data-migrate';
import type { ReleaseProgress } from '../contracts/release-run';
import type { ClusterUpgradeProgress } from '../contracts/upgrade';
import type { ApproveInput, SchemaMigrateProgress } from '../contracts/schema-migrate';

/** Structured progress; the CLI polls it and renders the same state the Web UI shows. */
export const migrateProgressQuery = defineQuery<SchemaMigrateProgress>('progress');
/** Approves the plan the operator saw (its hash must match); accepted only while awaiting approval. */
export const approveUpdate = defineUpdate<SchemaMigrateProgress, [ApproveInput]>('approve');
/** Cancels before anything changed; refused once applying has started. */
export const cancelUpdate = defineUpdate<SchemaMigrateProgress, [{ reason?: string }]>('cancel');

/** Data migration: state, per-scope counts, rate, ETA, last error. */
export const dataStatusQuery = defineQuery<DataMigrationStatusView>('status');
/** Pause between batches; resolves once paused (no batch commits after the acknowledgement). */
export const pauseUpdate = defineUpdate<DataMigrationStatusView, [{ reason?: string }]>('pause');
/** Resume a paused run; resolves once batches run again. */
export const resumeUpdate = defineUpdate<DataMigrationStatusView, []>('resume');

/** clusterUpgrade: the same names as migrate's (`progress`, `approve`, `cancel`), typed for its progress. */
export const upgradeProgressQuery = defineQuery<ClusterUpgradeProgress>('progress');
export const upgradeApproveUpdate = defineUpdate<ClusterUpgradeProgress, [ApproveInput]>('approve');
export const upgradeCancelUpdate = defineUpdate<ClusterUpgradeProgress, [{ reason?: string }]>('cancel');

/** release: the same names again (`progress`, `approve`, `cancel`), typed for its progress. */
export const releaseProgressQuery = defineQuery<ReleaseProgress>('progress');
export const releaseApproveUpdate = defineUpdate<ReleaseProgress, [ApproveInput]>('approve');
export const releaseCancelUpdate = defineUpdate<ReleaseProgress, [{ reason?: string }]>('cancel');
