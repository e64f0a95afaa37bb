// Release manifests: the full FrameWorks format parses, typos in any section are refused by key path, and the
// domain rules over a manifest (reference §2.1, §2.2, §2.5; checklist items 139–143).
import { describe, expect, it } from 'vitest';
import { parseReleaseManifest, type ReleaseManifest } from '../../src/contracts/release';
import {
  binaryForArch,
  bindManifestIdentity,
  getServiceInfo,
  IdentityMismatchError,
  isRollbackDisabled,
  validateServiceArtifacts,
} from '../../src/domain/release';
import { FailureType, InputError } from '../../src/errors';
import { fixture, hex64, inputError, issuePaths, misspell } from './support';

const FULL = fixture('release-manifest-full.yaml');
const SRC = 'releases/v0.3.0.yaml';

function minimal(extra = ''): string {
  return `platform_version: v0.3.0
git_commit: abc123
release_date: 2026-01-15T10:20:30Z
services:
  - name: commodore
    service_version: v0.3.0
    image: frameworks-commodore:v0.3.0
    digest: sha256:${hex64('a')}
${extra}`;
}

describe('the full release format', () => {
  it('parses every section and optional field', () => {
    const m = parseReleaseManifest(FULL, SRC);
    expect(m.platform_version).toBe('v0.3.0');
    expect(m.min_cli_version).toBe('v0.3.0-rc1');
    expect(m.required_transitions).toEqual(['storage-descriptor-adoption']);
    expect(m.rollback_disabled).toEqual(['purser']);
    expect(m.services.map((s) => s.name)).toEqual(['commodore', 'purser']);
    expect(m.services[0]!.images?.ghcr?.image).toBe('ghcr.io/livepeer-frameworks/frameworks-commodore:v0.3.0');
    expect(m.services[1]!.carried_from).toBe('v0.2.97');
    expect(m.native_binaries[0]!.artifacts[1]!.checksum).toMatch(/^sha512:[0-9a-f]{128}$/);
    expect(m.native_binaries[0]!.artifacts[0]!.size_bytes).toBe(18734112);
    expect(m.interfaces[0]!.static_bundle).toBe('chartroom-build.tar.gz');
    expect(m.infrastructure[1]!.artifacts?.[0]?.arch).toBe('linux-amd64');
  });

  it('keeps timestamps and version-like numbers as the text the file says', () => {
    const m = parseReleaseManifest(FULL, SRC);
    expect(m.release_date).toBe('2026-01-15T10:20:30Z');
    expect(m.infrastructure.map((i) => i.version)).toEqual(['18.4', '2025.2.3.0', '4.10']);
    expect(m.external_dependencies[0]!.release_tag).toBe('3.10');
  });

  it('is JSON-plain (survives a JSON round-trip unchanged)', () => {
    const m = parseReleaseManifest(FULL, SRC);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('preserves unknown keys of external dependencies (item 141)', () => {
    const dep = parseReleaseManifest(FULL, SRC).external_dependencies[0]!;
    expect(dep['build_flags']).toEqual(['lsp', 'webrtc']);
    expect(dep['notes']).toBe('kept verbatim by the parser');
  });

  it('lets sections other than the required four be absent', () => {
    const m = parseReleaseManifest(minimal(), SRC);
    expect(m.native_binaries).toEqual([]);
    expect(m.interfaces).toEqual([]);
    expect(m.infrastructure).toEqual([]);
    expect(m.external_dependencies).toEqual([]);
    expect(m.required_transitions).toEqual([]);
    expect(m.rollback_disabled).toEqual([]);
  });

  it.each([
    ['top level', [], 'min_cli_version', 'min_cli_versoin', 'min_cli_versoin'],
    ['top level', [], 'required_transitions', 'required_transition', 'required_transition'],
    ['top level', [], 'rollback_disabled', 'rollback_disable', 'rollback_disable'],
    ['services[]', ['services:'], 'digest', 'digst', 'services[0].digst'],
    ['services[].images', ['services:'], 'dockerhub', 'dockerhb', 'services[0].images.dockerhb'],
    ['services[].images.ghcr', ['services:', 'ghcr:'], 'digest', 'digset', 'services[0].images.ghcr.digset'],
    ['services[] (carried)', ['- name: purser'], 'carried_from', 'carried_form', 'services[1].carried_form'],
    ['native_binaries[]', ['native_binaries:'], 'source_hash', 'sourcehash', 'native_binaries[0].sourcehash'],
    ['artifacts[]', ['native_binaries:'], 'size_bytes', 'size_byte', 'native_binaries[0].artifacts[0].size_byte'],
    ['artifacts[]', ['arch: darwin-arm64'], 'file', 'fil', 'native_binaries[0].artifacts[1].fil'],
    ['interfaces[]', ['interfaces:'], 'static_bundle', 'static_bundel', 'interfaces[0].static_bundel'],
    ['interfaces[].images', ['interfaces:', 'ghcr:'], 'image', 'imag', 'interfaces[0].images.ghcr.imag'],
    ['infrastructure[]', ['infrastructure:'], 'image', 'imagee', 'infrastructure[0].imagee'],
    [
      'infrastructure[].artifacts[]',
      ['name: yugabyte'],
      'checksum',
      'checksums',
      'infrastructure[1].artifacts[0].checksums',
    ],
    [
      'external_dependencies[].binaries[]',
      ['external_dependencies:', 'binaries:'],
      'size_bytes',
      'sizebytes',
      'external_dependencies[0].binaries[0].sizebytes',
    ],
  ])('refuses a misspelt key in %s, naming %s', (_section, anchors, key, typo, path) => {
    const err = inputError(() => parseReleaseManifest(misspell(FULL, anchors, key, typo), SRC));
    expect(err.issues).toContainEqual({ path, message: 'unknown key' });
    expect(err.message).toContain(`${SRC}: `);
    expect(err.message).toContain(path);
  });
});

describe('strict decoding rules (item 141)', () => {
  it.each([
    ['min_cli_version: 0.3.0\n', 'min_cli_version'],
    ['min_cli_version: v0.3\n', 'min_cli_version'],
    ['min_cli_version: stable\n', 'min_cli_version'],
    ['required_transitions: [""]\n', 'required_transitions[0]'],
    ['required_transitions: [" padded"]\n', 'required_transitions[0]'],
    ['rollback_disabled: [""]\n', 'rollback_disabled[0]'],
    ['rollback_disabled: ["commodore "]\n', 'rollback_disabled[0]'],
    ['rollback_disabled: [chndler]\n', 'rollback_disabled[0]'],
    ['required_transitions: storage\n', 'required_transitions'],
  ])('refuses %j at %s', (extra, path) => {
    expect(issuePaths(inputError(() => parseReleaseManifest(minimal(extra), SRC)))).toContain(path);
  });

  it('refuses a non-canonical platform_version', () => {
    const err = inputError(() => parseReleaseManifest(minimal().replace('v0.3.0\n', '0.3.0\n'), SRC));
    expect(err.issues[0]).toMatchObject({ path: 'platform_version' });
    expect(err.message).toContain('leading "v"');
  });

  it.each([
    ['digest: sha256:abc', 'services[0].digest'],
    ['digest: md5:' + hex64('a').slice(0, 32), 'services[0].digest'],
    ['digest: sha256:' + hex64('A'), 'services[0].digest'],
  ])('refuses a malformed image digest (%s)', (line, path) => {
    const text = minimal().replace(/digest: .*/, line);
    expect(issuePaths(inputError(() => parseReleaseManifest(text, SRC)))).toContain(path);
  });

  it('refuses malformed artifact checksums', () => {
    const text = minimal(`native_binaries:
  - name: commodore
    artifacts:
      - { arch: linux-amd64, url: https://x/v0.3.0/a.tgz, checksum: "sha256:${hex64('a').slice(1)}" }
      - { arch: linux-arm64, url: https://x/v0.3.0/b.tgz, checksum: "sha1:${hex64('a').slice(24)}" }
      - { arch: darwin-arm64, url: https://x/v0.3.0/c.zip, checksum: "sha512:${hex64('a')}" }
`);
    expect(issuePaths(inputError(() => parseReleaseManifest(text, SRC)))).toEqual([
      'native_binaries[0].artifacts[0].checksum',
      'native_binaries[0].artifacts[1].checksum',
      'native_binaries[0].artifacts[2].checksum',
    ]);
  });

  it('refuses duplicate service names and duplicate arches', () => {
    const dup = minimal().replace(/services:\n([\s\S]*)$/, (_m, entry: string) => `services:\n${entry}${entry}`);
    expect(issuePaths(inputError(() => parseReleaseManifest(dup, SRC)))).toContain('services[1].name');
    const arches = minimal(`native_binaries:
  - name: commodore
    artifacts:
      - { arch: linux-amd64, url: https://x/v0.3.0/a.tgz, checksum: "sha256:${hex64('a')}" }
      - { arch: linux-amd64, url: https://x/v0.3.0/b.tgz, checksum: "sha256:${hex64('b')}" }
`);
    expect(issuePaths(inputError(() => parseReleaseManifest(arches, SRC)))).toContain(
      'native_binaries[0].artifacts[1].arch',
    );
  });

  it('reports every missing required field at once', () => {
    const err = inputError(() => parseReleaseManifest('platform_version: v0.3.0\n', SRC));
    expect(issuePaths(err)).toEqual(['git_commit', 'release_date', 'services']);
    expect(err.issues[0]!.message).toContain('missing required key');
  });
});

function manifest(over: Partial<ReleaseManifest> = {}): ReleaseManifest {
  return { ...parseReleaseManifest(FULL, SRC), ...over };
}

describe('bindManifestIdentity (item 142)', () => {
  it('accepts the exact tag', () => {
    const m = manifest();
    expect(bindManifestIdentity(m, 'v0.3.0', SRC)).toBe(m);
  });

  it.each([
    ['v0.3.0', 'v0.3.0+build.2'],
    ['v0.3.0+build.1', 'v0.3.0+build.2'],
    ['v0.3.0-rc1', 'v0.3.0'],
    ['v0.3.0', 'v0.3.1'],
  ])('refuses %s when %s was requested, naming both', (actual, expected) => {
    const err = inputError(() => bindManifestIdentity(manifest({ platform_version: actual }), expected, SRC));
    expect(err).toBeInstanceOf(IdentityMismatchError);
    expect((err as IdentityMismatchError).failureType).toBe(FailureType.IdentityMismatch);
    expect(err.source).toBe(SRC);
    expect(err.message).toContain(`"${actual}"`);
    expect(err.message).toContain(`"${expected}"`);
  });
});

describe('validateServiceArtifacts (item 140)', () => {
  it('allows carried services whose version differs from the platform version', () => {
    expect(() => validateServiceArtifacts(manifest())).not.toThrow();
  });

  it('refuses a native URL that does not carry the service version, naming service, arch and url', () => {
    const m = manifest();
    m.native_binaries[0]!.artifacts[0]!.url = 'https://releases.example.com/v0.2.99/frameworks-commodore.tar.gz';
    const err = inputError(() => validateServiceArtifacts(m, SRC));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe('native_binaries[0].artifacts[0].url');
    expect(err.message).toContain('commodore (linux-amd64)');
    expect(err.message).toContain('v0.2.99/frameworks-commodore.tar.gz');
    expect(err.message).toContain('v0.3.0');
  });

  it('holds a carried service to its own label, not to the platform version', () => {
    const m = manifest();
    m.native_binaries[1]!.artifacts[0]!.url = 'https://releases.example.com/v0.3.0/frameworks-purser-v0.3.0.tar.gz';
    expect(inputError(() => validateServiceArtifacts(m)).message).toContain('purser (linux-arm64)');
  });

  it('holds binary-only components to the platform version', () => {
    const m = manifest();
    m.native_binaries[2]!.artifacts[0]!.url = 'https://releases.example.com/v0.2.0/privateer.tar.gz';
    expect(inputError(() => validateServiceArtifacts(m)).message).toContain('privateer (linux-amd64)');
  });

  it('does not check releases before v0.2.40', () => {
    const m = manifest({ platform_version: 'v0.2.39' });
    m.native_binaries[0]!.artifacts[0]!.url = 'https://x/unversioned.tar.gz';
    expect(() => validateServiceArtifacts(m)).not.toThrow();
    m.platform_version = 'v0.2.40';
    expect(() => validateServiceArtifacts(m)).toThrow(InputError);
  });
});

describe('getServiceInfo (item 139)', () => {
  it('returns service_version verbatim for a carried service, with its origin', () => {
    const info = getServiceInfo(manifest(), 'purser')!;
    expect(info.kind).toBe('service');
    expect(info.version).toBe('v0.2.96');
    expect(info.carriedFrom).toBe('v0.2.97');
    expect(info.fullImage).toBe(`livepeerframeworks/frameworks-purser:v0.2.96@${info.digest}`);
    expect(info.binaries.map((b) => b.arch)).toEqual(['linux-arm64']);
  });

  it('collects native binaries by arch, preferring the url', () => {
    const info = getServiceInfo(manifest(), 'commodore')!;
    const amd64 = binaryForArch(info, 'linux-amd64')!;
    expect(amd64.url).toBe('https://releases.example.com/v0.3.0/frameworks-commodore-v0.3.0-linux-amd64.tar.gz');
    expect(amd64.file).toBe('frameworks-commodore-v0.3.0-linux-amd64.tar.gz');
    expect(amd64.size_bytes).toBe(18734112);
    expect(binaryForArch(info, 'linux-arm64')).toBeUndefined();
    expect(info.images?.dockerhub?.image).toBe('livepeerframeworks/frameworks-commodore:v0.3.0');
  });

  it('falls back to the platform version only when service_version is empty', () => {
    const m = manifest();
    m.services[0]!.service_version = '';
    expect(getServiceInfo(m, 'commodore')!.version).toBe('v0.3.0');
    expect(getServiceInfo(m, 'purser')!.version).toBe('v0.2.96');
  });

  it('finds interfaces with a pinned image and a never-empty version', () => {
    const m = manifest();
    const info = getServiceInfo(m, 'chartroom')!;
    expect(info.kind).toBe('interface');
    expect(info.version).toBe('v0.2.95');
    expect(info.staticBundle).toBe('chartroom-build.tar.gz');
    expect(info.fullImage).toMatch(/^livepeerframeworks\/frameworks-chartroom:v0\.2\.95@sha256:[0-9a-f]{64}$/);
    m.interfaces[0]!.service_version = '';
    expect(getServiceInfo(m, 'chartroom')!.version).toBe('v0.3.0');
  });

  it('serves binary-only components from native_binaries, without an image', () => {
    const info = getServiceInfo(manifest(), 'privateer')!;
    expect(info).toMatchObject({ kind: 'native', version: 'v0.3.0' });
    expect(info.fullImage).toBeUndefined();
    expect(info.binaries).toHaveLength(1);
  });

  it('looks in services before interfaces', () => {
    const m = manifest();
    m.interfaces.push({ ...m.interfaces[0]!, name: 'commodore', service_version: 'v9.9.9' });
    expect(getServiceInfo(m, 'commodore')!).toMatchObject({ kind: 'service', version: 'v0.3.0' });
  });

  it('returns undefined for a name the release does not ship', () => {
    expect(getServiceInfo(manifest(), 'mistserver')).toBeUndefined();
  });
});

describe('isRollbackDisabled (item 143)', () => {
  it('is true only for listed deploy names', () => {
    const m = manifest({ rollback_disabled: ['chartroom'] });
    expect(isRollbackDisabled(m, 'chartroom')).toBe(true);
    expect(isRollbackDisabled(m, 'commodore')).toBe(false);
  });
  it('an empty list disables nothing', () => {
    const m = manifest({ rollback_disabled: [] });
    expect(['commodore', 'purser', 'chartroom', ''].some((n) => isRollbackDisabled(m, n))).toBe(false);
  });
});
