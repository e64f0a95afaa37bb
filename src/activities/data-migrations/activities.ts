// Data-migration activities: locate a migration (catalog → owning database → driver), then delegate to the
// driver. Every activity is idempotent: prepare upserts, runBatch is compare-and-set, status changes are
// transitions that tolerate repetition, reads have no effects.
//
// Whatever the driver, the job's STATE lives in the owning database's `_data_migrations` tables (SPEC §7: "so
// services, gates and doctor read the same truth"): prepare creates the rows, status/pause/resume read and
// write them, and each service-driver batch is mirrored there. Only the batches, scopes and checks move to the
// service binary, on the service's first host, over one SSH session per activity.
//
// Test overrides, read by the worker from its environment at call time (paths on the HOST, not the worker):
//   FRAMEWORKS_DM_MARKER_DIR  adoption markers (default /etc/frameworks/data-migrations)
//   FRAMEWORKS_SERVICE_ROOT   native install root (default /opt/frameworks); the binary is
//                             <root>/<service>/current/<service>, the `current` symlink of SPEC §6.
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import {
  BatchProgressSchema,
  type BatchProgress,
  type DataMigrationStatus,
  type JobState,
  type PrepareResult,
  type RunBatchInput,
  type RunBatchResult,
  type Scope,
  type VerifyCheck,
  type Counts,
} from '../../contracts/data-migrate';
import { FailureType } from '../../errors';
import { type LoadedCluster } from '../cluster-config';
import { failure } from '../failures';
import { withHostSsh } from '../hosts/ssh-session';
import { withPooledClient, type DatabaseTarget } from '../postgres/connect';
import { exec } from '../ssh/client';
import { serviceRunBatch, serviceScopes, serviceVerify, type ServiceTarget } from './service-driver';
import { ensureRunColumns, ensureStateTables, pausedFailure, prepareJob, readJobState, setJobStatus } from './state';
import { discoverScopes, dryRunBatch, estimateTotal, readStatus, runBatches, verify } from './sql-driver';
import { type MigrationRef, type Driver, type Located, DEFAULT_SERVICE_ROOT, locate, located } from './locate';

export { DEFAULT_SERVICE_ROOT, locate, type Driver, type MigrationRef };
/** Runs fn with a ServiceTarget over one SSH session to the service's host (pinned key, closed after). */
function withService<T>(
  cluster: LoadedCluster,
  l: Located,
  driver: Extract<Driver, { kind: 'service' }>,
  fn: (t: ServiceTarget) => Promise<T>,
): Promise<T> {
  const markerDir = process.env.FRAMEWORKS_DM_MARKER_DIR;
  return withHostSsh(cluster, driver.host, (conn) =>
    fn({
      runtime: l.requirement.service,
      invocation: driver.invocation,
      runRemote: (argv, opts) => exec(conn, argv, opts),
      ...(markerDir ? { markerDir } : {}),
      // A failing binary may print its database URL; the worker's URL and password are the likely ones.
      secrets: l.target.secrets,
    }),
  );
}

/** Failures that mean "this cannot run as configured": prepare reports them as a refusal, not a crash. */
const REFUSALS: string[] = [FailureType.NotAdopted, FailureType.HostKeyMismatch, FailureType.InvalidInput];

function beatWith(details: BatchProgress | undefined): void {
  try {
    if (details) heartbeat(details);
    else heartbeat();
  } catch {
    // Not inside an activity (direct calls in tests).
  }
}

export async function prepare(cluster: LoadedCluster, ref: MigrationRef, scope?: Scope): Promise<PrepareResult> {
  const l = await locate(cluster, ref.service, ref.id);
  if (typeof l === 'string') return { outcome: 'refused', reason: l };
  const d = l.driver;
  let scopes: Scope[];
  try {
    if (d.kind === 'sql') scopes = scope ? [scope] : await discoverScopes(l.target, d.definition);
    else {
      // Asked even with an explicit scope: it is the adoption check, made before any state is written.
      const found = await withService(cluster, l, d, (t) => serviceScopes(t, ref.id));
      scopes = scope ? [scope] : found;
    }
  } catch (err) {
    if (d.kind === 'service' && err instanceof ApplicationFailure && REFUSALS.includes(err.type ?? '')) {
      return { outcome: 'refused', reason: err.message };
    }
    throw err;
  }
  const job = await withPooledClient(l.target, async (client) => {
    await ensureStateTables(client);
    const current = await readJobState(client, ref.id);
    if (current.status === 'completed' || current.status === 'paused') return current;
    return prepareJob(client, { id: ref.id, releaseVersion: l.requirement.introduced_in, scopes });
  });
  if (job.status === 'completed') return { outcome: 'completed', scopes: job.scopes };
  if (job.status === 'paused') return { outcome: 'paused', scopes: job.scopes };
  const wanted = job.scopes.filter((s) => scopes.some((w) => w.kind === s.scope.kind && w.value === s.scope.value));
  // The protocol has no estimate verb: a service-driver run reports progress without an ETA.
  let estimatedTotal: number | null = null;
  if (d.kind === 'sql') {
    estimatedTotal = 0;
    for (const s of scopes) {
      const n = await estimateTotal(l.target, d.definition, s);
      estimatedTotal = n === null || estimatedTotal === null ? null : estimatedTotal + n;
    }
  }
  return {
    outcome: 'ready',
    driver: d.kind,
    database: l.database,
    releaseVersion: l.requirement.introduced_in,
    scopes: wanted,
    estimatedTotal,
  };
}

