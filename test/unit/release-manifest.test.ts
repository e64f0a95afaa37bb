// Release manifests: the full FrameWorks format parses, typos in any section are refused by key path, and the
// domain rules over a manifest (reference §2.1, §2.2, §2.5; checklist items 139–143).
import { describe, expect, it } from 'vitest';
import { parseReleaseManifest, type ReleaseManifest } from '../../src/contracts/release';
import {
  artifactUrlCheckApplies,
  binaryForArch,
  bindManifestIdentity,
  getServiceInfo,
  IdentityMismatchError,
  isRollbackDisabled,
  validateReleaseManifest,
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

  it('lets every section be absent', () => {
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

const D = (c: string): string => `sha256:${hex64(c)}`;

// --- Our own manifests in the shape of each range of the published history (reference §5.2) -----------------

/** v0.0.0-rc1 … v0.2.2-rc3: infrastructure entries describe version policy instead of pinning a `version`. */
const PRE_V023 = `platform_version: v0.2.2-rc3
git_commit: 5d1e0c4b
release_date: 2025-12-01T09:00:00Z
services:
  - name: commodore
    service_version: v0.2.2-rc3
    image: ghcr.io/livepeer-frameworks/frameworks-commodore:v0.2.2-rc3
    digest: ${D('1')}
native_binaries:
  - name: commodore
    artifacts:
      - arch: linux-amd64
        file: frameworks-commodore-v0.2.2-rc3-linux-amd64.tar.gz
interfaces: []
infrastructure:
  - name: postgresql
    tested_version: "16"
    minimum_version: "15"
    notes: any supported major
  - name: kafka
    dev_version: 3.7.0
    prod_version: 3.7.0
    prod_alternative: redpanda
external_dependencies:
  - name: mistserver
    release_tag: v3.4
`;

/** v0.2.3-rc1 … v0.2.6-rc1: labels say 0.2.0, tarball URLs say the tag; v0.2.3-rc1's tarballs carry no checksum. */
const RC_V023 = `platform_version: v0.2.3-rc1
git_commit: 77aa01f3
release_date: 2026-01-10T12:00:00Z
services:
  - name: commodore
    service_version: 0.2.0
    image: ghcr.io/livepeer-frameworks/frameworks-commodore:v0.2.3-rc1
    digest: ${D('2')}
  - name: foghorn
    service_version: 0.2.0
    image: ghcr.io/livepeer-frameworks/frameworks-foghorn:v0.2.3-rc1
    digest: ${D('3')}
native_binaries:
  - name: commodore
    artifacts:
      - arch: linux-amd64
        file: frameworks-commodore-v0.2.3-rc1-linux-amd64.tar.gz
        url: https://dl.example.com/v0.2.3-rc1/frameworks-commodore-v0.2.3-rc1-linux-amd64.tar.gz
        size_bytes: 1000
      - arch: linux-arm64
        file: frameworks-commodore-v0.2.3-rc1-linux-arm64.tar.gz
        url: https://dl.example.com/v0.2.3-rc1/frameworks-commodore-v0.2.3-rc1-linux-arm64.tar.gz
  - name: foghorn
    artifacts:
      - arch: linux-amd64
        url: https://dl.example.com/v0.2.3-rc1/frameworks-foghorn-v0.2.3-rc1-linux-amd64.tar.gz
infrastructure:
  - name: postgresql
    version: 18.4
    image: pgvector/pgvector:0.8.1-pg18
    digest: ${D('4')}
`;

/** v0.2.7 … v0.2.13: labels still 0.2.0 (unchecked below v0.2.40); external binaries carry no checksum. */
const STABLE_V027 = `platform_version: v0.2.7
git_commit: 9c0ffee1
release_date: 2026-02-01T08:30:00Z
services:
  - name: commodore
    service_version: 0.2.0
    image: livepeerframeworks/frameworks-commodore:v0.2.7
    digest: ${D('5')}
native_binaries:
  - name: commodore
    artifacts:
      - arch: linux-amd64
        file: frameworks-commodore-v0.2.7-linux-amd64.tar.gz
        url: https://dl.example.com/v0.2.7/frameworks-commodore-v0.2.7-linux-amd64.tar.gz
        checksum: ${D('6')}
interfaces:
  - name: chartroom
    image: livepeerframeworks/frameworks-chartroom:v0.2.7
    digest: ${D('7')}
    static_bundle: chartroom-build.tar.gz
infrastructure:
  - name: yugabyte
    version: 2025.2.3.0
    artifacts:
      - arch: linux-amd64
        url: https://downloads.example.com/yugabyte-2025.2.3.0-linux-x86_64.tar.gz
        checksum: ${D('8')}
external_dependencies:
  - name: mistserver
    release_url: https://example.com/mistserver/releases/tag/v3.10
    release_tag: 3.10
    binaries:
      - name: mistserver-linux-amd64-v3.10.tar.gz
        url: https://example.com/mistserver/v3.10/mistserver-linux-amd64-v3.10.tar.gz
        size_bytes: 12345
`;

/** v0.2.21 on: images per registry. */
const IMAGES_V0221 = STABLE_V027.replaceAll('v0.2.7', 'v0.2.21').replace(
  `    digest: ${D('5')}\n`,
  `    digest: ${D('5')}
    images:
      dockerhub:
        image: livepeerframeworks/frameworks-commodore:v0.2.21
        digest: ${D('5')}
      ghcr:
        image: ghcr.io/livepeer-frameworks/frameworks-commodore:v0.2.21
        digest: ${D('9')}
`,
);

/** v0.2.43 on: source_hash everywhere; a carried service keeps its older label and tarball URLs (checked ≥ v0.2.40). */
const CARRIED_V0243 = `platform_version: v0.2.43
git_commit: 0b5e55ed
release_date: 2026-05-05T05:05:05Z
services:
  - name: commodore
    service_version: v0.2.43
    image: livepeerframeworks/frameworks-commodore:v0.2.43
    digest: ${D('a')}
    source_hash: ${hex64('b')}
  - name: purser
    service_version: v0.2.41
    image: livepeerframeworks/frameworks-purser:v0.2.41
    digest: ${D('c')}
    source_hash: ${hex64('d')}
    carried_from: v0.2.42
native_binaries:
  - name: purser
    source_hash: ${hex64('d')}
    carried_from: v0.2.42
    artifacts:
      - arch: linux-amd64
        file: frameworks-purser-v0.2.41-linux-amd64.tar.gz
        url: https://dl.example.com/v0.2.41/frameworks-purser-v0.2.41-linux-amd64.tar.gz
        checksum: ${D('e')}
  - name: commodore
    source_hash: ${hex64('b')}
    artifacts:
      - arch: linux-amd64
        url: https://dl.example.com/v0.2.43/frameworks-commodore-v0.2.43-linux-amd64.tar.gz
        checksum: ${D('f')}
`;

/** v0.2.96: compatibility metadata; interfaces labelled; sections and entries in another order than usual. */
const COMPAT_V0296 = `git_commit: 4ac0ffee
external_dependencies:
  - name: go-livepeer
    image: ghcr.io/livepeer-frameworks/go-livepeer:v0.2.16
    digest: ${D('1')}
    release_tag: v0.2.16
    upstream_commit: 1234abcd
    build_flags: [cgo]
    binaries:
      - name: livepeer-linux-amd64.tar.gz
        url: https://example.com/go-livepeer/v0.2.16/livepeer-linux-amd64.tar.gz
        checksum: ${D('2')}
interfaces:
  - name: logbook
    service_version: v0.2.96
    image: livepeerframeworks/frameworks-logbook:v0.2.96
    digest: ${D('3')}
  - name: chartroom
    service_version: v0.2.95
    image: livepeerframeworks/frameworks-chartroom:v0.2.95
    digest: ${D('4')}
    carried_from: v0.2.95
platform_version: v0.2.96
min_cli_version: v0.2.96-rc1
required_transitions:
  - storage-descriptor-adoption
rollback_disabled:
  - chandler
release_date: 2026-08-19T16:59:42Z
native_binaries:
  - name: privateer
    artifacts:
      - arch: linux-arm64
        file: frameworks-privateer-v0.2.96-linux-arm64.tar.gz
        url: https://dl.example.com/v0.2.96/frameworks-privateer-v0.2.96-linux-arm64.tar.gz
        checksum: ${D('5')}
        size_bytes: 9000000
  - name: chandler
    artifacts:
      - arch: linux-amd64
        url: https://dl.example.com/v0.2.96/frameworks-chandler-v0.2.96-linux-amd64.tar.gz
        checksum: ${D('6')}
services:
  - name: chandler
    service_version: v0.2.96
    image: livepeerframeworks/frameworks-chandler:v0.2.96
    digest: ${D('7')}
infrastructure:
  - name: kafka
    version: 4.2.0
    artifacts:
      - arch: linux-amd64
        url: https://archive.example.com/kafka/4.2.0/kafka_2.13-4.2.0.tgz
        checksum: sha512:${hex64('8')}${hex64('8')}
`;

describe('the published shapes, as fixtures of our own (reference §5.2)', () => {
  it('pre-v0.2.3 (infrastructure policy keys): rejected naming each such key, and nothing else', () => {
    expect(() => parseReleaseManifest(PRE_V023, 'releases/v0.2.2-rc3.yaml')).toThrow(InputError);
    const err = inputError(() => validateReleaseManifest(PRE_V023, 'releases/v0.2.2-rc3.yaml', 'v0.2.2-rc3'));
    expect(err.source).toBe('releases/v0.2.2-rc3.yaml');
    expect(err.issues).toEqual(
      [
        'infrastructure[0].tested_version',
        'infrastructure[0].minimum_version',
        'infrastructure[0].notes',
        'infrastructure[1].dev_version',
        'infrastructure[1].prod_version',
        'infrastructure[1].prod_alternative',
      ].map((path) => ({ path, message: 'unknown key' })),
    );
  });

  it('v0.2.3-rc1-like: decodes (no checksum is fine), then is rejected by artifact URL validation', () => {
    const m = parseReleaseManifest(RC_V023, 'releases/v0.2.3-rc1.yaml');
    expect(m.native_binaries[0]!.artifacts[0]!.checksum).toBeUndefined();
    const err = inputError(() => validateReleaseManifest(RC_V023, 'releases/v0.2.3-rc1.yaml', 'v0.2.3-rc1'));
    expect(err.issues).toEqual([
      {
        path: 'native_binaries[0].artifacts[0].url',
        message:
          'commodore (linux-amd64): url https://dl.example.com/v0.2.3-rc1/frameworks-commodore-v0.2.3-rc1-linux-amd64.tar.gz ' +
          "does not contain the service's version 0.2.0 (its service_version); likewise artifacts[1] (linux-arm64)",
      },
      {
        path: 'native_binaries[1].artifacts[0].url',
        message:
          'foghorn (linux-amd64): url https://dl.example.com/v0.2.3-rc1/frameworks-foghorn-v0.2.3-rc1-linux-amd64.tar.gz ' +
          "does not contain the service's version 0.2.0 (its service_version)",
      },
    ]);
  });

  it('v0.2.7-like (labels 0.2.0, external binaries without checksum): accepted', () => {
    const m = validateReleaseManifest(STABLE_V027, 'releases/v0.2.7.yaml', 'v0.2.7');
    expect(m.services[0]!.service_version).toBe('0.2.0');
    expect(m.external_dependencies[0]!.binaries[0]).toEqual({
      name: 'mistserver-linux-amd64-v3.10.tar.gz',
      url: 'https://example.com/mistserver/v3.10/mistserver-linux-amd64-v3.10.tar.gz',
      size_bytes: 12345,
    });
    expect(m.external_dependencies[0]!.release_tag).toBe('3.10');
    expect(m.infrastructure[0]!.artifacts[0]!.file).toBeUndefined();
    expect(getServiceInfo(m, 'commodore')!.version).toBe('0.2.0');
    expect(getServiceInfo(m, 'chartroom')!.version).toBe('v0.2.7');
  });

  it('v0.2.21-like (images per registry): accepted', () => {
    const m = validateReleaseManifest(IMAGES_V0221, 'releases/v0.2.21.yaml', 'v0.2.21');
    expect(Object.keys(m.services[0]!.images!)).toEqual(['dockerhub', 'ghcr']);
    expect(m.services[0]!.images!['ghcr']!.digest).toBe(D('9'));
  });

  it('v0.2.43-like (source_hash, carried service with its older label and URLs): accepted', () => {
    const m = validateReleaseManifest(CARRIED_V0243, 'releases/v0.2.43.yaml', 'v0.2.43');
    expect(getServiceInfo(m, 'purser')).toMatchObject({ version: 'v0.2.41', carriedFrom: 'v0.2.42' });
    expect(getServiceInfo(m, 'commodore')!.sourceHash).toBe(hex64('b'));
    // The same carried tarball held to the platform version would be refused: the check is per service label.
    const drifted = CARRIED_V0243.replace('service_version: v0.2.41', 'service_version: v0.2.43');
    const err = inputError(() => validateReleaseManifest(drifted, 'releases/v0.2.43.yaml', 'v0.2.43'));
    expect(issuePaths(err)).toEqual(['native_binaries[0].artifacts[0].url']);
  });

  it('v0.2.96-like (compatibility metadata, extra external keys, arbitrary order): accepted', () => {
    const m = validateReleaseManifest(COMPAT_V0296, 'releases/v0.2.96.yaml', 'v0.2.96');
    expect(m.min_cli_version).toBe('v0.2.96-rc1');
    expect(m.required_transitions).toEqual(['storage-descriptor-adoption']);
    expect(m.rollback_disabled).toEqual(['chandler']);
    expect(isRollbackDisabled(m, 'chandler')).toBe(true);
    expect(m.interfaces.map((i) => i.name)).toEqual(['logbook', 'chartroom']);
    expect(getServiceInfo(m, 'chartroom')).toMatchObject({ kind: 'interface', version: 'v0.2.95' });
    expect(getServiceInfo(m, 'privateer')).toMatchObject({ kind: 'native', version: 'v0.2.96' });
    expect(m.external_dependencies[0]!['upstream_commit']).toBe('1234abcd');
    expect(m.external_dependencies[0]!['build_flags']).toEqual(['cgo']);
    expect(m.infrastructure[0]!.artifacts[0]!.checksum).toMatch(/^sha512:/);
  });
});

describe('decoding like the reference: every field optional on input', () => {
  it('accepts a manifest with nothing but its identity; absent lists are empty, absent strings omitted or empty', () => {
    const m = validateReleaseManifest('platform_version: v1.0.0\n', SRC, 'v1.0.0');
    expect(m).toEqual({
      platform_version: 'v1.0.0',
      git_commit: '',
      release_date: '',
      required_transitions: [],
      rollback_disabled: [],
      services: [],
      native_binaries: [],
      interfaces: [],
      infrastructure: [],
      external_dependencies: [],
    });
  });

  it('reads `key: ~` and `- ~` as Go zero values, not as errors', () => {
    const m = parseReleaseManifest(
      'platform_version: v1.0.0\ngit_commit: ~\nrelease_date: ~\nmin_cli_version: ~\nservices:\n  - ~\n' +
        '  - name: commodore\n    image: ~\n    images: ~\nnative_binaries: ~\n',
      SRC,
    );
    expect(m.git_commit).toBe('');
    expect(m.min_cli_version).toBeUndefined();
    expect(m.services).toEqual([
      { name: '', service_version: '' },
      { name: 'commodore', service_version: '' },
    ]);
    expect(m.native_binaries).toEqual([]);
  });

  it('keeps values the reference does not judge while decoding; the artifact gate judges them per service', () => {
    const text = minimal(`native_binaries:
  - name: commodore
    artifacts:
      - { arch: linux-amd64, url: https://x/v0.3.0/a.tgz, checksum: "sha1:abc" }
      - { arch: linux-amd64, url: https://x/v0.3.0/b.tgz }
`).replace(/digest: .*/, 'digest: sha256:abc');
    const m = parseReleaseManifest(text, SRC);
    expect(m.services[0]!.digest).toBe('sha256:abc');
    expect(m.native_binaries[0]!.artifacts.map((a) => a.checksum)).toEqual(['sha1:abc', undefined]);
  });

  it('takes any registry key in images (a Go map), but each image entry stays strict', () => {
    const m = parseReleaseManifest(minimal(`    images:\n      quay: { image: q/commodore:v0.3.0 }\n`), SRC);
    expect(m.services[0]!.images).toEqual({ quay: { image: 'q/commodore:v0.3.0' } });
    const err = inputError(() => parseReleaseManifest(minimal(`    images:\n      quay: { imag: q }\n`), SRC));
    expect(err.issues).toEqual([{ path: 'services[0].images.quay.imag', message: 'unknown key' }]);
  });

  it('disables rollback for a registry service the manifest itself does not list (as the reference does)', () => {
    const m = parseReleaseManifest('platform_version: v1.0.0\nrollback_disabled: [chandler]\nservices: []\n', SRC);
    expect(m.rollback_disabled).toEqual(['chandler']);
  });

  it('reads a blank min_cli_version as no floor, and a padded one trimmed (the reference trims before checking)', () => {
    expect(parseReleaseManifest(minimal('min_cli_version: ""\n'), SRC).min_cli_version).toBeUndefined();
    expect(parseReleaseManifest(minimal('min_cli_version: " v0.2.96 "\n'), SRC).min_cli_version).toBe('v0.2.96');
  });
});

describe('strict decoding rules (reference TestParseManifest_RejectsTypoedCompatibilityFields, item 141)', () => {
  it.each([
    ['misspelled rollback_disabled', 'rollback_disabld:\n  - chandler\n', 'rollback_disabld', 'unknown key'],
    ['misspelled min_cli_version', 'min_cli_verison: v1.0.0\n', 'min_cli_verison', 'unknown key'],
    ['misspelled required_transitions', 'required_transition:\n  - x\n', 'required_transition', 'unknown key'],
    ['unknown top-level field', 'rollback_polcy: none\n', 'rollback_polcy', 'unknown key'],
    ['malformed min_cli_version', 'min_cli_version: 1.0\n', 'min_cli_version', '"1.0" is not a version'],
    ['min_cli_version without v', 'min_cli_version: 1.0.0\n', 'min_cli_version', 'lacks the leading "v"'],
    ['empty transition id', 'required_transitions:\n  - ""\n', 'required_transitions[0]', 'empty transition id'],
    ['padded transition id', 'required_transitions: [" x"]\n', 'required_transitions[0]', 'surrounding whitespace'],
    ['empty rollback name', 'rollback_disabled:\n  - ""\n', 'rollback_disabled[0]', 'empty deploy name'],
    ['rollback typo', 'rollback_disabled:\n  - chandlr\n', 'rollback_disabled[0]', 'unknown service "chandlr"'],
    ['padded rollback name', 'rollback_disabled:\n  - " chandler "\n', 'rollback_disabled[0]', 'write the canonical'],
    ['a scalar where a list goes', 'required_transitions: storage\n', 'required_transitions', 'expected a list'],
    [
      'unknown key in an artifact',
      'native_binaries:\n  - artifacts:\n      - sha: x\n',
      'native_binaries[0].artifacts[0].sha',
      'unknown key',
    ],
    [
      'unknown key in an external binary',
      'external_dependencies:\n  - binaries:\n      - sum: x\n',
      'external_dependencies[0].binaries[0].sum',
      'unknown key',
    ],
  ])('%s: exactly one problem, at %s', (_what, extra, path, message) => {
    const err = inputError(() => parseReleaseManifest(`platform_version: v1.0.0\n${extra}`, SRC));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe(path);
    expect(err.issues[0]!.message).toContain(message);
    expect(err.message).toContain(SRC);
  });

  it.each([
    ['empty input', ''],
    ['only a comment', '# nothing\n'],
    ['a trailing document', 'platform_version: v1.0.0\n---\nplatform_version: v2.0.0\n'],
  ])('refuses %s', (_what, text) => {
    const err = inputError(() => parseReleaseManifest(text, SRC));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.message).toMatch(/empty document|exactly one YAML document/);
  });

  it('lists several real problems once each, and nothing for the keys left out', () => {
    const text =
      'platform_version: v1.0.0\nservices:\n  - name: a\n    digst: x\n  - name: b\n    imag: y\nrollback_disabled: [nope]\n';
    // In schema order (the order of the reference's Manifest fields), one entry per problem.
    expect(inputError(() => parseReleaseManifest(text, SRC)).issues).toEqual([
      {
        path: 'rollback_disabled[0]',
        message: 'unknown service "nope"; every entry must be a canonical service id (e.g. chandler, foghorn)',
      },
      { path: 'services[0].digst', message: 'unknown key' },
      { path: 'services[1].imag', message: 'unknown key' },
    ]);
  });
});

describe('timestamps (release_date as yaml.v3 decodes a time.Time)', () => {
  it.each([
    ['2026-01-15T10:20:30Z'],
    ['2026-01-15T10:20:30.123456789Z'],
    ['2026-01-15T10:20:30+02:00'],
    ['2026-01-15t10:20:30Z'],
    ['2026-1-5T1:2:3Z'],
    ['2026-01-15 10:20:30'],
    ['2026-01-15'],
    ['"2026-01-15T10:20:30Z"'],
  ])('accepts %s, kept as written', (value) => {
    expect(
      parseReleaseManifest(minimal().replace(/release_date: .*/, `release_date: ${value}`), SRC).release_date,
    ).toBe(value.replaceAll('"', ''));
  });

  it.each([
    ['"2026-01-15"', 'a quoted timestamp must be RFC 3339'],
    ["'2026-01-15 10:20:30'", 'a quoted timestamp must be RFC 3339'],
    ['2026-02-30', 'not a timestamp'],
    ['yesterday', 'not a timestamp'],
    ['20260115', 'expected a timestamp'],
    ['[2026]', 'expected a timestamp'],
  ])('refuses %s', (value, message) => {
    const err = inputError(() =>
      parseReleaseManifest(minimal().replace(/release_date: .*/, `release_date: ${value}`), SRC),
    );
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe('release_date');
    expect(err.issues[0]!.message).toContain(message);
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

  it('checks services[] entries only: binary-only components and interfaces are not held to a version', () => {
    // The reference walks services[] (ValidateServiceArtifacts); privateer has no services[] entry.
    const m = manifest();
    m.native_binaries[2]!.artifacts[0]!.url = 'https://releases.example.com/v0.2.0/privateer.tar.gz';
    m.native_binaries.push({ name: 'chartroom', artifacts: [{ arch: 'linux-amd64', url: 'https://x/v0.1.0/c.tgz' }] });
    expect(() => validateServiceArtifacts(m)).not.toThrow();
  });

  it('leaves an artifact without url to the artifact gate', () => {
    const m = manifest();
    delete m.native_binaries[0]!.artifacts[0]!.url;
    expect(() => validateServiceArtifacts(m)).not.toThrow();
  });

  it('reports one problem per native_binaries entry, naming every offending arch', () => {
    const m = manifest();
    for (const a of m.native_binaries[0]!.artifacts) a.url = `https://x/v9.9.9/${a.arch ?? ''}.tgz`;
    const err = inputError(() => validateServiceArtifacts(m, SRC));
    expect(err.issues).toEqual([
      {
        path: 'native_binaries[0].artifacts[0].url',
        message:
          "commodore (linux-amd64): url https://x/v9.9.9/linux-amd64.tgz does not contain the service's version " +
          'v0.3.0 (its service_version); likewise artifacts[1] (darwin-arm64)',
      },
    ]);
  });

  it.each([
    ['v0.2.39', false],
    ['v0.2.40', true],
    ['v0.1.99', false],
    ['v0.3.0', true],
    ['v1.0.0', true],
    // The reference reads the patch field as an integer: a prerelease or build suffix makes it unparsable, and an
    // unparsable version is checked — so v0.2.3-rc1 … v0.2.6-rc1 are checked while v0.2.7 … v0.2.39 are not.
    ['v0.2.3-rc1', true],
    ['v0.2.39+build.1', true],
    ['v0.2.39-rc.1', true],
  ])('applies to %s: %s', (version, applies) => {
    expect(artifactUrlCheckApplies(version)).toBe(applies);
    const m = manifest({ platform_version: version });
    m.native_binaries[0]!.artifacts[0]!.url = 'https://x/unversioned.tar.gz';
    if (applies) expect(() => validateServiceArtifacts(m)).toThrow(InputError);
    else expect(() => validateServiceArtifacts(m)).not.toThrow();
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
