// `cluster doctor`'s worker-side checks as a read-only workflow (id fw/<cluster>/doctor/<uuid>): the target
// release, databases, SSH to every host, every service replica probed through its host's SSH connection, the
// migration ledger of every database against the migration files up to the target, and the data-migration
// blockers. Facts come from activities (the same reads the gates use); verdicts are pure (src/domain/doctor).
import { proxyActivities, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CatalogLoadResult } from '../contracts/catalog-load';
import {
  ClusterDoctorInputSchema,
  type ClusterDoctorInput,
  type ClusterDoctorResult,
  type DoctorCheck,
} from '../contracts/doctor';
import type { ReleaseSlice } from '../contracts/plan';
import { serviceDatabase } from '../domain/catalog';
import { catalogRequirements, requirementKey } from '../domain/data-migrations/gates';
import {
  check,
  dataMigrationCheck,
  databaseChecks,
  hostChecks,
  ledgerChecks,
  serviceChecks,
} from '../domain/doctor/cluster-checks';
import { summarize } from '../domain/doctor/local-checks';
import { resolveSelector } from '../domain/selector';
import { failureMessage } from '../temporal/failures';
import { FwState, FwTargetVersion } from '../temporal/search-attributes';
import { decide, readOptions } from './util';

const acts = proxyActivities<Activities>(readOptions('2 minutes', 3));

export async function clusterDoctor(rawInput: ClusterDoctorInput): Promise<ClusterDoctorResult> {
  const input = decide(() => ClusterDoctorInputSchema.parse(rawInput));
  const resolved = decide(() => resolveSelector(input.selector));
  const cluster = input.cluster;
  const topology = await acts.describeCluster({ cluster });
  const services = Object.keys(topology.services).sort();

  let release: ReleaseSlice | undefined;
  let releaseError: string | undefined;
  const [catalog, , migrations, access, ledgers] = await Promise.all([
    acts.loadCatalog({ cluster }),
    acts.fetchReleaseSlice({ cluster, channel: resolved.channel, version: resolved.version, services }).then(
      (r) => (release = r),
      (err: unknown) => (releaseError = failureMessage(err)),
    ),
    acts.discoverMigrations({ cluster }),
    acts.checkHostAccess({ cluster }),
    topology.databases.length > 0
      ? acts.readDatabaseStates({ cluster, databases: topology.databases })
      : Promise.resolve([]),
  ]);
  const target = release?.platformVersion ?? (resolved.version === 'latest' ? null : resolved.version);

  const reachable = new Set(access.hosts.filter((h) => h.reachable).map((h) => h.host));
  const replicas = services.flatMap((service) => topology.services[service]!.hosts.map((host) => ({ service, host })));
  const [probes, states] = await Promise.all([
    Promise.all(
      replicas.map(async (r) =>
        reachable.has(r.host) ? { ...r, result: await acts.probeServiceHealth({ cluster, ...r }) } : r,
      ),
    ),
    readStates(cluster, catalog, target),
  ]);

  const checks: DoctorCheck[] = [
    releaseError
      ? check('target', 'infrastructure', 'target release', 'degraded', releaseError, {
          fix: [
            `check release_repositories in cluster.yaml; \`frameworks cluster upgrade plan --version ${input.selector}\` shows the fetch`,
          ],
        })
      : check(
          'target',
          'infrastructure',
          'target release',
          'healthy',
          `${target} (${input.selector}) from ${release?.source.path}`,
        ),
    ...databaseChecks(
      ledgers.map((l) => l.ledger),
      undefined,
    ),
    ...hostChecks(access),
    ...serviceChecks(probes, access),
    ...decide(() =>
      ledgerChecks({
        items: migrations.items,
        ledgers: ledgers.map((l) => l.ledger),
        target,
        ...(catalog.ok && catalog.catalog.schema_migration_floor
          ? { floor: catalog.catalog.schema_migration_floor }
          : {}),
      }),
    ),
    decide(() => dataMigrationCheck({ catalog, target, states })),
  ];
  const verdict = summarize(checks);
  upsertSearchAttributes([
    { key: FwTargetVersion, value: target ?? input.selector },
    { key: FwState, value: verdict.status },
  ]);
  upsertMemo({
    summary: `${verdict.status}: ${verdict.summary.healthy} healthy, ${verdict.summary.degraded} degraded, ${verdict.summary.unhealthy} unhealthy`,
  });
  return { cluster, workerChannel: topology.channel, target, checks };
}

async function readStates(cluster: string, catalog: CatalogLoadResult, target: string | null) {
  if (!catalog.ok || !target) return {};
  const reqs = decide(() => catalogRequirements(catalog.catalog, target));
  if (reqs.length === 0) return {};
  return acts.readDataMigrationStates({
    cluster,
    requirements: reqs.map((r) => {
      const owner = serviceDatabase(catalog.catalog, r.service);
      return { key: requirementKey(r), id: r.id, database: owner.declared ? owner.database : null };
    }),
  });
}
