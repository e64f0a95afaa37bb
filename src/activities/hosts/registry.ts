// "Digest missing from the registry" is a gate (SPEC §6): before any host changes, every pinned image must
// resolve in its registry. One HEAD request per image against the Docker Registry HTTP API v2; anything that
// cannot prove the manifest exists is a problem (fail closed). Plain HTTP is used only for registries on
// loopback or private addresses (the way Docker treats insecure local registries).
import { errorMessage } from '../../errors';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface ImageRef {
  registry: string;
  repository: string;
  digest: string;
}

export function parseImageRef(ref: string): ImageRef | undefined {
  const m = /^(.+)@(sha256:[0-9a-f]{64})$/.exec(ref);
  if (!m) return undefined;
  const name = m[1]!.replace(/:[^/:]+$/, ''); // drop the tag; the digest is what is pinned
  const first = name.split('/')[0]!;
  const hasRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) {
    return {
      registry: 'registry-1.docker.io',
      repository: name.includes('/') ? name : `library/${name}`,
      digest: m[2]!,
    };
  }
  return { registry: first, repository: name.slice(first.length + 1), digest: m[2]! };
}

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
  const r = parseImageRef(ref);
  if (!r) return `${ref}: not pinned by digest (expected <image>@sha256:<64 hex>)`;
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
