// `cluster rollback <run-id>` (issue 12 item 4): the record of the run being reverted, the rollback run's input,
// its plan and its progress. The record is read from Temporal by the CLI (the run's own result / progress) and
// is part of the input, so the plan hash and the history say exactly which record was judged.
import { z } from 'zod';
import { ChangeRunInputFields, ChangeRunProgressSchema } from './change-run';
import { DurationSchema, HostDetectionSchema, HostOutcomeSchema, ServiceUpgradeResultSchema } from './upgrade';

/** What a replica ran at one end of a run: content identity, config hash, version label. */
export const ReplicaStateSchema = z.object({
  identity: z.string(),
  configHash: z.string(),
  version: z.string().nullable(),
});
export type ReplicaState = z.infer<typeof ReplicaStateSchema>;

/** One replica in a run's record: what the run did to it, what it ran before and what it was moved to. */
export const RunReplicaSchema = z.object({
  service: z.string(),
  host: z.string(),
  action: HostOutcomeSchema.shape.action,
  /** null: the run did not record identities (runs before they were kept) or the replica was not detected. */
  from: ReplicaStateSchema.nullable(),
  to: ReplicaStateSchema.nullable(),
});
export type RunReplica = z.infer<typeof RunReplicaSchema>;

export const RunRecordSchema = z.object({
  workflowId: z.string(),
  runId: z.string(),
  /** Workflow type: clusterUpgrade or release (anything else is refused). */
  type: z.string(),
  /** The run's own final state (completed, failed, …; `running` is refused). */
  state: z.string(),
  /** The release the run moved replicas to. */
  target: z.string(),
  closedAt: z.string().nullable(),
  /** Services in the order the run upgraded them (its dependency order). */
  order: z.array(z.string()),
  replicas: z.array(RunReplicaSchema),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

/** A change run of the cluster that started after the reverted one closed, and the replicas it moved. */
export const LaterRunSchema = z.object({
  runId: z.string(),
  type: z.string(),
  startedAt: z.string(),
  moved: z.array(z.object({ service: z.string(), host: z.string() })),
});
export type LaterRun = z.infer<typeof LaterRunSchema>;

export const ClusterRollbackInputSchema = z
  .object({
    ...ChangeRunInputFields,
    record: RunRecordSchema,
    later: z.array(LaterRunSchema).default([]),
    /** --exclude: services left as they are (also lifts a rollback_disabled refusal for them). */
    exclude: z.array(z.string()).default([]),
    cliVersion: z.string(),
    healthInterval: DurationSchema.default('5 seconds'),
    healthDeadline: DurationSchema.default('90 seconds'),
  })
  .strict();
export type ClusterRollbackInput = z.input<typeof ClusterRollbackInputSchema>;

/** A replica as its host is now, and whether the artifact of its pre-run identity is still there. */
export const RollbackHostFactsSchema = z.object({
  service: z.string(),
  host: z.string(),
  detection: HostDetectionSchema,
  artifact: z.object({
    present: z.boolean(),
    /** docker: the local image reference `repository@digest` to run again. */
    imageRef: z.string().optional(),
    /** Where it was looked for (named in a refusal). */
    where: z.string(),
  }),
});
export type RollbackHostFacts = z.infer<typeof RollbackHostFactsSchema>;

/** One move back: hosts of one service that return to the same identity and config. */
export const RollbackStepSchema = z.object({
  service: z.string(),
  mode: z.enum(['native', 'docker']),
  hosts: z.array(z.string()),
  identity: z.string(),
  configHash: z.string(),
  version: z.string(),
  imageRef: z.string().optional(),
});
export type RollbackStep = z.infer<typeof RollbackStepSchema>;

/** The change-run progress (target: the release the reverted run had moved replicas to), and the rollback's own. */
export const ClusterRollbackProgressSchema = ChangeRunProgressSchema.extend({
  /** The run being reverted. */
  runId: z.string(),
  /** Per service and host, what would happen (dry-run and approval display). */
  preview: z.array(z.object({ service: z.string(), host: z.string(), line: z.string() })),
  steps: z.array(RollbackStepSchema),
  /** Schema and data are never touched: the migrations that stay applied and why that is safe. */
  migrations: z.object({ stayApplied: z.array(z.string()), note: z.string() }),
  services: z.array(
    z.object({
      service: z.string(),
      status: z.enum(['pending', 'rolling-back', 'rolled-back', 'failed']),
      results: z.array(ServiceUpgradeResultSchema),
    }),
  ),
  summary: z
    .object({ reverted: z.array(z.string()), failed: z.array(z.string()), remaining: z.array(z.string()) })
    .optional(),
});
export type ClusterRollbackProgress = z.infer<typeof ClusterRollbackProgressSchema>;
