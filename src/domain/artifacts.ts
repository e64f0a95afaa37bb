// Whether a release pins a service's artifact by content, decided per artifact. The release decoder accepts what
// the real format allows (a native artifact without a checksum, a service without a digest); the consequence
// lands here, on the one service that cannot be pinned, instead of refusing the whole release manifest.
import type { Artifact } from '../contracts/plan';

/** The only tarball pin the worker verifies (src/activities/hosts/tarball.ts hashes with SHA-256). */
const SHA256_PIN = /^sha256:[0-9a-f]{64}$/;
const IMAGE_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Why this native artifact cannot be installed pinned by content; empty when it can. Never passes on absence. */
export function artifactPinProblems(a: Artifact): string[] {
  const arch = a.arch || '(no arch)';
  const field = (key: string) => `native_binaries[].artifacts[].${key}`;
  const out: string[] = [];
  if (!a.arch) out.push(`a native artifact has no arch (${field('arch')}), so no host can be matched to it`);
  if (!a.url) out.push(`native artifact ${arch} has no url (${field('url')}): nothing to download`);
  if (!a.checksum) {
    out.push(`native artifact ${arch} has no checksum (${field('checksum')}): it cannot be pinned by content`);
  } else if (!SHA256_PIN.test(a.checksum)) {
    out.push(
      `native artifact ${arch} has checksum "${a.checksum}", not sha256:<64 lowercase hex>: ` +
        'the worker verifies tarballs by SHA-256 only, so it cannot be pinned by content',
    );
  }
  if (a.sizeBytes !== undefined && a.sizeBytes < 0) {
    out.push(`native artifact ${arch} has a negative size_bytes (${a.sizeBytes})`);
  }
  return out;
}

/** Why a docker service's image cannot be pulled pinned by content; empty when it can. */
export function imagePinProblems(image: string | undefined, digest: string | undefined): string[] {
  if (!image) return ['no docker image in the release manifest (services[].image)'];
  if (!digest) return [`image ${image} has no digest (services[].digest): images are pinned by digest`];
  if (!IMAGE_DIGEST.test(digest)) return [`image ${image} has digest "${digest}", not sha256:<64 lowercase hex>`];
  return [];
}

/** The content identity a native artifact pins, or null when it pins none (never "matches" anything). */
export function artifactIdentity(a: Artifact | undefined): string | null {
  return a?.checksum && SHA256_PIN.test(a.checksum) ? a.checksum : null;
}