/**
 * The owning database decides whether a service batch may run, as it does for the sql driver: the job must be
 * prepared (a run row for the scope) and not paused, so pause/resume mean the same for both drivers.
 */
async function checkRunnable(target: DatabaseTarget, input: RunBatchInput): Promise<void> {
  const job = await readStatus(target, input.id);
  const run = job.scopes.find((s) => s.scope.kind === input.scope.kind && s.scope.value === input.scope.value);
  if (!run) {
    throw failure(
      FailureType.InvalidInput,
      `${input.id}: no run row for scope "${input.scope.kind}/${input.scope.value}"; prepare the job first`,
    );
  }
  if (job.status === 'paused' || run.status === 'paused') {
    throw pausedFailure(input.service, input.id);
  }
}

/**
 * Copies the service's answer into the scope's run row, so gates, doctor and `setStatus('completed')` read the
 * service's progress from the owning database. Absolute values (the answer's cumulative counts and
 * checkpoint), never increments: a retried activity or a service that writes the same row itself converge on
 * the same row. A pause that landed meanwhile is kept unless the scope finished.
 */
/**
 * Mirrors a service-driver batch into the state tables. The service applies the batch in a transaction of its
 * own: it may report its scope's batch counter (`scopeBatches`), which is then copied; otherwise an applied batch
 * advances the mirror's counter by one (exact unless the activity dies between the service's commit and this
 * mirror). Returns the result with the mirrored counter.
 */
async function mirrorBatch(target: DatabaseTarget, input: RunBatchInput, r: RunBatchResult): Promise<RunBatchResult> {
  const rows = await withPooledClient(target, async (client) => {
    await ensureRunColumns(client);
    return client.query<{ batch_count: string }>(
      `UPDATE _data_migration_runs SET
         checkpoint = $4::jsonb,
         scanned_count = $5, changed_count = $6, skipped_count = $7, error_count = $8,
         batch_count = COALESCE($10::bigint, batch_count + CASE WHEN $11::boolean THEN 1 ELSE 0 END),
         attempt_count = attempt_count + CASE WHEN status IN ('running', 'completed') THEN 0 ELSE 1 END,
         status = CASE WHEN $9::boolean THEN 'completed' WHEN status = 'paused' THEN 'paused' ELSE 'running' END,
         started_at = COALESCE(started_at, NOW()),
         completed_at = CASE WHEN $9::boolean THEN COALESCE(completed_at, NOW()) ELSE completed_at END,
         updated_at = NOW()
       WHERE id = $1 AND scope_kind = $2 AND scope_value = $3
       RETURNING batch_count`,
      [
        input.id,
        input.scope.kind,
        input.scope.value,
        JSON.stringify(r.checkpoint ?? {}),
        r.counts.scanned,
        r.counts.changed,
        r.counts.skipped,
        r.counts.errors,
        r.done,
        r.scopeBatches ?? null,
        r.outcome === 'applied',
      ],
    );
  });
  const stored = rows.rows[0]?.batch_count;
  return stored === undefined ? r : { ...r, scopeBatches: Number(stored) };
}

/** The heartbeat details an earlier attempt of this activity left, if any (and if they are ours). */
function resumeDetails(): BatchProgress | undefined {
  let details: unknown;
  try {
    details = Context.current().info.heartbeatDetails;
  } catch {
    return undefined; // not inside an activity (direct calls in tests, the benchmark's driver side)
  }
  const parsed = BatchProgressSchema.safeParse(details);
  return parsed.success ? parsed.data : undefined;
}

function cancelled(): boolean {
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false;
  }
}

/** Options of a batch activity's body; the Temporal activity passes its heartbeat details and heartbeats. */
export interface BatchOptions {
  resume?: BatchProgress;
  onProgress?: (p: BatchProgress) => void;
}

