// `cluster status` as a read-only workflow (id fw/<cluster>/status/<uuid>): the worker reads the target release
// and detects every service replica over SSH (the same detection the upgrade uses), probes the running ones
// through their host's SSH connection, and decides per replica purely (src/domain/status). Nothing changes.
import { proxyActivities, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ReleaseSlice } from '../contracts/plan';
import { ClusterStatusInputSchema, type ClusterStatusInput, type ClusterStatusResult } from '../contracts/status';
import { resolveSelector } from '../domain/selector';
import { attentionLines, replicaStatus } from '../domain/status/replicas';
import { failureMessage } from '../temporal/failures';
import { FwState, FwTargetVersion } from '../temporal/search-attributes';
import { decide, readOptions } from './util';

const acts = proxyActivities<Activities>(readOptions('2 minutes', 3));

export async function clusterStatus(rawInput: ClusterStatusInput): Promise<ClusterStatusResult> {
  const input = decide(() => ClusterStatusInputSchema.parse(rawInput));
  const resolved = decide(() => resolveSelector(input.selector));
  const topology = await acts.describeCluster({ cluster: input.cluster });
  const services = Object.keys(topology.services).sort();

  let release: ReleaseSlice | undefined;
  let releaseError: string | undefined;
  const [, detections, configs] = await Promise.all([
    acts
      .fetchReleaseSlice({ cluster: input.cluster, channel: resolved.channel, version: resolved.version, services })
      .then(
        (r) => (release = r),
        (err: unknown) => (releaseError = failureMessage(err)),
      ),
    acts.detectServices({ cluster: input.cluster, services }),
    acts.describeServiceConfigs({ cluster: input.cluster, services }),
  ]);

  const pairs = services.flatMap((service) => (detections[service] ?? []).map((d) => ({ service, d })));
  const health = await Promise.all(
    pairs.map(({ service, d }) =>
      d.running && !d.error
        ? acts.probeServiceHealth({ cluster: input.cluster, service, host: d.host })
        : Promise.resolve(undefined),
    ),
  );
  const replicas = decide(() =>
    pairs.map(({ service, d }, i) =>
      replicaStatus({
        service,
        host: d.host,
        mode: topology.services[service]!.mode,
        detection: d,
        ...(topology.hosts[d.host]?.arch ? { declaredArch: topology.hosts[d.host]!.arch } : {}),
        ...(health[i] ? { health: health[i] } : {}),
        target: release?.services[service] ?? null,
        ...(configs[service] ? { desiredConfigHash: configs[service] } : {}),
      }),
    ),
  );
  const attention = attentionLines(replicas, releaseError);
  upsertSearchAttributes([
    { key: FwTargetVersion, value: release?.platformVersion ?? resolved.version },
    { key: FwState, value: attention.length > 0 ? 'attention' : 'ok' },
  ]);
  const upgrades = replicas.filter((r) => r.upgradeAvailable).length;
  upsertMemo({
    summary: `${replicas.length} replica(s), ${upgrades} with an upgrade to ${release?.platformVersion ?? '?'}, ${attention.length} need attention`,
  });
  return {
    cluster: input.cluster,
    workerChannel: topology.channel,
    selector: input.selector,
    target: {
      channel: resolved.channel,
      version: resolved.version,
      platformVersion: release?.platformVersion ?? null,
      ...(release ? { source: release.source.path } : {}),
      ...(releaseError ? { error: releaseError } : {}),
    },
    replicas,
    attention,
  };
}
