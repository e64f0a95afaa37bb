// Inputs and results of the `upgradePlan` workflow and the activities it calls. JSON-plain, strict, shared by
// the CLI (which validates `--json` output against UpgradePlanSchema), the workflow and the activities.
import { z } from 'zod';

export const UpgradePlanInputSchema = z
  .object({
    cluster: z.string().regex(/^[a-z0-9-]+$/),
    /** The raw `--version` selector; empty means the cluster's channel. */
    selector: z.string().default(''),
    /** Version of the orchestrator that started the run (compared with `min_cli_version`). */
    cliVersion: z.string(),
    unsafeIgnoreCliVersionFloor: z.boolean().default(false),
    operator: z.string().default(''),
  })
  .strict();
export type UpgradePlanInput = z.input<typeof UpgradePlanInputSchema>;

/** The cluster as the worker's cluster.yaml describes it, minus anything not needed to plan (no secrets). */
export const ClusterTopologySchema = z
  .object({
    name: z.string(),
    /** stable, rc, or a concrete tag the manifest pins. */
    channel: z.string(),
    manifestPath: z.string(),
    releaseRepositories: z.array(z.string()),
    /** No addresses or users: they come from the hosts file, which is secret (SPEC §3.1). */
    hosts: z.record(z.string(), z.object({ arch: z.string().optional(), docker: z.boolean() })),
    services: z.record(z.string(), z.object({ mode: z.enum(['native', 'docker']), hosts: z.array(z.string()) })),
    databases: z.array(z.string()),
  })
  .strict();
export type ClusterTopology = z.infer<typeof ClusterTopologySchema>;

/**
 * One native tarball as the release lists it. url and checksum are optional because the real format allows their
 * absence; a consumer must treat a missing checksum as "not pinned" (see domain/artifacts.ts), never as a match.
 */
export const ArtifactSchema = z.object({
  arch: z.string(),
  url: z.string().optional(),
  checksum: z.string().optional(),
  sizeBytes: z.number().optional(),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

/** One service's target in the release, as much as planning needs (a slice, never the whole manifest). */
export const ReleaseServiceSliceSchema = z.object({
  name: z.string(),
  version: z.string(),
  image: z.string().optional(),
  digest: z.string().optional(),
  artifacts: z.array(ArtifactSchema),
  carriedFrom: z.string().optional(),
});
export type ReleaseServiceSlice = z.infer<typeof ReleaseServiceSliceSchema>;

export const ReleaseSliceSchema = z.object({
  platformVersion: z.string(),
  gitCommit: z.string(),
  releaseDate: z.string(),
  minCliVersion: z.string().optional(),
  requiredTransitions: z.array(z.string()),
  rollbackDisabled: z.array(z.string()),
  /** Services of the cluster found in the release; absent names are not in the release manifest. */
  services: z.record(z.string(), ReleaseServiceSliceSchema),
  source: z.object({
    repository: z.string(),
    path: z.string(),
    fromCache: z.boolean(),
    stale: z.boolean(),
    warnings: z.array(z.string()),
  }),
});
export type ReleaseSlice = z.infer<typeof ReleaseSliceSchema>;

export const GateStatusSchema = z.enum(['pass', 'refuse', 'bypassed', 'not-checked']);
export type GateStatus = z.infer<typeof GateStatusSchema>;

export const GateCheckSchema = z.object({
  id: z.string(),
  label: z.string(),
  status: GateStatusSchema,
  detail: z.string(),
  /** The command or action that fixes a refusal. */
  fix: z.string().optional(),
});
export type GateCheck = z.infer<typeof GateCheckSchema>;

export const ServiceTargetSchema = z.object({
  service: z.string(),
  mode: z.enum(['native', 'docker']),
  hosts: z.array(z.string()),
  version: z.string().optional(),
  /** docker: image@digest. */
  imageRef: z.string().optional(),
  /** native: the tarballs this service's hosts need (one per distinct host arch, or all declared). */
  artifacts: z.array(ArtifactSchema),
  carriedFrom: z.string().optional(),
  /** Why this target cannot be deployed as planned (missing entry, digest, arch…); empty when fine. */
  problems: z.array(z.string()),
});
export type ServiceTarget = z.infer<typeof ServiceTargetSchema>;

export const PlannedSqlMigrationSchema = z.object({
  database: z.string(),
  version: z.string(),
  filename: z.string(),
  transactional: z.boolean(),
});

export const UpgradePlanSchema = z.object({
  cluster: z.string(),
  clusterChannel: z.string(),
  selector: z.string(),
  resolved: z.object({ channel: z.enum(['stable', 'rc']), version: z.string() }),
  platformVersion: z.string(),
  release: ReleaseSliceSchema.shape.source.extend({ gitCommit: z.string(), releaseDate: z.string() }),
  warnings: z.array(z.string()),
  order: z.array(z.string()),
  /**
   * The dependency waves (the planner's batches): each service depends only on services of earlier waves, so a
   * wave's services may upgrade concurrently (`upgrade --all --parallel N`). Empty when the rollout could not
   * be ordered.
   */
  waves: z.array(z.array(z.string())).default([]),
  excluded: z.array(z.object({ service: z.string(), reason: z.string() })),
  targets: z.array(ServiceTargetSchema),
  checks: z.array(GateCheckSchema),
  refused: z.boolean(),
  /**
   * Services whose automatic rollback is off for this target, and why (catalog entry of the target's line and/or
   * the manifest's list): a failed health check leaves them on the new version.
   */
  rollbackDisabled: z.array(z.object({ service: z.string(), reason: z.string() })).default([]),
  /** SQL migrations by phase up to the target (files, not ledger state); null when no databases are configured. */
  migrations: z
    .object({
      expand: z.array(PlannedSqlMigrationSchema),
      postdeploy: z.array(PlannedSqlMigrationSchema),
      contract: z.array(PlannedSqlMigrationSchema),
    })
    .nullable(),
  suggestedFlow: z.array(z.string()),
  planHash: z.string(),
});
export type UpgradePlan = z.infer<typeof UpgradePlanSchema>;

/** What `upgrade plan --json` prints: the plan plus where the run lives. */
export const UpgradePlanReportSchema = UpgradePlanSchema.extend({
  run: z.object({ workflowId: z.string(), runId: z.string(), webUi: z.string().optional() }),
}).strict();
export type UpgradePlanReport = z.infer<typeof UpgradePlanReportSchema>;
