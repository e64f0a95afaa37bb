// Docker side of `cluster rollback`'s host check: is the image of the pre-run digest still on the host? Loaded
// lazily (dockerode), like docker-upgrade.ts.
import type { LoadedCluster } from '../cluster-config';
import { errorMessage, FailureType } from '../../errors';
import { failure } from '../failures';
import { dockerOverSsh } from './docker';
import { hostConnectOptions } from './ssh-session';

/** `repository@digest` of a local image carrying `digest` (a registry digest), or null when none does. */
export async function findLocalImage(cluster: LoadedCluster, host: string, digest: string): Promise<string | null> {
  const docker = dockerOverSsh(hostConnectOptions(cluster, host));
  let images: { RepoDigests?: string[] | null }[];
  try {
    images = await docker.listImages({ digests: true });
  } catch (err) {
    throw failure(FailureType.HostCommandFailed, `docker on ${host}: list images: ${errorMessage(err)}`);
  }
  for (const img of images) {
    const ref = (img.RepoDigests ?? []).find((d) => d.endsWith(`@${digest}`));
    if (ref) return ref;
  }
  return null;
}
