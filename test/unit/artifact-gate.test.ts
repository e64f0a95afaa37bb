// A release the reference accepts may still leave one service unpinnable (a native artifact without checksum, a
// service without digest). The manifest is accepted; that service — and only that one — is refused at the
// artifact gate, with service, arch and the missing field named, and no consumer treats the absence as a match.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sliceRelease } from '../../src/activities/release';
import { parseReleaseCatalog, parseServiceDefinitions } from '../../src/contracts/catalog';
import type { ClusterTopology, ReleaseSlice, ServiceTarget } from '../../src/contracts/plan';
import type { HostDetection } from '../../src/contracts/upgrade';
import { artifactIdentity, artifactPinProblems, imagePinProblems } from '../../src/domain/artifacts';
import { upgradeGates } from '../../src/domain/gates/upgrade-gates';
import { validateReleaseManifest } from '../../src/domain/release';
import { replicaStatus } from '../../src/domain/status/replicas';
import { artifactsCheck, buildUpgradePlan, serviceTargets } from '../../src/domain/upgrade-plan';
import { hex64 } from './support';

const FIXTURES = join(__dirname, '..', 'fixtures', 'catalog');
const catalog = parseReleaseCatalog(readFileSync(join(FIXTURES, 'releases.yaml'), 'utf8'), 'releases.yaml');
const definitions = parseServiceDefinitions(readFileSync(join(FIXTURES, 'services.yaml'), 'utf8'), 'services.yaml');
const D = (c: string): string => `sha256:${hex64(c)}`;
const url = (svc: string, arch: string) => `https://dl.example.com/v0.2.0/frameworks-${svc}-v0.2.0-${arch}.tar.gz`;

/** Accepted by the reference's rules; quartermaster's linux-amd64 tarball has no checksum. */
const MANIFEST = `platform_version: v0.2.0
git_commit: 1a2b3c4d
release_date: 2026-03-01T00:00:00Z
services:
  - { name: quartermaster, service_version: v0.2.0, image: "fw/quartermaster:v0.2.0", digest: "${D('1')}" }
  - { name: commodore, service_version: v0.2.0, image: "fw/commodore:v0.2.0", digest: "${D('2')}" }
  - { name: purser, service_version: v0.2.0, image: "fw/purser:v0.2.0", digest: "${D('3')}" }
  - { name: foghorn, service_version: v0.2.0, image: "fw/foghorn:v0.2.0", digest: "${D('4')}" }
  - { name: bridge, service_version: v0.2.0, image: "fw/bridge:v0.2.0" }
native_binaries:
  - name: quartermaster
    artifacts:
      - { arch: linux-amd64, url: "${url('quartermaster', 'linux-amd64')}" }
      - { arch: linux-arm64, url: "${url('quartermaster', 'linux-arm64')}", checksum: "${D('5')}" }
  - name: purser
    artifacts:
      - { arch: linux-amd64, url: "${url('purser', 'linux-amd64')}", checksum: "${D('6')}" }
      - { arch: darwin-arm64, url: "${url('purser', 'darwin-arm64')}" }
`;

const topology: ClusterTopology = {
  name: 'gate',
  channel: 'stable',
  manifestPath: 'clusters/gate/cluster.yaml',
  releaseRepositories: ['/srv/gitops'],
  hosts: {
    h1: { arch: 'linux-amd64', docker: false },
    h2: { arch: 'linux-amd64', docker: true },
  },
  services: {
    quartermaster: { mode: 'native', hosts: ['h1'] },
    commodore: { mode: 'docker', hosts: ['h2'] },
    purser: { mode: 'native', hosts: ['h1'] },
    foghorn: { mode: 'docker', hosts: ['h2'] },
  },
  databases: [],
};

function slice(text = MANIFEST, services = Object.keys(topology.services)): ReleaseSlice {
  const manifest = validateReleaseManifest(text, 'releases/v0.2.0.yaml', 'v0.2.0');
  return sliceRelease(manifest, services, {
    repository: '/srv/gitops',
    path: 'releases/v0.2.0.yaml',
    fromCache: false,
    stale: false,
    warnings: [],
  });
}

