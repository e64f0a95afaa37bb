// `cluster upgrade` (SPEC §6): the cluster run, the per-service child run, host detection and progress.
import { z } from 'zod';
import { DurationSchema } from './duration';
import { ChangeRunInputFields, ChangeRunProgressSchema } from './change-run';
import { CanaryEntrySchema, CanaryInputFields } from './canary';
import { ArtifactSchema } from './plan';

export { DurationSchema };

export const ClusterUpgradeInputSchema = z
  .object({
    ...ChangeRunInputFields,
    /** `all` for --all, else exactly one service. */
    services: z.union([z.literal('all'), z.array(z.string()).length(1)]),
    selector: z.string().default(''),
    cliVersion: z.string(),
    noRollback: z.boolean().default(false),
    skipValidation: z.boolean().default(false),
    skipMigrationCheck: z.boolean().default(false),
    skipDataMigrationCheck: z.boolean().default(false),
    unsafeIgnoreCliVersionFloor: z.boolean().default(false),
    /** --unsafe-allow-unknown-version: a replica whose release line cannot be proven passes the floor/stop gates. */
    unsafeAllowUnknownVersion: z.boolean().default(false),
    /** --allow-downgrade: replicas that would go back to an older release are allowed to. */
    allowDowngrade: z.boolean().default(false),
    /**
     * Set by `release` only: its own expand step runs before the upgrade, so the schema gate counts every
     * pending expand migration ≤ target as applied (an edited one still refuses). Not a CLI flag.
     */
    assumeExpandApplied: z.boolean().default(false),
    healthInterval: DurationSchema.default('5 seconds'),
    healthDeadline: DurationSchema.default('90 seconds'),
    /** --parallel: at most this many services upgrade at once, wave by wave (replicas stay one by one). */
    parallel: z.number().int().min(1).max(64).default(1),
    /** --canary, --soak, --canary-timeout (src/contracts/canary.ts). */
    ...CanaryInputFields,
  })
  .strict()
  .refine((i) => !(i.canary && i.noRollback), {
    message: '--canary needs rollback: a canary that is not continued is rolled back (drop --no-rollback)',
  });
export type ClusterUpgradeInput = z.input<typeof ClusterUpgradeInputSchema>;

/** What is running on one host, as detected (content identity, not the version label). */
export const HostDetectionSchema = z.object({
  host: z.string(),
  present: z.boolean(),
  /** native: `sha256:<tarball hex>`; docker: the image digest `sha256:<hex>`. */
  identity: z.string().nullable(),
  version: z.string().nullable(),
  configHash: z.string().nullable(),
  running: z.boolean(),
  /** e.g. linux-amd64 (native hosts). */
  arch: z.string().nullable(),
  error: z.string().optional(),
});
export type HostDetection = z.infer<typeof HostDetectionSchema>;

export const ServiceUpgradeInputSchema = z.object({
  cluster: z.string(),
  service: z.string(),
  mode: z.enum(['native', 'docker']),
  hosts: z.array(z.string()),
  version: z.string(),
  /** docker: image@digest. */
  imageRef: z.string().optional(),
  /** native: artifacts by arch. */
  artifacts: z.array(ArtifactSchema),
  carriedFrom: z.string().optional(),
  /** Hash of the rendered config the hosts must end up with. */
  configHash: z.string(),
  rollback: z.boolean(),
  skipValidation: z.boolean(),
  healthInterval: DurationSchema,
  healthDeadline: DurationSchema,
  /**
   * How long a host step may go without a heartbeat before Temporal gives the attempt up and retries it (default
   * HOST_STEP_HEARTBEAT_TIMEOUT in service-host-steps.ts). The steps heartbeat every few seconds while they work, so
   * this only bounds how long a dead worker goes unnoticed; tests shorten it to prove a slow step is not retried.
   */
  hostStepHeartbeatTimeout: DurationSchema.optional(),
  /**
   * Each host's architecture as the parent run read it (reference §9 item 11: read once per host per run, not once
   * per service); a host missing here is read by the child's detection.
   */
  hostArchs: z.record(z.string(), z.string()).optional(),
  /**
   * Set by `cluster rollback` only: move to this identity, whose artifact is already on every host (the plan
   * checked it); nothing is staged or downloaded, and activation refuses if it is gone after all.
   */
  onHost: z.object({ identity: z.string() }).optional(),
  /** Set by `cluster upgrade --canary`: pause after the first changed replica for the parent's verdict. */
  canary: z.boolean().optional(),
});
export type ServiceUpgradeInput = z.infer<typeof ServiceUpgradeInputSchema>;

