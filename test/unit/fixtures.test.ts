// The shared fixtures stay valid against the real parsers, so a schema change that breaks them fails here
// with a precise message instead of somewhere deep in another test.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseReleaseCatalog,
  parseServiceDefinitions,
  validateServicesAgainstCatalog,
} from '../../src/contracts/catalog';
import { parseChannelPointer, parseReleaseManifest, type ReleaseManifest } from '../../src/contracts/release';
import { planRollout } from '../../src/domain/planner';
import { bindManifestIdentity, getServiceInfo, validateServiceArtifacts } from '../../src/domain/release';

const FIXTURES = join(__dirname, '..', 'fixtures');
const REPO = join(FIXTURES, 'release-repo');
const read = (...p: string[]): string => readFileSync(join(...p), 'utf8');

function manifest(tag: string): ReleaseManifest {
  const source = `releases/${tag}.yaml`;
  const m = parseReleaseManifest(read(REPO, 'releases', `${tag}.yaml`), source);
  bindManifestIdentity(m, tag, source);
  validateServiceArtifacts(m, source);
  return m;
}

describe('test/fixtures/release-repo', () => {
  it('every manifest parses, binds to its file name and passes artifact validation', () => {
    const tags = readdirSync(join(REPO, 'releases')).map((f) => f.replace(/\.yaml$/, ''));
    expect(tags.sort()).toEqual(['v0.1.0', 'v0.2.0', 'v0.3.0-rc1']);
    for (const tag of tags) {
      const m = manifest(tag);
      expect(m.services.map((s) => s.name)).toEqual(['quartermaster', 'purser', 'commodore', 'foghorn', 'bridge']);
      expect(m.native_binaries.map((n) => n.name)).toEqual(['quartermaster', 'purser']);
      for (const n of m.native_binaries) expect(n.artifacts.map((a) => a.arch)).toEqual(['linux-amd64', 'linux-arm64']);
    }
    expect(manifest('v0.2.0').min_cli_version).toBe('v0.2.0');
    expect(manifest('v0.3.0-rc1').min_cli_version).toBe('v0.3.0-rc1');
  });

  it('channel pointers name the manifests they point at', () => {
    for (const [channel, tag] of [
      ['stable', 'v0.2.0'],
      ['rc', 'v0.3.0-rc1'],
    ] as const) {
      const p = parseChannelPointer(read(REPO, 'channels', `${channel}.yaml`), channel);
      expect(p).toMatchObject({ platform_version: tag, manifest: `releases/${tag}.yaml` });
    }
  });

  it('v0.2.0 carries foghorn from v0.1.0 unchanged; everything else is rebuilt with a distinct digest', () => {
    const [v1, v2, rc] = [manifest('v0.1.0'), manifest('v0.2.0'), manifest('v0.3.0-rc1')];
    const carried = getServiceInfo(v2, 'foghorn')!;
    const original = getServiceInfo(v1, 'foghorn')!;
    expect(carried).toMatchObject({ version: 'v0.1.0', carriedFrom: 'v0.1.0', fullImage: original.fullImage });
    expect(carried.sourceHash).toBe(original.sourceHash);

    for (const name of ['quartermaster', 'purser', 'commodore', 'bridge']) {
      const digests = [v1, v2, rc].map((m) => getServiceInfo(m, name)!.digest);
      expect(new Set(digests).size).toBe(3);
      expect(getServiceInfo(v2, name)!.carriedFrom).toBeUndefined();
    }
    const all = [v1, v2, rc].flatMap((m) => m.services.filter((s) => !s.carried_from).map((s) => s.digest));
    expect(new Set(all).size).toBe(all.length);
    expect(getServiceInfo(v2, 'quartermaster')!.binaries[0]!.url).toBe(
      'https://artifacts.example.test/quartermaster/v0.2.0/frameworks-quartermaster-v0.2.0-linux-amd64.tar.gz',
    );
  });
});

describe('test/fixtures/catalog', () => {
  const catalog = parseReleaseCatalog(read(FIXTURES, 'catalog', 'releases.yaml'), 'catalog/releases.yaml');
  const services = parseServiceDefinitions(read(FIXTURES, 'catalog', 'services.yaml'), 'catalog/services.yaml');

  it('the release catalog declares the lab line with its data migration and floor', () => {
    expect(catalog.releases.map((r) => r.version)).toEqual(['v0.1.0', 'v0.2.0', 'v0.3.0']);
    expect(catalog.releases[1]!.required_data_migrations).toEqual([
      {
        id: 'invoice-line-items',
        service: 'purser',
        introduced_in: 'v0.2.0',
        required_before_phase: 'contract',
        driver: 'sql',
      },
    ]);
    expect(catalog.releases[2]!.compatible_from).toBe('v0.2.0');
  });

  it('service definitions agree with the catalog and plan in the lab order', () => {
    expect(() => validateServicesAgainstCatalog(services, catalog, 'catalog/services.yaml')).not.toThrow();
    expect(Object.values(services).map((d) => d.port)).toEqual([18001, 18002, 18003, 18004, 18005, 443]);
    const lab = Object.fromEntries(
      ['quartermaster', 'commodore', 'purser', 'foghorn', 'bridge'].map((n) => [n, { hosts: ['h1'] }]),
    );
    const plan = planRollout({ services: { ...lab, caddy: { hosts: ['h1'] } }, definitions: services });
    expect(plan.order).toEqual(['quartermaster', 'commodore', 'foghorn', 'purser', 'bridge']);
    expect(plan.excluded).toEqual([expect.objectContaining({ service: 'caddy', class: 'managed' })]);
  });
});
