// Pure decisions over a parsed release manifest: identity binding, artifact/version consistency, and the
// per-service view used to plan an upgrade (reference §2.2, §2.5).
import { FailureType, InputError } from '../errors';
import type { InputIssue } from '../errors';
import { parseReleaseManifest, type ReleaseArtifact, type ReleaseManifest } from '../contracts/release';
import { versionProblem } from '../contracts/version';

/** A fetched manifest that is not the release it was asked for. Still an InputError (bad fetched input). */
export class IdentityMismatchError extends InputError {
  readonly failureType = FailureType.IdentityMismatch;
}

/**
 * The manifest must carry exactly the requested tag, byte for byte: `v1.2.3+b1` is not `v1.2.3+b2` even though
 * they share precedence, because a repository that serves the wrong file must never be deployed from. The decoder
 * leaves platform_version unjudged (as the reference's does); here it must also be a canonical version.
 */
export function bindManifestIdentity(
  manifest: ReleaseManifest,
  expectedVersion: string,
  source: string,
): ReleaseManifest {
  const problem = versionProblem(manifest.platform_version);
  if (problem) {
    throw new IdentityMismatchError(source, [
      { path: 'platform_version', message: `${problem}; a release manifest must name its own concrete tag` },
    ]);
  }
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

/**
 * Whether the reference applies its artifact-URL check to a release (its supportsServiceArtifactValidation):
 * from v0.2.40 on — and, because it reads the patch field as a plain integer, to any tag whose first three dot
 * fields are not all integers, which includes every prerelease of 0.2.x (`v0.2.3-rc1` has patch `3-rc1`).
 */
export function artifactUrlCheckApplies(platformVersion: string): boolean {
  const parts = platformVersion.trim().replace(/^v/, '').split('.');
  if (parts.length < 3) return true;
  const nums = parts.slice(0, 3).map((p) => (/^[+-]?\d+$/.test(p) ? Number(p) : NaN));
  if (nums.some((n) => Number.isNaN(n) || !Number.isSafeInteger(n))) return true;
  const [major, minor, patch] = nums as [number, number, number];
  if (major !== 0) return major > 0;
  if (minor !== 2) return minor > 2;
  return patch >= 40;
}

/**
 * The reference's ValidateServiceArtifacts: every native artifact URL of a `services[]` entry must contain that
 * service's own `service_version` (the platform_version when it is empty). Holding carried services to their own
 * label is what lets their tarballs keep older URLs. Interfaces and binary-only components (privateer) are not
 * checked, and an artifact without a URL is left to the artifact gate. One issue per native_binaries entry (the
 * problem is the entry's label, not each arch), at the first offending URL, naming the others.
 */
export function validateServiceArtifacts(manifest: ReleaseManifest, source?: string): void {
  if (!artifactUrlCheckApplies(manifest.platform_version)) return;
  const issues: InputIssue[] = [];
  const seen = new Set<number>();
  for (const svc of manifest.services) {
    const fromPlatform = svc.service_version.trim() === '';
    const version = fromPlatform ? manifest.platform_version.trim() : svc.service_version.trim();
    if (version === '') continue;
    manifest.native_binaries.forEach((nb, i) => {
      if (nb.name !== svc.name || seen.has(i)) return;
      seen.add(i);
      const bad = nb.artifacts.flatMap((a, j) => (a.url && !a.url.includes(version) ? [{ a, j }] : []));
      const first = bad[0];
      if (!first) return;
      const others = bad.slice(1).map(({ a, j }) => `artifacts[${j}] (${a.arch ?? 'no arch'})`);
      issues.push({
        path: `native_binaries[${i}].artifacts[${first.j}].url`,
        message:
          `${svc.name} (${first.a.arch ?? 'no arch'}): url ${first.a.url!} does not contain the service's version ` +
          `${version}${fromPlatform ? ' (its platform_version: service_version is empty)' : ' (its service_version)'}` +
          (others.length > 0 ? `; likewise ${others.join(', ')}` : ''),
      });
    });
  }
  if (issues.length > 0) throw new InputError(source ?? `release ${manifest.platform_version}`, issues);
}

/**
 * Everything a fetched manifest must pass before anything uses it, in the reference's order: decode and
 * compatibility metadata, identity against the requested (or pointed-to) tag, artifact URLs.
 */
export function validateReleaseManifest(text: string, source: string, expectedVersion: string): ReleaseManifest {
  const manifest = parseReleaseManifest(text, source);
  bindManifestIdentity(manifest, expectedVersion, source);
  validateServiceArtifacts(manifest, source);
  return manifest;
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
   * Native tarballs from `native_binaries` of the same name, in manifest order (a list rather than a record keeps
   * the order stable in workflow payloads). Entries may lack url or checksum, or repeat an arch: the decoder keeps
   * what the file says and the artifact gate refuses the service that cannot be content-pinned.
   */
  binaries: ReleaseArtifact[];
  carriedFrom?: string;
  sourceHash?: string;
}

/** The tarball for one host arch (`linux-amd64`), if the release has one. */
export function binaryForArch(info: ServiceInfo, arch: string): ReleaseArtifact | undefined {
  return info.binaries.find((b) => b.arch === arch);
}

/** Go's zero value and an absent key mean the same thing to every consumer. */
const present = (s: string | undefined): string | undefined => (s ? s : undefined);

/** Looks a deploy name up in services, then interfaces, then native_binaries (binary-only, e.g. privateer). */
export function getServiceInfo(manifest: ReleaseManifest, name: string): ServiceInfo | undefined {
  const native = manifest.native_binaries.find((b) => b.name === name);
  const binaries = (native?.artifacts ?? []).map((a) => ({ ...a }));
  const service = manifest.services.find((s) => s.name === name);
  const iface = service ? undefined : manifest.interfaces.find((s) => s.name === name);
  const entry = service ?? iface;
  if (entry) {
    const carriedFrom = present(entry.carried_from) ?? present(native?.carried_from);
    const sourceHash = present(entry.source_hash) ?? present(native?.source_hash);
    const image = present(entry.image);
    const digest = present(entry.digest);
    return {
      name,
      kind: service ? 'service' : 'interface',
      version: entry.service_version || manifest.platform_version,
      ...(image !== undefined && { image }),
      ...(digest !== undefined && { digest }),
      ...(image !== undefined && digest !== undefined && { fullImage: `${image}@${digest}` }),
      ...(entry.images !== undefined && { images: entry.images }),
      ...(present(iface?.static_bundle) !== undefined && { staticBundle: iface!.static_bundle! }),
      binaries,
      ...(carriedFrom !== undefined && { carriedFrom }),
      ...(sourceHash !== undefined && { sourceHash }),
    };
  }
  if (!native) return undefined;
  return {
    name,
    kind: 'native',
    version: manifest.platform_version,
    binaries,
    ...(present(native.carried_from) !== undefined && { carriedFrom: native.carried_from! }),
    ...(present(native.source_hash) !== undefined && { sourceHash: native.source_hash! }),
  };
}

/** Automatic rollback is off for this deploy name in this release (an empty list disables nothing). */
export function isRollbackDisabled(manifest: ReleaseManifest, name: string): boolean {
  return manifest.rollback_disabled.includes(name);
}
