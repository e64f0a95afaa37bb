// Bad-input corpus (SPEC §9): for every input file, malformed YAML, an unknown key, a non-canonical version
// and an unknown service each give exactly one InputError that names the file and where the problem is.
import { describe, expect, it } from 'vitest';
import {
  parseReleaseCatalog,
  parseServiceDefinitions,
  validateServicesAgainstCatalog,
} from '../../src/contracts/catalog';
import { validateServicesDefined } from '../../src/config/catalog';
import { parseFrameworksManifest } from '../../src/contracts/frameworks/manifest';
import { parseChannelPointer, parseReleaseManifest } from '../../src/contracts/release';
import { validateReleaseManifest } from '../../src/domain/release';
import { fixture, inputError } from './support';

const CLUSTER = fixture('cluster/cluster.yaml');
const SERVICES = fixture('catalog/services.yaml');
const CATALOG = fixture('catalog/releases.yaml');
const MANIFEST = fixture('release-manifest-full.yaml');
const POINTER = 'platform_version: v0.3.0\nmanifest: releases/v0.3.0.yaml\nupdated_at: 2025-11-10T16:00:00Z\n';

const services = () => parseServiceDefinitions(SERVICES, 'catalog/services.yaml');

interface Case {
  file: string;
  what: string;
  run: () => unknown;
  /** Exact key path, or a pattern the message must match when there is no key path (syntax errors). */
  path: string | RegExp;
}