const NO_CHECKSUM =
  'native artifact linux-amd64 has no checksum (native_binaries[].artifacts[].checksum): it cannot be pinned by content';

describe('the artifact gate over a manifest the reference accepts', () => {
  it('accepts the manifest; the slice keeps the checksum absent (not empty, not invented)', () => {
    const s = slice();
    expect(s.services['quartermaster']!.artifacts[0]).toEqual({
      arch: 'linux-amd64',
      url: url('quartermaster', 'linux-amd64'),
    });
  });

  it('plans every service but refuses, naming only quartermaster with arch and missing field', () => {
    const plan = buildUpgradePlan({
      topology,
      selector: 'v0.2.0',
      resolved: { channel: 'stable', version: 'v0.2.0' },
      catalog: { ok: true, catalog, services: definitions, source: 'fixture' },
      release: slice(),
      cliVersion: 'v0.3.0',
      unsafeIgnoreCliVersionFloor: false,
      migrationItems: [],
    });
    const problems = Object.fromEntries(plan.targets.map((t) => [t.service, t.problems]));
    expect(problems).toEqual({ quartermaster: [NO_CHECKSUM], commodore: [], foghorn: [], purser: [] });
    expect(plan.checks.find((c) => c.id === 'artifacts')).toMatchObject({
      status: 'refuse',
      detail: `release artifacts do not resolve for planned service(s), refusing before mutating the cluster: quartermaster: ${NO_CHECKSUM}`,
    });
    expect(plan.refused).toBe(true);
    // `upgrade purser` / `upgrade commodore` are judged on their own targets (what clusterUpgrade does).
    for (const svc of ['purser', 'commodore', 'foghorn']) {
      expect(artifactsCheck(plan.targets.filter((t) => t.service === svc)).status, svc).toBe('pass');
    }
    expect(artifactsCheck(plan.targets.filter((t) => t.service === 'quartermaster')).status).toBe('refuse');
    // Purser's darwin tarball has no checksum either, but no purser host needs it.
    expect(plan.targets.find((t) => t.service === 'purser')!.artifacts.map((a) => a.arch)).toEqual(['linux-amd64']);
  });

  it('a host of undeclared arch needs every artifact pinned, since detection may find any of them', () => {
    const undeclared = { ...topology, hosts: { ...topology.hosts, h1: { docker: false } } };
    const targets = serviceTargets(undeclared, ['purser'], slice());
    expect(targets[0]!.problems).toEqual([
      'native artifact darwin-arm64 has no checksum (native_binaries[].artifacts[].checksum): it cannot be pinned by content',
    ]);
  });

  it('a docker service without digest is refused the same way, alone', () => {
    const withBridge = { ...topology, services: { ...topology.services, bridge: { mode: 'docker', hosts: ['h2'] } } };
    const targets = serviceTargets(
      withBridge as ClusterTopology,
      ['bridge', 'commodore'],
      slice(MANIFEST, ['bridge', 'commodore']),
    );
    expect(targets.map((t) => [t.service, t.problems])).toEqual([
      ['bridge', ['image fw/bridge:v0.2.0 has no digest (services[].digest): images are pinned by digest']],
      ['commodore', []],
    ]);
  });

  it('duplicate arches and malformed pins refuse the service instead of the manifest', () => {
    const text = MANIFEST.replace(
      `      - { arch: linux-amd64, url: "${url('purser', 'linux-amd64')}", checksum: "${D('6')}" }\n`,
      `      - { arch: linux-amd64, url: "${url('purser', 'linux-amd64')}", checksum: "sha256:abc" }\n` +
        `      - { arch: linux-amd64, url: "${url('purser', 'linux-amd64')}", checksum: "${D('7')}" }\n`,
    );
    const targets = serviceTargets(topology, ['purser'], slice(text));
    expect(targets[0]!.problems).toEqual([
      'more than one native artifact for linux-amd64: which one to install is ambiguous',
      'native artifact linux-amd64 has checksum "sha256:abc", not sha256:<64 lowercase hex>: the worker verifies tarballs by SHA-256 only, so it cannot be pinned by content',
    ]);
  });
});

