// Host facts for `cluster rollback` (read-only, so a retried activity just reads again): each replica as it runs
// now (the upgrade's own detection) and whether the artifact of its pre-run identity is still on the host —
// native: `releases/<hex>` (kept by activation; an adopted provisioner binary is kept there too), docker: a local
// image with that registry digest. Nothing is downloaded or pulled; the plan refuses and names what is gone.
import type { LoadedCluster } from '../cluster-config';
import type { RollbackHostFacts } from '../../contracts/rollback';
import { identityHex, nativePaths } from '../../domain/hosts/commands';
import { detectNativeHost, type NativeDetectionAny } from './native-detect';
import { withHostSsh } from './ssh-session';
import { detectOnHost, notDetected, serviceRoot } from './upgrade';

export interface RollbackReplicaQuery {
  service: string;
  host: string;
  /** The pre-run identity the rollback would return to. */
  identity: string;
}

function localImage(cluster: LoadedCluster, host: string, digest: string): Promise<string | null> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = require('./rollback-docker') as typeof import('./rollback-docker');
  return m.findLocalImage(cluster, host, digest);
}

/** One native replica's facts from its detection. */
function nativeFacts(q: RollbackReplicaQuery, d: NativeDetectionAny): RollbackHostFacts {
  const release = nativePaths(q.service, serviceRoot()).release(q.identity);
  const present = d.staged.includes(identityHex(q.identity)) || d.identity === q.identity;
  return {
    service: q.service,
    host: q.host,
    detection: {
      host: q.host,
      present: d.present,
      identity: d.identity,
      version: d.version,
      configHash: d.configHash,
      running: d.running,
      arch: null,
    },
    artifact: { present, where: `${release} ${present ? 'is there' : 'is missing'}` },
  };
}

/**
 * The native replicas of one host, read by ONE remote command on one session (detectNativeHost: every service's
 * probe and status in one script; 2 to 4 commands per replica, one after another, before); a host that cannot be
 * reached, or a replica whose detection fails, is reported unreachable with the reason, as before.
 */
async function inspectNativeHost(
  cluster: LoadedCluster,
  host: string,
  qs: readonly RollbackReplicaQuery[],
): Promise<RollbackHostFacts[]> {
  const releaseOf = (q: RollbackReplicaQuery) => nativePaths(q.service, serviceRoot()).release(q.identity);
  try {
    return await withHostSsh(cluster, host, async (conn) => {
      const svcs = [...new Set(qs.map((q) => q.service))];
      const { found } = await detectNativeHost(conn, svcs, serviceRoot(), cluster.manifest.service_manager);
      return qs.map((q) => {
        const d = found[svcs.indexOf(q.service)]!;
        return d instanceof Error ? unreachable(q, d, releaseOf(q)) : nativeFacts(q, d);
      });
    });
  } catch (err) {
    return qs.map((q) => unreachable(q, err, releaseOf(q)));
  }
}

async function inspectDocker(cluster: LoadedCluster, q: RollbackReplicaQuery): Promise<RollbackHostFacts> {
  // Detection and the image lookup are independent reads, each over its own connection: both at once. A host that
  // cannot be detected is reported as such whatever the lookup did; otherwise a failed lookup fails the activity.
  const [detection, image] = await Promise.all([
    detectOnHost(cluster, { cluster: cluster.manifest.name, service: q.service, host: q.host }),
    localImage(cluster, q.host, q.identity).then(
      (ref) => ({ ref }),
      (err: unknown) => ({ err }),
    ),
  ]);
  if (detection.error) return { service: q.service, host: q.host, detection, artifact: { present: false, where: '' } };
  if ('err' in image) throw image.err;
  const { ref } = image;
  return {
    service: q.service,
    host: q.host,
    detection,
    artifact: {
      present: ref !== null,
      ...(ref ? { imageRef: ref } : {}),
      where: ref ? `image ${ref}` : `no image with digest ${q.identity} on ${q.host} (docker image prune?)`,
    },
  };
}

function unreachable(q: RollbackReplicaQuery, err: unknown, where: string): RollbackHostFacts {
  return { service: q.service, host: q.host, detection: notDetected(q.host, err), artifact: { present: false, where } };
}

export async function inspectRollbackHosts(
  cluster: LoadedCluster,
  replicas: readonly RollbackReplicaQuery[],
): Promise<RollbackHostFacts[]> {
  const nativeByHost = new Map<string, RollbackReplicaQuery[]>();
  const docker: RollbackReplicaQuery[] = [];
  for (const q of replicas) {
    if (cluster.manifest.services[q.service]?.mode === 'native') {
      nativeByHost.set(q.host, [...(nativeByHost.get(q.host) ?? []), q]);
    } else docker.push(q);
  }
  const found = (
    await Promise.all([
      ...[...nativeByHost].map(([host, qs]) => inspectNativeHost(cluster, host, qs)),
      ...docker.map(async (q) => [await inspectDocker(cluster, q)]),
    ])
  ).flat();
  // In the order asked for (the plan lists replicas as the run recorded them).
  const key = (f: { service: string; host: string }) => `${f.service}\0${f.host}`;
  const byKey = new Map(found.map((f) => [key(f), f]));
  return replicas.map((q) => byKey.get(key(q))!);
}