/**
 * dmRunBatch's body. With `timeBudgetMs` the sql driver runs a loop of batches on one pooled connection (see
 * runBatches), heartbeating what it committed so a retried attempt continues from there; the service driver
 * runs one batch per call either way (each is an SSH round trip of its own) and reports a paused job as the
 * `paused` outcome when called by the loop. Without `opts`, the heartbeat details of the current activity (if
 * any) are the resume point and every commit is heartbeated.
 */
export async function batch(
  cluster: LoadedCluster,
  input: RunBatchInput,
  opts: BatchOptions = { resume: resumeDetails(), onProgress: (p) => beatWith(p) },
): Promise<RunBatchResult> {
  const l = await located(cluster, input);
  const d = l.driver;
  let progress: BatchProgress | undefined = opts.resume;
  // A batch can outlast the heartbeat timeout on its own; the timer keeps the activity alive meanwhile.
  const timer = setInterval(() => beatWith(progress), 2_000);
  try {
    if (d.kind === 'sql') {
      return await runBatches(l.target, d.definition, input, {
        ...(opts.resume ? { resume: opts.resume } : {}),
        onProgress: (p) => {
          progress = p;
          opts.onProgress?.(p);
        },
        shouldStop: cancelled,
      });
    }
    const loop = input.timeBudgetMs !== undefined;
    try {
      await checkRunnable(l.target, input);
    } catch (err) {
      if (!loop || !(err instanceof ApplicationFailure) || err.type !== FailureType.DataMigrationPaused) throw err;
      const job = await readStatus(l.target, input.id);
      const run = job.scopes.find((s) => s.scope.kind === input.scope.kind && s.scope.value === input.scope.value)!;
      return {
        outcome: 'paused',
        checkpoint: run.checkpoint,
        done: run.status === 'completed',
        counts: run.counts,
        batch: { scanned: 0, changed: 0, skipped: 0, errors: 0 },
        batches: 0,
        ...(run.batches === undefined ? {} : { scopeBatches: run.batches }),
        durationMs: 0,
      };
    }
    const r = await withService(cluster, l, d, (t) =>
      serviceRunBatch(t, {
        id: input.id,
        scope: input.scope,
        expectedCheckpoint: input.expectedCheckpoint,
        batchSize: input.batchSize,
      }),
    );
    const mirrored = await mirrorBatch(l.target, input, r);
    return loop ? { ...mirrored, batches: r.outcome === 'applied' ? 1 : 0 } : mirrored;
  } finally {
    clearInterval(timer);
  }
}

export async function setStatus(
  cluster: LoadedCluster,
  ref: MigrationRef,
  status: DataMigrationStatus,
  error?: string,
): Promise<JobState> {
  const l = await located(cluster, ref);
  return withPooledClient(l.target, async (client) => {
    await ensureStateTables(client);
    await setJobStatus(client, ref.id, status, error, l.requirement.introduced_in);
    return readJobState(client, ref.id);
  });
}

export async function status(cluster: LoadedCluster, ref: MigrationRef): Promise<JobState> {
  return readStatus((await located(cluster, ref)).target, ref.id);
}

export async function verifyMigration(cluster: LoadedCluster, ref: MigrationRef): Promise<VerifyCheck[]> {
  const l = await located(cluster, ref);
  const d = l.driver;
  if (d.kind === 'sql') return verify(l.target, d.definition);
  return withService(cluster, l, d, (t) => serviceVerify(t, ref.id));
}

export async function dryRun(
  cluster: LoadedCluster,
  ref: MigrationRef,
  batchSize: number,
  scope?: Scope,
): Promise<{ scope: Scope; batch: Counts; done: boolean }[]> {
  const l = await located(cluster, ref);
  const d = l.driver;
  const out: { scope: Scope; batch: Counts; done: boolean }[] = [];
  if (d.kind === 'sql') {
    const scopes = scope ? [scope] : await discoverScopes(l.target, d.definition);
    for (const s of scopes) {
      const r = await dryRunBatch(l.target, d.definition, s, batchSize);
      out.push({ scope: s, batch: r.batch, done: r.done });
    }
    return out;
  }
  const stored = await readStatus(l.target, ref.id);
  return withService(cluster, l, d, async (t) => {
    for (const s of scope ? [scope] : await serviceScopes(t, ref.id)) {
      const row = stored.scopes.find((x) => x.scope.kind === s.kind && x.scope.value === s.value);
      const one = (expectedCheckpoint: RunBatchResult['checkpoint']) =>
        serviceRunBatch(t, { id: ref.id, scope: s, expectedCheckpoint, batchSize, dryRun: true });
      let r = await one(row?.checkpoint ?? null);
      // The mirror may lag the service; a stale answer carries the service's own checkpoint, so ask once more
      // from there, and the dry run shows the batch a real run would apply next.
      if (r.outcome === 'stale') r = await one(r.checkpoint);
      out.push({ scope: s, batch: r.batch, done: r.done });
    }
    return out;
  });
}
