// createActivities(deps): the worker's activity implementations, closed over what the worker loaded (its
// clusters) and long-lived helpers (the release fetcher and its cache). Workflows import only the *type*.
import { ApplicationFailure } from '@temporalio/activity';
import type { CatalogLoadResult } from '../contracts/catalog-load';
import type { ClusterTopology, ReleaseSlice } from '../contracts/plan';
import { FailureType } from '../errors';
import { loadCatalogFor } from './catalog';
import { topologyOf, type LoadedCluster } from './cluster-config';
import { asActivity, failure } from './failures';
import { activitySignal, heartbeating, reading } from './heartbeat';
import { countedBatch } from './metrics';
import { fetchReleaseSliceWith } from './release';
import { findReleasesPinning } from './release-pins';
import { ReleaseFetchError, type ReleaseFetcher } from './release-repo';
import type { MigrationItem } from '../contracts/migrations';
import type { LiveState } from '../domain/data-migrations/gates';
import {
  applyFor,
  applyStretchFor,
  databaseStatesFor,
  dataMigrationStatesFor,
  discoverFor,
  previewsFor,
} from './migrations/activities';
import type { ApplyResult } from './postgres/apply';
import type { DatabaseState } from './postgres/state';
import type {
  Counts,
  DataMigrationStatus,
  JobState,
  PrepareResult,
  RunBatchInput,
  RunBatchResult,
  Scope,
  VerifyCheck,
} from '../contracts/data-migrate';
import * as dm from './data-migrations/activities';
import type { HostDetection, PinQuery, ReleasePins } from '../contracts/upgrade';
import * as up from './hosts/upgrade';
import { createBinaryOriginResolver, type BinaryOriginResolver } from './hosts/binary-identity';
import type { RollbackHostFacts } from '../contracts/rollback';
import { inspectRollbackHosts, type RollbackReplicaQuery } from './hosts/rollback';
import type { HostAccess } from '../contracts/doctor';
import { hostAccessFor } from './doctor/host-access';

export interface ActivityDeps {
  clusters: Record<string, LoadedCluster>;
  fetcher: ReleaseFetcher;
  /** Where the worker keeps downloaded artifacts (verified, content-addressed). */
  cacheDir: string;
}

export interface FetchReleaseSliceInput {
  cluster: string;
  channel: 'stable' | 'rc';
  version: string;
  services: string[];
}

