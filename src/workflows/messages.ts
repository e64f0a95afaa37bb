// Queries and updates of the mutating workflows, defined once and imported by the CLI (names never retyped).
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ApproveInput, SchemaMigrateProgress } from '../contracts/schema-migrate';

/** Structured progress; the CLI polls it and renders the same state the Web UI shows. */
export const migrateProgressQuery = defineQuery<SchemaMigrateProgress>('progress');
/** Approves the plan the operator saw (its hash must match); accepted only while awaiting approval. */
export const approveUpdate = defineUpdate<SchemaMigrateProgress, [ApproveInput]>('approve');
/** Cancels before anything changed; refused once applying has started. */
export const cancelUpdate = defineUpdate<SchemaMigrateProgress, [{ reason?: string }]>('cancel');
