// `frameworks cluster status` (SPEC §5, §8; reference §7.2): what the `clusterStatus` workflow returns (per
// service and host: deployed vs available, health) and what `status --json` prints (that, plus the worker's
// presence and the cluster's runs from Temporal visibility). JSON-plain and strict.
import { z } from 'zod';

export const ClusterStatusInputSchema = z
  .object({
    cluster: z.string().regex(/^[a-z0-9-]+$/),
    /** stable | rc | vX.Y.Z[-pre]; the CLI passes the channel of the cluster.yaml it read when --version is absent. */
    selector: z.string().min(1),
    operator: z.string().default(''),
  })
  .strict();
export type ClusterStatusInput = z.input<typeof ClusterStatusInputSchema>;

export const REPLICA_STATES = [
  'up to date',
  'upgrade available',
  'ahead of target',
  'no target',
  'not installed',
  'not running',
  'unhealthy',
  'unreachable',
] as const;
export const ReplicaStateSchema = z.enum(REPLICA_STATES);
export type ReplicaState = z.infer<typeof ReplicaStateSchema>;

/** States that need an operator (exit 3); an available upgrade alone does not. */
export const ATTENTION_STATES: readonly ReplicaState[] = ['not installed', 'not running', 'unhealthy', 'unreachable'];

export const ReplicaStatusSchema = z
  .object({
    service: z.string(),
    host: z.string(),
    mode: z.enum(['native', 'docker']),
    /** What runs there (content identity: image digest or tarball SHA-256; the version label it reports). */
    deployed: z.object({ version: z.string().nullable(), identity: z.string().nullable() }).strict(),
    /** What the target release pins for this host (null when the release does not list the service). */
    available: z
      .object({
        version: z.string().nullable(),
        identity: z.string().nullable(),
        carriedFrom: z.string().optional(),
      })
      .strict(),
    running: z.boolean(),
    health: z.enum(['healthy', 'unhealthy', 'not checked']),
    state: ReplicaStateSchema,
    upgradeAvailable: z.boolean(),
    detail: z.string().optional(),
  })
  .strict();
export type ReplicaStatus = z.infer<typeof ReplicaStatusSchema>;

export const ClusterStatusResultSchema = z
  .object({
    cluster: z.string(),
    /** The channel in the worker's copy of cluster.yaml (it reads the file when it starts). */
    workerChannel: z.string(),
    selector: z.string(),
    target: z
      .object({
        channel: z.enum(['stable', 'rc']),
        version: z.string(),
        platformVersion: z.string().nullable(),
        source: z.string().optional(),
        error: z.string().optional(),
      })
      .strict(),
    replicas: z.array(ReplicaStatusSchema),
    /** One line per thing that needs an operator; empty when all is well. */
    attention: z.array(z.string()),
  })
  .strict();
export type ClusterStatusResult = z.infer<typeof ClusterStatusResultSchema>;

/** A run of the cluster as Temporal visibility lists it (`runs list`). */
export const RunSummarySchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    type: z.string(),
    operation: z.string().optional(),
    state: z.string().optional(),
    status: z.string(),
    operator: z.string().optional(),
    startTime: z.string(),
    closeTime: z.string().optional(),
    webUi: z.string().optional(),
  })
  .strict();

export const RunRefSchema = z
  .object({ workflowId: z.string(), runId: z.string(), webUi: z.string().optional() })
  .strict();

/** What `frameworks cluster status --json` prints. */
export const StatusReportSchema = z
  .object({
    cluster: z.string(),
    manifest: z.string(),
    worker: z
      .object({
        taskQueue: z.string(),
        /** A worker polled recently and (when a run was started) picked it up. */
        polling: z.boolean(),
        /** The last poll start Temporal recorded (ISO), null when it lists no poller. */
        lastPollAt: z.string().nullable(),
      })
      .strict(),
    /** Null when no worker polls the task queue (hosts are only reachable from the worker). */
    status: ClusterStatusResultSchema.nullable(),
    runs: z
      .object({
        inFlight: z.array(RunSummarySchema),
        recent: z.array(RunSummarySchema),
        webUi: z.string().optional(),
        error: z.string().optional(),
      })
      .strict(),
    needsAttention: z.boolean(),
    attention: z.array(z.string()),
    run: RunRefSchema.optional(),
  })
  .strict();
export type StatusReport = z.infer<typeof StatusReportSchema>;
