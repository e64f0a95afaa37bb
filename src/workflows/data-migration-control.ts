// Short read-mostly operations on data migrations that need the worker's database access but no batch loop:
// status/verify/list (read-only), dry-run (one batch, rolled back), and pause/resume of a migration that has
// no running workflow (the row is marked, so `run` refuses until resumed). Unique ids, no lock.
import { resolveSelector } from '../domain/selector';
import { patched, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Counts, JobState, Scope, VerifyCheck } from '../contracts/data-migrate';
import type { DataMigrationRequirement } from '../contracts/catalog';
import type { LiveState } from '../domain/data-migrations/gates';
import { catalogRequirements, noRequirementsMessage, requirementKey } from '../domain/data-migrations/gates';
import { serviceDatabase } from '../domain/catalog';
import { validateVersion } from '../contracts/version';
import { durationMs } from '../contracts/duration';
import { NON_RETRYABLE_FAILURES } from '../errors';
import { FwState } from '../temporal/search-attributes';
import { decide } from './util';

const act = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});
/**
 * verify and dry-run read whole tables (or ask the service to) and can take long on a big database: they heartbeat
 * every few seconds while they work (src/activities/heartbeat.ts), so a short heartbeat timeout notices a dead
 * worker and a generous start-to-close bounds the query. Option values need no patch (not history commands).
 */
export const SCAN_HEARTBEAT_TIMEOUT = '30 seconds';
const scanActivities = (heartbeatTimeout: string | undefined) =>
  proxyActivities<Activities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout:
      heartbeatTimeout === undefined ? SCAN_HEARTBEAT_TIMEOUT : decide(() => durationMs(heartbeatTimeout)),
    retry: { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
  });

/**
 * `scanHeartbeatTimeout` (verify, dry-run): how long the scan may go without a heartbeat before Temporal gives the
 * attempt up (default SCAN_HEARTBEAT_TIMEOUT). Tests shorten it to show a scan longer than it completes in one
 * attempt; operators have no reason to set it.
 */
export type DataControlInput =
  | { action: 'status' | 'pause' | 'resume'; cluster: string; service: string; id: string }
  | { action: 'verify'; cluster: string; service: string; id: string; scanHeartbeatTimeout?: string }
  | {
      action: 'dry-run';
      cluster: string;
      service: string;
      id: string;
      batchSize: number;
      scope?: Scope;
      scanHeartbeatTimeout?: string;
    }
  | { action: 'list'; cluster: string; toVersion: string };

export interface ListedRequirement {
  requirement: DataMigrationRequirement;
  key: string;
  live: LiveState;
}

export type DataControlResult =
  | { action: 'status' | 'pause' | 'resume'; job: JobState }
  | { action: 'verify'; checks: VerifyCheck[] }
  | { action: 'dry-run'; scopes: { scope: Scope; batch: Counts; done: boolean }[] }
  | { action: 'list'; target: string; requirements: ListedRequirement[]; message?: string; catalogError?: string };

/** Patch id: the run's FwState ends at "completed" instead of the "running" the CLI started it with. */
const FW_STATE_FINAL = 'data-control-fw-state-final';

export async function dataMigrationControl(input: DataControlInput): Promise<DataControlResult> {
  const result = await control(input);
  // Visibility (Web UI, `runs list`) must not show a finished read-only run as running.
  if (patched(FW_STATE_FINAL)) upsertSearchAttributes([{ key: FwState, value: 'completed' }]);
  return result;
}

async function control(input: DataControlInput): Promise<DataControlResult> {
  switch (input.action) {
    case 'status':
      return { action: 'status', job: await act.dmStatus(input) };
    case 'pause':
      return { action: 'pause', job: await act.dmSetStatus({ ...input, status: 'paused' }) };
    case 'resume':
      return { action: 'resume', job: await act.dmSetStatus({ ...input, status: 'pending' }) };
    case 'verify': {
      const { scanHeartbeatTimeout, ...ref } = input;
      return { action: 'verify', checks: await scanActivities(scanHeartbeatTimeout).dmVerify(ref) };
    }
    case 'dry-run': {
      const { scanHeartbeatTimeout, ...args } = input;
      return { action: 'dry-run', scopes: await scanActivities(scanHeartbeatTimeout).dmDryRun(args) };
    }
    case 'list': {
      const topology = await act.describeCluster({ cluster: input.cluster });
      const target =
        input.toVersion !== ''
          ? decide(() => validateVersion(input.toVersion, '--to-version'))
          : (
              await act.fetchReleaseSlice({
                cluster: input.cluster,
                ...resolveSelector(topology.channel),
                services: [],
              })
            ).platformVersion;
      const catalog = await act.loadCatalog({ cluster: input.cluster });
      if (!catalog.ok) return { action: 'list', target, requirements: [], catalogError: catalog.error };
      // All requirements up to the target, without the gates' windowing (reference §5.7).
      const reqs = decide(() => catalogRequirements(catalog.catalog, target));
      if (reqs.length === 0)
        return { action: 'list', target, requirements: [], message: noRequirementsMessage(catalog.catalog, target) };
      const live = await act.readDataMigrationStates({
        cluster: input.cluster,
        requirements: reqs.map((r) => {
          const owner = serviceDatabase(catalog.catalog, r.service);
          return { key: requirementKey(r), id: r.id, database: owner.declared ? owner.database : null };
        }),
      });
      return {
        action: 'list',
        target,
        requirements: reqs.map((r) => ({
          requirement: r,
          key: requirementKey(r),
          live: live[requirementKey(r)] ?? { kind: 'fetch_error', error: 'no state reported' },
        })),
      };
    }
  }
}
