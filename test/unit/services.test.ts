// Service definitions (`catalog/services.yaml`, SPEC §3.4) and their agreement with the release catalog.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseReleaseCatalog,
  parseServiceDefinitions,
  validateServicesAgainstCatalog,
} from '../../src/contracts/catalog';
import { fixture, inputError, issuePaths } from './support';

const SRC = 'catalog/services.yaml';

const DEFS = `quartermaster:
  role: api
  port: 18001
  health: { path: /health, ready_path: /ready }
  database: quartermaster
  class: platform
  reload_on_sighup: true
purser:
  role: api
  port: 18003
  depends_on: [quartermaster]
  database: purser
  class: platform
decklog:
  role: grpc
  port: 18006
  depends_on: [quartermaster]
  class: platform
caddy:
  role: proxy
  port: 443
  class: managed
postgres:
  role: database
  port: 5432
  class: infrastructure
`;

describe('parseServiceDefinitions', () => {
  it('parses definitions with their defaults', () => {
    const d = parseServiceDefinitions(DEFS, SRC);
    expect(d.quartermaster).toEqual({
      role: 'api',
      port: 18001,
      health: { path: '/health', ready_path: '/ready' },
      depends_on: [],
      database: 'quartermaster',
      class: 'platform',
      reload_on_sighup: true,
    });
    expect(d.decklog).toEqual({
      role: 'grpc',
      port: 18006,
      depends_on: ['quartermaster'],
      class: 'platform',
      reload_on_sighup: false,
    });
    expect(d.caddy!.health).toBeUndefined();
    expect(Object.keys(d)).toEqual(['quartermaster', 'purser', 'decklog', 'caddy', 'postgres']);
  });

  it('parses the shared fixture', () => {
    const d = parseServiceDefinitions(fixture('catalog/services.yaml'), 'test/fixtures/catalog/services.yaml');
    expect(d.purser!.depends_on).toEqual(['commodore']);
  });

  it.each([
    [
      'purser:\n  role: api\n  port: 1\n  class: platform\n  depends_on: [quartermastr]\n',
      'purser.depends_on[0]',
      'unknown service "quartermastr"',
    ],
    ['purser:\n  role: api\n  port: 1\n  class: platform\n  depends_on: [purser]\n', 'purser.depends_on[0]', 'itself'],
    ['purser:\n  role: api\n  port: 1\n  class: core\n', 'purser.class', ''],
    ['purser:\n  role: api\n  port: 1\n  class: platform\n  helth: { path: /h }\n', 'purser.helth', 'unknown key'],
    [
      'purser:\n  role: api\n  port: 1\n  class: platform\n  health: { path: health }\n',
      'purser.health.path',
      'must start with "/"',
    ],
    ['purser:\n  role: api\n  port: 1\n  class: platform\n  health: { pth: /h }\n', 'purser.health.pth', 'unknown key'],
    ['purser:\n  role: api\n  port: 0\n  class: platform\n', 'purser.port', ''],
    ['purser:\n  role: api\n  port: "8080"\n  class: platform\n', 'purser.port', 'expected number'],
    ['purser:\n  role: api\n  class: platform\n', 'purser.port', 'missing required key'],
    [
      'purser:\n  role: api\n  port: 1\n  class: platform\n  database: "purser-db"\n',
      'purser.database',
      'SQL identifier',
    ],
    ['Purser:\n  role: api\n  port: 1\n  class: platform\n', 'Purser', 'invalid name'],
  ])('refuses %j at %s', (text, path, message) => {
    const err = inputError(() => parseServiceDefinitions(text, SRC));
    expect(issuePaths(err)).toContain(path);
    expect(err.message).toContain(message);
  });
});

describe('validateServicesAgainstCatalog', () => {
  const defs = () => parseServiceDefinitions(DEFS, SRC);
  const catalog = (text: string) => parseReleaseCatalog(text, 'catalog/releases.yaml');

  it('accepts agreeing ownership; the catalog may map services that do not declare a database', () => {
    const c = catalog('service_databases: { quartermaster: quartermaster, purser: purser, decklog: decklog }\n');
    expect(() => validateServicesAgainstCatalog(defs(), c, SRC)).not.toThrow();
  });

  it('refuses a database-owning service the catalog does not map', () => {
    const err = inputError(() =>
      validateServicesAgainstCatalog(defs(), catalog('service_databases: { quartermaster: quartermaster }\n'), SRC),
    );
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe('purser.database');
    expect(err.message).toContain('no service_databases entry');
  });

  it('refuses a disagreement about the owning database', () => {
    const c = catalog('service_databases: { quartermaster: quartermaster, purser: billing }\n');
    const err = inputError(() => validateServicesAgainstCatalog(defs(), c, SRC));
    expect(err.issues).toEqual([
      { path: 'purser.database', message: '"purser" disagrees with the release catalog, which maps purser to billing' },
    ]);
  });

  it('refuses catalog rules about services that have no definition', () => {
    const c = catalog(`service_databases: { quartermaster: quartermaster, purser: purser, pursr: purser }
releases:
  - version: v0.3.0
    rollback_disabled: [chandler]
    required_data_migrations:
      - { id: x, service: commodore, introduced_in: v0.3.0, required_before_phase: contract }
`);
    const err = inputError(() => validateServicesAgainstCatalog(defs(), c, SRC));
    expect(issuePaths(err)).toEqual([
      'service_databases.pursr',
      'releases[0].required_data_migrations[0].service',
      'releases[0].rollback_disabled[0]',
    ]);
  });

  it('accepts the shared fixture catalogs', () => {
    for (const dir of ['catalog', 'catalog-v0.1-only']) {
      const d = parseServiceDefinitions(fixture(`${dir}/services.yaml`), SRC);
      const c = parseReleaseCatalog(fixture(`${dir}/releases.yaml`), 'releases.yaml');
      expect(() => validateServicesAgainstCatalog(d, c, SRC)).not.toThrow();
    }
  });

  it.each([
    ['the real platform in catalog/', 'catalog'],
    ['the lab in lab/catalog/', 'lab/catalog'],
  ])('the catalog of %s is consistent', (_what, dir) => {
    const root = join(__dirname, '..', '..', dir);
    const d = parseServiceDefinitions(readFileSync(join(root, 'services.yaml'), 'utf8'), SRC);
    const c = parseReleaseCatalog(readFileSync(join(root, 'releases.yaml'), 'utf8'), 'releases.yaml');
    expect(() => validateServicesAgainstCatalog(d, c, SRC)).not.toThrow();
  });
});