export const HostOutcomeSchema = z.object({
  host: z.string(),
  /** `started`: the replica already ran the target identity and config but was stopped; started and checked. */
  action: z.enum([
    'skipped',
    'started',
    'upgraded',
    'reloaded',
    'rolled-back',
    'failed',
    'rollback-failed',
    'not-attempted',
  ]),
  from: z.string().nullable(),
  to: z.string(),
  detail: z.string().optional(),
  /** Identity and config hash detected before the step, and the ones it moved to (the record `rollback` reverts). */
  fromIdentity: z.string().nullable().optional(),
  fromConfigHash: z.string().nullable().optional(),
  toIdentity: z.string().optional(),
  toConfigHash: z.string().optional(),
});
export type HostOutcome = z.infer<typeof HostOutcomeSchema>;

export const ServiceUpgradeResultSchema = z.object({
  service: z.string(),
  /** `started`: nothing was deployed, but a stopped replica at the target was started. */
  outcome: z.enum(['upgraded', 'started', 'skipped', 'rolled-back', 'failed', 'rollback-failed']),
  hosts: z.array(HostOutcomeSchema),
  error: z.string().optional(),
});
export type ServiceUpgradeResult = z.infer<typeof ServiceUpgradeResultSchema>;

export const ClusterUpgradeProgressSchema = ChangeRunProgressSchema.extend({
  order: z.array(z.string()),
  /** The run's dependency waves and its bound (runs with `parallel` > 1 only). */
  waves: z.array(z.array(z.string())).optional(),
  parallel: z.number().optional(),
  /** Dry-run and approval display: per service and host, what would happen. */
  preview: z.array(z.object({ service: z.string(), host: z.string(), line: z.string() })),
  services: z.array(
    z.object({
      service: z.string(),
      status: z.enum([
        'pending',
        'upgrading',
        'upgraded',
        'started',
        'skipped',
        'failed',
        'rolled-back',
        'rollback-failed',
      ]),
      result: ServiceUpgradeResultSchema.optional(),
    }),
  ),
  /** `--canary` runs: each service's canary replica and its decision (src/contracts/canary.ts). */
  canaries: z.array(CanaryEntrySchema).optional(),
  /** Services that will not be rolled back automatically if their health check fails, and why. */
  rollbackDisabled: z.array(z.object({ service: z.string(), reason: z.string() })).optional(),
  summary: z
    .object({
      succeeded: z.array(z.string()),
      failed: z.array(z.string()),
      rolledBack: z.array(z.string()),
      remaining: z.array(z.string()),
    })
    .optional(),
});
export type ClusterUpgradeProgress = z.infer<typeof ClusterUpgradeProgressSchema>;

/** One replica's content identity, asked of the release repository: which releases pin it for that service? */
export const PinQuerySchema = z.object({ service: z.string(), identity: z.string() });
export type PinQuery = z.infer<typeof PinQuerySchema>;

/**
 * Answer of `findReleasesPinning`: for each asked `service identity` pair (key `pinKey`), the release tags whose
 * manifests pin exactly that identity for that service, ascending. Only the asked pairs, never whole manifests.
 */
export const ReleasePinsSchema = z.object({
  /** Release tags whose manifests were read. */
  scanned: z.array(z.string()),
  pins: z.record(z.string(), z.array(z.string())),
  /** Manifests that could not be read (the scan goes on without them). */
  warnings: z.array(z.string()),
});
export type ReleasePins = z.infer<typeof ReleasePinsSchema>;

export function pinKey(service: string, identity: string): string {
  return `${service} ${identity}`;
}
