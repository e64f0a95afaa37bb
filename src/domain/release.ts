// Pure decisions over a parsed release manifest: identity binding, artifact/version consistency, and the
// per-service view used to plan an upgrade (reference §2.2, §2.5).
import { FailureType, InputError } from '../errors';
import type { InputIssue } from '../errors';
import type { ReleaseArtifact, ReleaseManifest } from '../contracts/release';
import { compareVersions } from './version';

/** A fetched manifest that is not the release it was asked for. Still an InputError (bad fetched input). */
export class IdentityMismatchError extends InputError {
  readonly failureType = FailureType.IdentityMismatch;
}

/**
 * The manifest must carry exactly the requested tag, byte for byte: `v1.2.3+b1` is not `v1.2.3+b2` even though
 * they share precedence, because a repository that serves the wrong file must never be deployed from.
 */
export function bindManifestIdentity(
  manifest: ReleaseManifest,
  expectedVersion: string,
  source: string,
): ReleaseManifest {
  if (manifest.platform_version !== expectedVersion) {
    throw new IdentityMismatchError(source, [
      {
        path: 'platform_version',
        message: `manifest declares ${JSON.stringify(manifest.platform_version)} but ${JSON.stringify(expectedVersion)} was requested; refusing a manifest whose identity does not match exactly`,
      },
    ]);
  }
  return manifest;
}

/** Releases from here on name every native tarball after the service's own version label. */
const ARTIFACT_VERSION_CHECK_FROM = 'v0.2.40';

/**
 * Each native artifact URL must contain its service's own `service_version`. Checking against the platform
 * version instead would reject every carried service, whose tarballs legitimately keep their older label.
 */
export function validateServiceArtifacts(manifest: ReleaseManifest, source?: string): void {
  if (compareVersions(manifest.platform_version, ARTIFACT_VERSION_CHECK_FROM) < 0) return;
  const labels = new Map<string, string>();
  for (const entry of [...manifest.interfaces, ...manifest.services]) {
    labels.set(entry.name, entry.service_version || manifest.platform_version);
  }

  const issues: InputIssue[] = [];
  manifest.native_binaries.forEach((nb, i) => {
    // A carried binary-only component (no service entry) has no label to hold its old URLs to.
    const expected = labels.get(nb.name) ?? (nb.carried_from ? undefined : manifest.platform_version);
    if (!expected) return;
    nb.artifacts.forEach((a, j) => {
      if (!a.url.includes(expected)) {
        issues.push({
          path: `native_binaries[${i}].artifacts[${j}].url`,
          message: `${nb.name} (${a.arch}): url ${a.url} does not contain the service's version ${expected}`,
        });
      }
    });
  });
  if (issues.length > 0) throw new InputError(source ?? `release ${manifest.platform_version}`, issues);
}

export interface ServiceInfo {
  name: string;
  /** Which manifest section answered the lookup. */
  kind: 'service' | 'interface' | 'native';
  /** The label to compare with what runs: `service_version` verbatim, platform_version only when empty. */
  version: string;
  image?: string;
  digest?: string;
  /** `image@digest`: what a docker host pulls, pinned by content. */
  fullImage?: string;
  images?: ReleaseManifest['services'][number]['images'];
  staticBundle?: string;
  /**
   * Native tarballs from `native_binaries` of the same name, one per arch (the schema refuses duplicate arches),
   * in manifest order; a list rather than a record keeps the order stable in workflow payloads.
   */
  binaries: ReleaseArtifact[];
  carriedFrom?: string;
  sourceHash?: string;
}

/** The tarball for one host arch (`linux-amd64`), if the release has one. */
export function binaryForArch(info: ServiceInfo, arch: string): ReleaseArtifact | undefined {
  return info.binaries.find((b) => b.arch === arch);
}

/** Looks a deploy name up in services, then interfaces, then native_binaries (binary-only, e.g. privateer). */
export function getServiceInfo(manifest: ReleaseManifest, name: string): ServiceInfo | undefined {
  const binaries = (manifest.native_binaries.find((b) => b.name === name)?.artifacts ?? []).map((a) => ({ ...a }));
  const service = manifest.services.find((s) => s.name === name);
  const iface = service ? undefined : manifest.interfaces.find((s) => s.name === name);
  const entry = service ?? iface;
  if (entry) {
    const native = manifest.native_binaries.find((b) => b.name === name);
    const carriedFrom = entry.carried_from ?? native?.carried_from;
    const sourceHash = entry.source_hash ?? native?.source_hash;
    return {
      name,
      kind: service ? 'service' : 'interface',
      version: entry.service_version || manifest.platform_version,
      image: entry.image,
      digest: entry.digest,
      fullImage: `${entry.image}@${entry.digest}`,
      ...(entry.images !== undefined && { images: entry.images }),
      ...(iface?.static_bundle !== undefined && { staticBundle: iface.static_bundle }),
      binaries,
      ...(carriedFrom !== undefined && { carriedFrom }),
      ...(sourceHash !== undefined && { sourceHash }),
    };
  }
  const native = manifest.native_binaries.find((b) => b.name === name);
  if (!native) return undefined;
  return {
    name,
    kind: 'native',
    version: manifest.platform_version,
    binaries,
    ...(native.carried_from !== undefined && { carriedFrom: native.carried_from }),
    ...(native.source_hash !== undefined && { sourceHash: native.source_hash }),
  };
}

/** Automatic rollback is off for this deploy name in this release (an empty list disables nothing). */
export function isRollbackDisabled(manifest: ReleaseManifest, name: string): boolean {
  return manifest.rollback_disabled.includes(name);
}