describe('pin predicates', () => {
  it.each([
    [{ arch: 'linux-amd64', url: 'u', checksum: D('a') }, []],
    [{ arch: 'linux-amd64', url: 'u' }, [NO_CHECKSUM]],
    [
      { arch: 'linux-amd64', checksum: D('a') },
      ['native artifact linux-amd64 has no url (native_binaries[].artifacts[].url): nothing to download'],
    ],
    [
      { arch: 'linux-amd64', url: 'u', checksum: `sha512:${hex64('a')}${hex64('a')}` },
      [expect.stringContaining('the worker verifies tarballs by SHA-256 only')],
    ],
    [{ arch: '', url: 'u', checksum: D('a') }, [expect.stringContaining('has no arch')]],
  ])('artifactPinProblems(%j)', (artifact, problems) => {
    expect(artifactPinProblems(artifact)).toEqual(problems);
  });

  it('an absent or malformed checksum has no identity (so it can never equal what a host runs)', () => {
    expect(artifactIdentity({ arch: 'linux-amd64', url: 'u' })).toBeNull();
    expect(artifactIdentity({ arch: 'linux-amd64', url: 'u', checksum: '' })).toBeNull();
    expect(artifactIdentity({ arch: 'linux-amd64', url: 'u', checksum: 'sha256:abc' })).toBeNull();
    expect(artifactIdentity(undefined)).toBeNull();
    expect(artifactIdentity({ arch: 'linux-amd64', checksum: D('a') })).toBe(D('a'));
    expect(imagePinProblems('x', undefined)).toHaveLength(1);
    expect(imagePinProblems(undefined, D('a'))).toHaveLength(1);
    expect(imagePinProblems('x', 'sha256:ABC')).toHaveLength(1);
    expect(imagePinProblems('x', D('a'))).toEqual([]);
  });
});

const detection = (over: Partial<HostDetection> = {}): HostDetection => ({
  host: 'h1',
  present: true,
  identity: null,
  version: 'v0.1.0',
  configHash: 'c',
  running: true,
  arch: 'linux-amd64',
  ...over,
});

describe('live checks do not read an absent checksum as a match', () => {
  it('the host-arch gate refuses a detected host whose arch has an unpinned artifact, naming the host', () => {
    const targets: ServiceTarget[] = serviceTargets(
      { ...topology, hosts: { ...topology.hosts, h1: { docker: false } } },
      ['quartermaster', 'purser'],
      slice(),
    ).map((t) => ({ ...t, problems: [] }));
    const gates = upgradeGates({
      target: 'v0.2.0',
      services: ['quartermaster', 'purser'],
      targets,
      catalog,
      definitions,
      detections: { quartermaster: [detection()], purser: [detection()] },
      migrationItems: [],
      ledgers: [],
      liveStates: {},
      skipMigrationCheck: true,
      skipDataMigrationCheck: true,
    });
    expect(gates.checks.find((c) => c.id === 'host-arch')).toMatchObject({
      status: 'refuse',
      detail: `quartermaster: ${NO_CHECKSUM} (host h1)`,
    });
  });

  it('status reports "no target" with the reason, never "up to date", when the pin is absent', () => {
    const target = slice().services['quartermaster']!;
    const r = replicaStatus({
      service: 'quartermaster',
      host: 'h1',
      mode: 'native',
      detection: detection({ identity: null }),
      health: { healthy: true },
      target,
      desiredConfigHash: 'c',
    });
    expect(r.state).toBe('no target');
    expect(r.detail).toBe(`the target release cannot be compared by content: ${NO_CHECKSUM}`);
    expect(r.available.identity).toBeNull();
  });
});

