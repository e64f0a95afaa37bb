// Queries and updates of the mutating workflows, defined once and imported by the CLI (names never retyped).
import type { QueryDefinition, UpdateDefinition } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CanaryInput, CanaryReady, CanaryVerdict } from '../contracts/canary';
import type { ApproveInput, CancelInput, ChangeRunProgress } from '../contracts/change-run';
import type { DataMigrationStatusView } from '../contracts/data-migrate';
import type { NoopProgress } from '../contracts/noop';
import type { ReleaseProgress } from '../contracts/release-run';
import type { ClusterRollbackProgress } from '../contracts/rollback';
import type { ClusterUpgradeProgress } from '../contracts/upgrade';
import type { SchemaMigrateProgress } from '../contracts/schema-migrate';

/** The messages of one change run (src/workflows/change-run.ts): the same names for every workflow type. */
export interface ChangeRunMessages<P extends ChangeRunProgress> {
  /** Structured progress; the CLI polls it and renders the same state the Web UI shows. */
  progress: QueryDefinition<P>;
  /** Approves the plan the operator saw (its hash must match); accepted only while awaiting approval. */
  approve: UpdateDefinition<P, [ApproveInput]>;
  /** Cancels before anything changed; refused once changes have started. */
  cancel: UpdateDefinition<P, [CancelInput]>;
}

/** One generic definition, typed per workflow type by its progress. */
export function changeRunMessages<P extends ChangeRunProgress>(): ChangeRunMessages<P> {
  return {
    progress: defineQuery<P>('progress'),
    approve: defineUpdate<P, [ApproveInput]>('approve'),
    cancel: defineUpdate<P, [CancelInput]>('cancel'),
  };
}

export const schemaMigrateMessages = changeRunMessages<SchemaMigrateProgress>();
export const clusterUpgradeMessages = changeRunMessages<ClusterUpgradeProgress>();
export const releaseMessages = changeRunMessages<ReleaseProgress>();
export const noopMessages = changeRunMessages<NoopProgress>();
export const clusterRollbackMessages = changeRunMessages<ClusterRollbackProgress>();

/**
 * `upgrade --canary` (src/workflows/cluster-upgrade-canary.ts): the operator's decision goes to the clusterUpgrade
 * run (the id they know) as the `canary` update; the service child reports its healthy canary to the parent and
 * gets the verdict back by signal.
 */
export const canaryUpdate = defineUpdate<ClusterUpgradeProgress, [CanaryInput]>('canary');
export const canaryReadySignal = defineSignal<[CanaryReady]>('canaryReady');
export const canaryVerdictSignal = defineSignal<[CanaryVerdict]>('canaryVerdict');

/** Data migration: state, per-scope counts, rate, ETA, last error. */
export const dataStatusQuery = defineQuery<DataMigrationStatusView>('status');
/** Pause between batches; resolves once paused (no batch commits after the acknowledgement). */
export const pauseUpdate = defineUpdate<DataMigrationStatusView, [{ reason?: string }]>('pause');
/** Resume a paused run; resolves once batches run again. */
export const resumeUpdate = defineUpdate<DataMigrationStatusView, []>('resume');
