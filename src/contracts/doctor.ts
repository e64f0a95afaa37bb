// `frameworks cluster doctor` (SPEC §5, §8; reference §7.1): one shape for every check, whether the CLI ran it
// (Temporal, search attributes, worker presence, catalog, migration files) or the worker did (databases, hosts,
// service probes through SSH, the migration ledger, data-migration blockers). JSON-plain and strict.
import { z } from 'zod';

export const DoctorStatusSchema = z.enum(['healthy', 'degraded', 'unhealthy', 'skipped']);
export type DoctorStatus = z.infer<typeof DoctorStatusSchema>;

export const DOCTOR_SECTIONS = ['orchestrator', 'infrastructure', 'services', 'migrations', 'data-migrations'] as const;

export const DoctorCheckSchema = z
  .object({
    /** Stable id for scripts, e.g. `temporal`, `worker`, `ledger:purser`, `service:purser@h1`. */
    id: z.string(),
    section: z.enum(DOCTOR_SECTIONS),
    name: z.string(),
    status: DoctorStatusSchema,
    message: z.string(),
    details: z.array(z.string()),
    /** Commands (or, where no command exists, the action) that fix a failing check; empty when healthy. */
    fix: z.array(z.string()),
    /** Things worth knowing that are not failures (pending contract cleanup, a backfill of the target). */
    notes: z.array(z.string()),
  })
  .strict();
export type DoctorCheck = z.infer<typeof DoctorCheckSchema>;

export const ClusterDoctorInputSchema = z
  .object({
    cluster: z.string().regex(/^[a-z0-9-]+$/),
    /** stable | rc | vX.Y.Z; the CLI passes the channel of the cluster.yaml it read. */
    selector: z.string().min(1),
    operator: z.string().default(''),
  })
  .strict();
export type ClusterDoctorInput = z.input<typeof ClusterDoctorInputSchema>;

export const ClusterDoctorResultSchema = z
  .object({
    cluster: z.string(),
    workerChannel: z.string(),
    /** The version migrations and data migrations are checked against (null: it could not be resolved). */
    target: z.string().nullable(),
    checks: z.array(DoctorCheckSchema),
  })
  .strict();
export type ClusterDoctorResult = z.infer<typeof ClusterDoctorResultSchema>;

/** What `frameworks cluster doctor --json` prints. */
export const DoctorReportSchema = z
  .object({
    cluster: z.string(),
    manifest: z.string(),
    /** Worst status over all checks (skipped checks do not count). */
    status: z.enum(['healthy', 'degraded', 'unhealthy']),
    target: z.string().nullable(),
    summary: z
      .object({ healthy: z.number(), degraded: z.number(), unhealthy: z.number(), skipped: z.number() })
      .strict(),
    checks: z.array(DoctorCheckSchema),
    run: z.object({ workflowId: z.string(), runId: z.string(), webUi: z.string().optional() }).strict().optional(),
  })
  .strict();
export type DoctorReport = z.infer<typeof DoctorReportSchema>;

/** Per host: can the worker open an SSH session with the pinned key; per service: how to look at it. */
export const HostAccessSchema = z
  .object({
    hosts: z.array(
      z
        .object({
          host: z.string(),
          /** Older workers reported it; addresses come from the secret hosts file and are no longer sent. */
          address: z.string().optional(),
          port: z.number(),
          reachable: z.boolean(),
          error: z.string().optional(),
          /** The ssh command line an operator would use (no secrets: the identity file is a path). */
          ssh: z.string(),
        })
        .strict(),
    ),
    /** `<service>@<host>` → a command that shows the service's state on that host. */
    inspect: z.record(z.string(), z.string()),
  })
  .strict();
export type HostAccess = z.infer<typeof HostAccessSchema>;
