// "Digest missing from the registry" is a gate (SPEC §6): before any host changes, every pinned image must
// resolve in its registry. One HEAD request per image against the Docker Registry HTTP API v2; anything that
// cannot prove the manifest exists is a problem (fail closed). Plain HTTP is used only for registries on
// loopback or private addresses (the way Docker treats insecure local registries).
import { DOCKER_HUB, parseImageRef } from '../../domain/image-ref';
import { errorMessage } from '../../errors';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

function isPrivate(host: string): boolean {
  const h = host.replace(/:\d+$/, '');
  return (
    h === 'localhost' ||
    /^127\./.test(h) ||
    /^10\./.test(h) ||
    /^192\.168\./.test(h) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(h)
  );
}

async function head(url: string): Promise<number> {
  const res = await fetch(url, {
    method: 'HEAD',
    headers: { Accept: MANIFEST_TYPES },
    signal: AbortSignal.timeout(15_000),
  });
  return res.status;
}

/** undefined when the digest resolves; otherwise why it cannot be proven to. */
export async function checkRegistryDigest(ref: string): Promise<string | undefined> {
  let parsed;
  try {
    parsed = parseImageRef(ref);
  } catch (err) {
    return errorMessage(err);
  }
  if (parsed.digest === null) return `${ref}: not pinned by digest (expected <image>@sha256:<64 hex>)`;
  const r = { registry: parsed.registry ?? DOCKER_HUB, repository: parsed.path, digest: parsed.digest };
  const path = `/v2/${r.repository}/manifests/${r.digest}`;
  const schemes = isPrivate(r.registry) ? ['https', 'http'] : ['https'];
  let lastError = '';
  for (const scheme of schemes) {
    try {
      const status = await head(`${scheme}://${r.registry}${path}`);
      if (status === 200) return undefined;
      if (status === 404) return `${ref}: digest ${r.digest} not found in ${r.registry}/${r.repository}`;
      if (status === 401 || status === 403)
        return `${ref}: registry ${r.registry} refused anonymous access (HTTP ${status}); cannot prove the digest exists`;
      lastError = `HTTP ${status}`;
    } catch (err) {
      lastError = errorMessage(err);
    }
  }
  return `${ref}: cannot reach registry ${r.registry} to verify the digest (${lastError})`;
}