const cases: Case[] = [
  // cluster.yaml (FrameWorks format)
  {
    file: 'cluster.yaml',
    what: 'malformed YAML',
    run: () => parseFrameworksManifest(CLUSTER.replace('hosts: [h2, h3] }', 'hosts: [h2, h3 }'), 'cluster.yaml'),
    path: /line \d+/,
  },
  {
    file: 'cluster.yaml',
    what: 'unknown key',
    run: () => parseFrameworksManifest(CLUSTER.replace('profile: test', 'profile: test\nprofiel: x'), 'cluster.yaml'),
    path: 'profiel',
  },
  {
    file: 'cluster.yaml',
    what: 'an orchestrator key the reference would reject',
    run: () =>
      parseFrameworksManifest(CLUSTER.replace('profile: test', 'profile: test\nmigrations_dir: ./m'), 'cluster.yaml'),
    path: 'migrations_dir',
  },
  {
    file: 'cluster.yaml',
    what: 'unknown service',
    run: () => validateServicesDefined(['brige'], services(), 'cluster.yaml', 'catalog'),
    path: 'services.brige',
  },
  // releases/<tag>.yaml
  {
    file: 'releases/v0.3.0.yaml',
    what: 'malformed YAML',
    run: () =>
      parseReleaseManifest(MANIFEST.replace('services:\n', 'services:\n  - name: [x\n'), 'releases/v0.3.0.yaml'),
    path: /line \d+:\d+/,
  },
  {
    file: 'releases/v0.3.0.yaml',
    what: 'unknown key',
    run: () => parseReleaseManifest(MANIFEST.replace('    source_hash:', '    source_hsh:'), 'releases/v0.3.0.yaml'),
    path: 'services[0].source_hsh',
  },
  {
    file: 'releases/v0.3.0.yaml',
    what: 'non-canonical version',
    // The decoder leaves platform_version to identity binding (as the reference does), so the fetch path refuses.
    run: () =>
      validateReleaseManifest(
        MANIFEST.replace('platform_version: v0.3.0', 'platform_version: v0.3.00'),
        'releases/v0.3.0.yaml',
        'v0.3.0',
      ),
    path: 'platform_version',
  },
  {
    file: 'releases/v0.3.0.yaml',
    what: 'unknown service',
    run: () =>
      parseReleaseManifest(
        MANIFEST.replace('rollback_disabled:\n  - purser', 'rollback_disabled:\n  - pursr'),
        'releases/v0.3.0.yaml',
      ),
    path: 'rollback_disabled[0]',
  },
  // channels/<channel>.yaml
  {
    file: 'channels/stable.yaml',
    what: 'malformed YAML',
    run: () => parseChannelPointer('platform_version: "v0.3.0\n', 'channels/stable.yaml'),
    path: /line \d+:\d+/,
  },
  {
    file: 'channels/stable.yaml',
    what: 'unknown key',
    run: () => parseChannelPointer(POINTER.replace('updated_at', 'updatedAt'), 'channels/stable.yaml'),
    path: 'updatedAt',
  },
  {
    file: 'channels/stable.yaml',
    what: 'non-canonical version',
    run: () => parseChannelPointer(POINTER.replace('v0.3.0\n', 'stable\n'), 'channels/stable.yaml'),
    path: 'platform_version',
  },
  // catalog/releases.yaml
  {
    file: 'catalog/releases.yaml',
    what: 'malformed YAML',
    run: () => parseReleaseCatalog(CATALOG.replace('releases:\n', 'releases:\n\t- x\n'), 'catalog/releases.yaml'),
    path: /line \d+:\d+/,
  },
  {
    file: 'catalog/releases.yaml',
    what: 'unknown key',
    run: () => parseReleaseCatalog(CATALOG.replace('compatible_from:', 'compatible_frm:'), 'catalog/releases.yaml'),
    path: 'releases[2].compatible_frm',
  },
  {
    file: 'catalog/releases.yaml',
    what: 'non-canonical version',
    run: () => parseReleaseCatalog(CATALOG.replace('- version: v0.2.0', '- version: 0.2.0'), 'catalog/releases.yaml'),
    path: 'releases[1].version',
  },
  {
    file: 'catalog/releases.yaml',
    what: 'unknown service',
    run: () =>
      validateServicesAgainstCatalog(
        services(),
        parseReleaseCatalog(CATALOG.replace('service: purser', 'service: purserr'), 'catalog/releases.yaml'),
        'catalog/releases.yaml',
      ),
    path: 'releases[1].required_data_migrations[0].service',
  },
  // catalog/services.yaml
  {
    file: 'catalog/services.yaml',
    what: 'malformed YAML',
    run: () =>
      parseServiceDefinitions(SERVICES.replace('  role: api\n', '  role: api\n role: x\n'), 'catalog/services.yaml'),
    path: /line \d+:\d+/,
  },
  {
    file: 'catalog/services.yaml',
    what: 'unknown key',
    run: () =>
      parseServiceDefinitions(
        SERVICES.replace('  reload_on_sighup: true', '  reload_on_sigup: true'),
        'catalog/services.yaml',
      ),
    path: 'quartermaster.reload_on_sigup',
  },
  {
    file: 'catalog/services.yaml',
    what: 'unknown service',
    run: () =>
      parseServiceDefinitions(
        SERVICES.replace('depends_on: [foghorn]', 'depends_on: [foghron]'),
        'catalog/services.yaml',
      ),
    path: 'bridge.depends_on[0]',
  },
];

describe('bad-input corpus', () => {
  it.each(cases.map((c) => [c.file, c.what, c] as const))(
    '%s, %s: one InputError naming file and place',
    (_f, _w, c) => {
      const err = inputError(c.run);
      expect(err.source).toBe(c.file);
      expect(err.message.startsWith(`${c.file}: `)).toBe(true);
      expect(err.issues).toHaveLength(1);
      if (typeof c.path === 'string') expect(err.issues[0]!.path).toBe(c.path);
      else expect(err.message).toMatch(c.path);
      // Operators see a message, never a stack trace.
      expect(err.message).not.toMatch(/\n\s+at /);
    },
  );

  it('covers every input file with malformed YAML and an unknown key', () => {
    for (const what of ['malformed YAML', 'unknown key']) {
      expect(new Set(cases.filter((c) => c.what === what).map((c) => c.file)).size).toBe(5);
    }
  });
});