export function createActivities(deps: ActivityDeps) {
  const clusterOf = (name: string): LoadedCluster => {
    const c = deps.clusters[name];
    if (!c) {
      throw failure(
        FailureType.UnknownCluster,
        `this worker does not serve cluster "${name}" (it serves: ${Object.keys(deps.clusters).join(', ') || 'none'}); ` +
          `start one with \`frameworks worker --manifest <${name} cluster.yaml>\``,
      );
    }
    return c;
  };

  // Per cluster, for the worker's life: which release tarball a provisioner-installed binary came from (memoized).
  const origins = new Map<string, BinaryOriginResolver>();
  const originFor = (name: string): BinaryOriginResolver => {
    let r = origins.get(name);
    if (!r) {
      const repositories = clusterOf(name).releaseRepositories;
      r = createBinaryOriginResolver({ fetcher: deps.fetcher, cacheDir: deps.cacheDir, repositories });
      origins.set(name, r);
    }
    return r;
  };

  /** A read (planning facts, gates, status): heartbeats when scheduled with a heartbeat timeout (`reading`). */
  const read = <T>(body: () => Promise<T> | T): Promise<T> => asActivity(() => reading(body));

  return {
    async describeCluster(input: { cluster: string }): Promise<ClusterTopology> {
      return read(() => topologyOf(clusterOf(input.cluster)));
    },

    async loadCatalog(input: { cluster: string }): Promise<CatalogLoadResult> {
      return read(() => loadCatalogFor(clusterOf(input.cluster)));
    },

    async fetchReleaseSlice(input: FetchReleaseSliceInput): Promise<ReleaseSlice> {
      return read(async () => {
        const cluster = clusterOf(input.cluster);
        try {
          return await fetchReleaseSliceWith(
            deps.fetcher,
            cluster.releaseRepositories,
            { channel: input.channel, version: input.version },
            input.services,
          );
        } catch (err) {
          // The fetcher already retried transient HTTP failures per repository. What remains is worth another
          // activity attempt only if some repository failed transiently (5xx, network); a 404, an identity
          // mismatch or a malformed manifest will not fix itself.
          if (err instanceof ReleaseFetchError) {
            throw ApplicationFailure.create({
              type: FailureType.ReleaseFetchFailed,
              message: err.message,
              nonRetryable: !err.retryable,
            });
          }
          throw err;
        }
      });
    },

    /**
     * For each detected (service, identity), the releases whose manifests pin exactly it (read-only). The upgrade
     * gate judges a replica's release line from this rather than from its version label (carried services).
     */
    async findReleasesPinning(input: {
      cluster: string;
      queries: PinQuery[];
      /** Release versions of the catalog the run loaded: the candidates of a repository that cannot be listed. */
      catalogVersions: string[];
    }): Promise<ReleasePins> {
      return read(() =>
        findReleasesPinning(
          deps.fetcher,
          clusterOf(input.cluster).releaseRepositories,
          input.catalogVersions,
          input.queries,
        ),
      );
    },

    /** Migration files of the cluster's migrations_dir, with layout problems (read-only). */
    async discoverMigrations(input: {
      cluster: string;
    }): Promise<{ items: MigrationItem[]; problems: string[]; unconfigured?: string }> {
      return read(() => discoverFor(clusterOf(input.cluster)));
    },

    /** Ledger and baseline marker per database; unreadable databases are reported, not thrown (read-only). */
    async readDatabaseStates(input: { cluster: string; databases: string[] }): Promise<DatabaseState[]> {
      return read(() => databaseStatesFor(clusterOf(input.cluster), input.databases));
    },

    /** `_data_migrations` status per requirement in its owning database (read-only). */
    async readDataMigrationStates(input: {
      cluster: string;
      requirements: { key: string; id: string; database: string | null }[];
    }): Promise<Record<string, LiveState>> {
      return read(() => dataMigrationStatesFor(clusterOf(input.cluster), input.requirements));
    },

    async previewMigrations(input: { cluster: string; relPaths: string[] }): Promise<Record<string, string[]>> {
      return read(() => {
        const cluster = clusterOf(input.cluster);
        return previewsFor(cluster, input.relPaths, discoverFor(cluster).items);
      });
    },

    /** Applies one migration; a no-op when the ledger already has it with the same checksum. */
    async applyMigration(input: { cluster: string; item: MigrationItem; holder: string }): Promise<ApplyResult> {
      return asActivity(() => applyFor(clusterOf(input.cluster), input.item, input.holder));
    },

    /**
     * Applies transactional migrations of one database back to back on one connection, each in its own
     * transaction with its ledger row, for up to `budgetMs`: the results of the first n items, in order. The
     * first item's failure is thrown; a later one's ends the stretch early (the next call starts there).
     */
    async applyMigrations(input: {
      cluster: string;
      items: MigrationItem[];
      holder: string;
      budgetMs: number;
    }): Promise<ApplyResult[]> {
      return asActivity(() => applyStretchFor(clusterOf(input.cluster), input.items, input.holder, input.budgetMs));
    },

    // ---- data migrations (SPEC §7) ----
    async dmPrepare(input: dm.MigrationRef & { scope?: Scope }): Promise<PrepareResult> {
      return read(() => dm.prepare(clusterOf(input.cluster), input, input.scope));
    },
    /** One batch + checkpoint advance in one transaction, compare-and-set on the expected checkpoint. */
    async dmRunBatch(input: RunBatchInput): Promise<RunBatchResult> {
      return asActivity(() => countedBatch(input, () => dm.batch(clusterOf(input.cluster), input)));
    },
    async dmSetStatus(input: dm.MigrationRef & { status: DataMigrationStatus; error?: string }): Promise<JobState> {
      return read(() => dm.setStatus(clusterOf(input.cluster), input, input.status, input.error));
    },
    async dmStatus(input: dm.MigrationRef): Promise<JobState> {
      return read(() => dm.status(clusterOf(input.cluster), input));
    },
    async dmVerify(input: dm.MigrationRef): Promise<VerifyCheck[]> {
      return asActivity(() => heartbeating(() => dm.verifyMigration(clusterOf(input.cluster), input)));
    },
    async dmDryRun(
      input: dm.MigrationRef & { batchSize: number; scope?: Scope },
    ): Promise<{ scope: Scope; batch: Counts; done: boolean }[]> {
      return asActivity(() =>
        heartbeating(() => dm.dryRun(clusterOf(input.cluster), input, input.batchSize, input.scope)),
      );
    },

    // ---- upgrades (SPEC §6) ----
    // Host steps (and detection across hosts, verify, dry-run) can run for minutes — an image pull, a tarball
    // download, upload and unpack, a service restart: they heartbeat while they work and stop when cancelled
    // (src/activities/heartbeat.ts), so the workflows' short heartbeat timeouts only catch a dead worker.
    /** What runs on every host of each service (read-only; unreachable hosts are reported, not thrown). */
    async detectServices(input: {
      cluster: string;
      services: string[];
      /** Host architectures the run already read (not read again). */
      archs?: Record<string, string>;
    }): Promise<Record<string, HostDetection[]>> {
      return asActivity(() =>
        heartbeating(() =>
          up.detectServicesOnHosts(clusterOf(input.cluster), input.services, originFor(input.cluster), input.archs),
        ),
      );
    },
    /** The hash of each service's rendered config (what activate will write). */
    async describeServiceConfigs(input: { cluster: string; services: string[] }): Promise<Record<string, string>> {
      return read(() => {
        const cluster = clusterOf(input.cluster);
        return up.configHashes(cluster, input.services);
      });
    },
    /** Registry digest checks; returns the problems (empty = every digest resolves). */
    async checkImageDigests(input: { cluster: string; refs: string[] }): Promise<string[]> {
      return read(() => up.digestProblems(input.refs));
    },
    async detectServiceOnHost(input: up.HostStepInput): Promise<HostDetection> {
      return asActivity(() =>
        heartbeating(() => up.detectOnHost(clusterOf(input.cluster), input, originFor(input.cluster))),
      );
    },
    async stageServiceOnHost(input: Parameters<typeof up.stageOnHost>[1]): Promise<{ action: string }> {
      return asActivity(() => heartbeating(() => up.stageOnHost(clusterOf(input.cluster), input, deps.cacheDir)));
    },
    async activateServiceOnHost(input: Parameters<typeof up.activateOnHost>[1]): Promise<{ action: string }> {
      return asActivity(() =>
        heartbeating(() => up.activateOnHost(clusterOf(input.cluster), input, originFor(input.cluster))),
      );
    },
    /** `pollForMs` (≤ 5 s): probe again every 50 ms on the host until healthy or that long (the quick phase). */
    async probeServiceHealth(
      input: up.HostStepInput & { pollForMs?: number },
    ): Promise<{ healthy: boolean; error?: string }> {
      return read(() => up.probeOnHost(clusterOf(input.cluster), input, activitySignal()));
    },
    async finalizeServiceOnHost(input: Parameters<typeof up.finalizeOnHost>[1]): Promise<void> {
      return asActivity(() => heartbeating(() => up.finalizeOnHost(clusterOf(input.cluster), input)));
    },
    async rollbackServiceOnHost(input: Parameters<typeof up.rollbackOnHost>[1]): Promise<{ action: string }> {
      return asActivity(() =>
        heartbeating(() => up.rollbackOnHost(clusterOf(input.cluster), input, originFor(input.cluster))),
      );
    },

    // ---- rollback (issue 12 item 4) ----
    /** Each replica as it runs now and whether its pre-run artifact is still on the host (read-only). */
    async inspectRollbackHosts(input: {
      cluster: string;
      replicas: RollbackReplicaQuery[];
    }): Promise<RollbackHostFacts[]> {
      return read(() => inspectRollbackHosts(clusterOf(input.cluster), input.replicas));
    },

    // ---- doctor (SPEC §8) ----
    /** SSH reachability per host and, per replica, the command that shows its state (read-only). */
    async checkHostAccess(input: { cluster: string }): Promise<HostAccess> {
      return read(() => hostAccessFor(clusterOf(input.cluster)));
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