// Reference §9 items 9, 10, 11 and 24 (docs/reference-coverage.md).
describe('artifact and host gates: aggregation, empty sets, undetectable hosts, DB-less services', () => {
  const gateFacts = (over: Partial<Parameters<typeof upgradeGates>[0]>): Parameters<typeof upgradeGates>[0] => ({
    target: 'v0.2.0',
    services: [],
    targets: [],
    catalog,
    definitions,
    detections: {},
    migrationItems: [],
    ledgers: [],
    liveStates: {},
    skipMigrationCheck: false,
    skipDataMigrationCheck: false,
    ...over,
  });

  it('item 9: every unresolvable service is named in ONE artifacts refusal; resolvable ones are not named', () => {
    const withBridge = {
      ...topology,
      services: { ...topology.services, bridge: { mode: 'docker' as const, hosts: ['h2'] } },
    };
    const plan = buildUpgradePlan({
      topology: withBridge,
      selector: 'v0.2.0',
      resolved: { channel: 'stable', version: 'v0.2.0' },
      catalog: { ok: true, catalog, services: definitions, source: 'fixture' },
      release: slice(MANIFEST, Object.keys(withBridge.services)),
      cliVersion: 'v0.3.0',
      unsafeIgnoreCliVersionFloor: false,
      migrationItems: [],
    });
    const artifactChecks = plan.checks.filter((c) => c.id === 'artifacts');
    expect(artifactChecks).toHaveLength(1);
    expect(artifactChecks[0]!.status).toBe('refuse');
    const detail = artifactChecks[0]!.detail;
    expect(detail).toContain(`quartermaster: ${NO_CHECKSUM}`);
    expect(detail).toContain('bridge: image fw/bridge:v0.2.0 has no digest');
    for (const ok of ['commodore', 'purser', 'foghorn']) expect(detail).not.toContain(`${ok}:`);
  });

  it('item 10: a native service whose release lists no tarball at all is refused with "no binary artifacts"', () => {
    const text = MANIFEST.replace(/ {2}- name: purser\n {4}artifacts:\n(?: {6}- .*\n)+/, '');
    const targets = serviceTargets(topology, ['purser', 'quartermaster'], slice(text));
    expect(targets.find((t) => t.service === 'purser')!.problems).toEqual(['no binary artifacts for native mode']);
    const check = artifactsCheck(targets.filter((t) => t.service === 'purser'));
    expect(check.status).toBe('refuse');
    expect(check.detail).toContain('purser: no binary artifacts for native mode');
  });

  it("item 11: a host whose architecture cannot be detected refuses, per host, next to the other hosts' problems", () => {
    const twoHosts = {
      ...topology,
      hosts: { h1: { docker: false }, h3: { docker: false } },
      services: { ...topology.services, quartermaster: { mode: 'native' as const, hosts: ['h1', 'h3'] } },
    };
    const targets = serviceTargets(twoHosts, ['quartermaster'], slice()).map((t) => ({ ...t, problems: [] }));
    const gates = upgradeGates(
      gateFacts({
        services: ['quartermaster'],
        targets,
        detections: {
          quartermaster: [detection({ host: 'h1', arch: null }), detection({ host: 'h3', arch: 'linux-amd64' })],
        },
        skipMigrationCheck: true,
        skipDataMigrationCheck: true,
      }),
    );
    expect(gates.checks.find((c) => c.id === 'host-arch')).toMatchObject({
      status: 'refuse',
      detail: `quartermaster: cannot detect architecture of h1; quartermaster: ${NO_CHECKSUM} (host h3)`,
    });
  });

  it('item 24: a DB-less service gets "no engine schema checks" AND still the data-migration check', () => {
    const targets = serviceTargets(
      { ...topology, services: { bridge: { mode: 'docker', hosts: ['h2'] } } },
      ['bridge'],
      slice(MANIFEST.replace('image: "fw/bridge:v0.2.0" }', `image: "fw/bridge:v0.2.0", digest: "${D('9')}" }`), [
        'bridge',
      ]),
    );
    const gates = upgradeGates(
      gateFacts({
        target: 'v0.3.0',
        services: ['bridge'],
        targets,
        detections: { bridge: [detection({ host: 'h2', version: 'v0.2.0' })] },
      }),
    );
    expect(gates.checks.find((c) => c.id === 'schema')).toMatchObject({
      status: 'pass',
      detail: 'no engine schema checks (no DB-backed service)',
    });
    // purser's v0.2.0 backfill is a prior line's requirement: it gates every upgrade to v0.3.0, DB-less or not.
    const data = gates.checks.find((c) => c.id === 'data-migrations');
    expect(data?.status).toBe('refuse');
    expect(data?.detail).toContain('invoice-line-items');
  });
});
