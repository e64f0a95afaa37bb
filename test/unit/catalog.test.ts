// Release catalog: strict load, base-version accessors and the catalog gates (reference §3.1, §6.2.1,
// SPEC §3.3; checklist items 31–34, 80–85, 88, 91, 92).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReleaseCatalog, type ReleaseCatalog } from '../../src/contracts/catalog';
import {
  checkCliVersionFloor,
  checkCompatibilityFloor,
  checkRequiredStops,
  lookupRelease,
  minCliVersionFor,
  releasesBelow,
  requiredTransitionIdsFor,
  rollbackDisabledFor,
  serviceDatabase,
  transitionsUpTo,
} from '../../src/domain/catalog';
import { hex64, inputError, issuePaths } from './support';

const SRC = 'catalog/releases.yaml';

/** The reference's shipped catalog at HEAD (reference §3.1 "Contents at HEAD"). */
const SHIPPED = `service_databases:
  commodore: commodore
  foghorn: foghorn
  navigator: navigator
  periscope-ingest: periscope
  periscope-query: periscope
  periscope-metering: periscope
  purser: purser
  quartermaster: quartermaster
  skipper: skipper
schema_migration_floor: v0.3.0
schema_migration_sentinels:
  - { engine: postgres, database: commodore, version: v0.2.96, phase: contract, sequence: 2, checksum: ${hex64('1')} }
  - { engine: postgres, database: foghorn, version: v0.2.96, phase: postdeploy, sequence: 5, checksum: ${hex64('2')} }
  - { engine: postgres, database: quartermaster, version: v0.2.96, phase: expand, sequence: 2, checksum: ${hex64('3')} }
  - { engine: postgres, database: navigator, version: v0.2.80, phase: expand, sequence: 1, checksum: ${hex64('4')} }
  - { engine: postgres, database: purser, version: v0.2.82, phase: contract, sequence: 1, checksum: ${hex64('5')} }
  - { engine: clickhouse, database: periscope, version: v0.2.96, phase: contract, sequence: 2, checksum: ${hex64('6')} }
releases:
  - version: v0.3.0
    min_cli_version: v0.3.0-rc1
`;

const MULTI = `service_databases: { purser: purser, chandler: chandler }
releases:
  - version: v0.3.0
    min_cli_version: v0.3.0-rc1
    compatible_from: v0.2.96
  - version: v0.2.96
    rollback_disabled: [chandler]
    required_stop: true
  - version: v0.2.97
    min_cli_version: v0.2.97-rc1
    rollback_disabled: [chandler]
    required_data_migrations:
      - id: billing-rating-v2
        service: purser
        introduced_in: v0.2.97
        required_before_phase: postdeploy
        required_before_version: v0.3.0
        driver: sql
  - version: v0.2.80
release_transitions:
  - { id: storage-descriptor-adoption, introduced_in: v0.2.97 }
`;

const shipped = (): ReleaseCatalog => parseReleaseCatalog(SHIPPED, SRC);
const multi = (): ReleaseCatalog => parseReleaseCatalog(MULTI, SRC);

describe('the shipped catalog (items 80, 81)', () => {
  it('has database ownership, the floor, sentinels and the v0.3.0 tooling floor', () => {
    const c = shipped();
    expect(c.schema_migration_floor).toBe('v0.3.0');
    expect(c.schema_migration_sentinels.filter((s) => s.engine === 'postgres')).toHaveLength(5);
    expect(c.schema_migration_sentinels.filter((s) => s.engine === 'clickhouse')).toHaveLength(1);
    for (const svc of ['purser', 'foghorn', 'navigator', 'skipper']) {
      expect(serviceDatabase(c, svc)).toEqual({ database: svc, declared: true });
    }
    expect(serviceDatabase(c, 'periscope-ingest')).toEqual({ database: 'periscope', declared: true });
    expect(serviceDatabase(c, 'decklog')).toEqual({ database: '', declared: false });
    expect(serviceDatabase(c, 'constructor')).toEqual({ database: '', declared: false });
    expect(minCliVersionFor(c, 'v0.3.0')).toBe('v0.3.0-rc1');
    expect(minCliVersionFor(c, 'v0.3.0-rc2')).toBe('v0.3.0-rc1');
    expect(lookupRelease(c, 'v0.5.0')).toBeUndefined();
    expect(minCliVersionFor(c, 'v0.5.0')).toBeUndefined();
  });

  // The real platform's catalog has its own test (shipped-catalog.test.ts); the lab keeps its fixture line here.
  it('the lab catalog in lab/catalog/ passes strict validation', () => {
    const dir = join(__dirname, '..', '..', 'lab', 'catalog');
    const lab = parseReleaseCatalog(readFileSync(join(dir, 'releases.yaml'), 'utf8'), SRC);
    expect(lab.releases.map((r) => r.version)).toEqual(['v0.1.0', 'v0.2.0', 'v0.3.0']);
  });
});

describe('strict load (items 82–84, 91, 92)', () => {
  it('tells an empty catalog (an explicit pass) from a corrupt one (§10 item 15)', () => {
    const empty = parseReleaseCatalog('service_databases: { purser: purser }\nreleases: []\n', SRC);
    expect(empty.releases).toEqual([]);
    expect(serviceDatabase(empty, 'purser')).toEqual({ database: 'purser', declared: true });
    // A zero-byte or comment-only file is more likely truncation than intent, so it is an error, not "empty".
    expect(inputError(() => parseReleaseCatalog('', SRC)).message).toContain('empty document');
    expect(inputError(() => parseReleaseCatalog('# releases: []\n', SRC)).message).toContain('empty document');
  });

  it('fails on invalid YAML with an error that carries no data (82)', () => {
    const err = inputError(() => parseReleaseCatalog('releases: [\n  - version: v0.3.0\n', SRC));
    expect(err.source).toBe(SRC);
    expect(err.message).toMatch(/line \d+:\d+/);
  });

  it('sorts releases ascending and keeps ownership (83)', () => {
    const c = multi();
    expect(c.releases.map((r) => r.version)).toEqual(['v0.2.80', 'v0.2.96', 'v0.2.97', 'v0.3.0']);
    expect(c.service_databases).toEqual({ purser: 'purser', chandler: 'chandler' });
    expect(c.releases[2]!.required_data_migrations[0]).toMatchObject({
      driver: 'sql',
      required_before_phase: 'postdeploy',
    });
  });

  it('returns empty lists, never undefined, for a catalog without releases (92)', () => {
    const c = parseReleaseCatalog('service_databases: { purser: purser }\n', SRC);
    expect(c.releases).toEqual([]);
    expect(c.release_transitions).toEqual([]);
    expect(c.schema_migration_sentinels).toEqual([]);
    expect(releasesBelow(c, 'v1.0.0')).toEqual([]);
  });

  const entry = (body: string) => `releases:\n  - version: v0.3.0\n${body}`;
  const dm = (fields: string) => entry(`    required_data_migrations:\n      - { ${fields} }\n`);
  const DM = 'id: x, service: purser, introduced_in: v0.3.0, required_before_phase: postdeploy';
  it.each([
    ['misspelt top-level key', 'release:\n  - version: v0.3.0\n', 'release'],
    ['misspelt entry key', entry('    min_cli_versions: v0.3.0\n'), 'releases[0].min_cli_versions'],
    ['misspelt compatible_from', entry('    compatible_form: v0.2.0\n'), 'releases[0].compatible_form'],
    ['misspelt required_stop', entry('    required_stpo: true\n'), 'releases[0].required_stpo'],
    [
      'misspelt requirement key',
      dm(`${DM}, required_before_phse: contract`),
      'releases[0].required_data_migrations[0].required_before_phse',
    ],
    ['version without v (91)', 'releases:\n  - version: 0.3.0\n', 'releases[0].version'],
    ['malformed version (91)', 'releases:\n  - version: v0.3\n', 'releases[0].version'],
    ['duplicate version', 'releases:\n  - version: v0.3.0\n  - version: v0.3.0\n', 'releases[1].version'],
    ['rc and final collide', 'releases:\n  - version: v0.3.0\n  - version: v0.3.0-rc1\n', 'releases[1].version'],
    [
      'bad phase',
      dm(DM.replace('postdeploy', 'expand')),
      'releases[0].required_data_migrations[0].required_before_phase',
    ],
    ['bad driver', dm(`${DM}, driver: shell`), 'releases[0].required_data_migrations[0].driver'],
    ['empty requirement id', dm(DM.replace('id: x', 'id: ""')), 'releases[0].required_data_migrations[0].id'],
    [
      'empty requirement service',
      dm(DM.replace('service: purser', 'service: ""')),
      'releases[0].required_data_migrations[0].service',
    ],
    [
      'deadline not after introduction',
      dm(`${DM}, required_before_version: v0.3.0`),
      'releases[0].required_data_migrations[0].required_before_version',
    ],
    [
      'bad transition version',
      'release_transitions: [{ id: t, introduced_in: latest }]\n',
      'release_transitions[0].introduced_in',
    ],
    [
      'duplicate transition id',
      'release_transitions: [{ id: t, introduced_in: v0.1.0 }, { id: t, introduced_in: v0.2.0 }]\n',
      'release_transitions[1].id',
    ],
    ['empty transition id', 'release_transitions: [{ id: "", introduced_in: v0.1.0 }]\n', 'release_transitions[0].id'],
    ['empty ownership db', 'service_databases: { purser: "" }\n', 'service_databases.purser'],
    ['non-identifier ownership db', 'service_databases: { purser: "purser; drop" }\n', 'service_databases.purser'],
    ['malformed min_cli_version', entry('    min_cli_version: v0.3.0-rc01\n'), 'releases[0].min_cli_version'],
    ['compatible_from at or above its release', entry('    compatible_from: v0.3.0\n'), 'releases[0].compatible_from'],
    ['required_stop not a boolean', entry('    required_stop: yes\n'), 'releases[0].required_stop'],
    ['bad floor', 'schema_migration_floor: v0.3\n', 'schema_migration_floor'],
  ])('rejects %s (84)', (_what, text, path) => {
    const err = inputError(() => parseReleaseCatalog(text, SRC));
    expect(issuePaths(err)).toContain(path);
    expect(err.message.startsWith(`${SRC}: `)).toBe(true);
  });

  it('rejects a trailing document (84)', () => {
    expect(inputError(() => parseReleaseCatalog('releases: []\n---\nreleases: []\n', SRC)).message).toContain(
      'exactly one YAML document',
    );
  });

  const S = (over: string) =>
    `schema_migration_sentinels:\n  - { engine: postgres, database: purser, version: v0.2.82, phase: contract, sequence: 1, checksum: ${hex64('a')}${over} }\n`;
  it.each([
    ['engine', S('').replace('postgres', 'mysql'), 'schema_migration_sentinels[0].engine'],
    ['sequence 0', S('').replace('sequence: 1', 'sequence: 0'), 'schema_migration_sentinels[0].sequence'],
    ['upper-case checksum', S('').replace(hex64('a'), hex64('A')), 'schema_migration_sentinels[0].checksum'],
    ['short checksum', S('').replace(hex64('a'), hex64('a').slice(2)), 'schema_migration_sentinels[0].checksum'],
    ['version', S('').replace('v0.2.82', 'v0.2'), 'schema_migration_sentinels[0].version'],
    ['phase', S('').replace('contract', 'data'), 'schema_migration_sentinels[0].phase'],
    ['empty database', S('').replace('database: purser', 'database: ""'), 'schema_migration_sentinels[0].database'],
    ['unknown key', S(', file: x.sql'), 'schema_migration_sentinels[0].file'],
  ])('rejects a sentinel with a bad %s', (_what, text, path) => {
    expect(issuePaths(inputError(() => parseReleaseCatalog(text, SRC)))).toContain(path);
  });

  it('rejects duplicate sentinels', () => {
    const one = S('').split('\n')[1]!;
    const text = `schema_migration_floor: v0.3.0\nschema_migration_sentinels:\n${one}\n${one}\n`;
    expect(issuePaths(inputError(() => parseReleaseCatalog(text, SRC)))).toEqual(['schema_migration_sentinels[1]']);
  });

  it('accepts sentinels below the floor and keeps every field', () => {
    const c = parseReleaseCatalog(`schema_migration_floor: v0.3.0\n${S('')}`, SRC);
    expect(c.schema_migration_sentinels).toEqual([
      {
        engine: 'postgres',
        database: 'purser',
        version: 'v0.2.82',
        phase: 'contract',
        sequence: 1,
        checksum: hex64('a'),
      },
    ]);
  });

  // A sentinel is only ever checked below the floor, so one the guard would never read is a catalog error.
  it('rejects sentinels without a floor, and a sentinel at or above the floor', () => {
    expect(issuePaths(inputError(() => parseReleaseCatalog(S(''), SRC)))).toEqual(['schema_migration_sentinels']);
    const at = `schema_migration_floor: v0.2.82\n${S('')}`;
    expect(issuePaths(inputError(() => parseReleaseCatalog(at, SRC)))).toEqual([
      'schema_migration_sentinels[0].version',
    ]);
    const above = `schema_migration_floor: v0.2.9\n${S('')}`;
    expect(inputError(() => parseReleaseCatalog(above, SRC)).message).toContain(
      'v0.2.82 is not below schema_migration_floor v0.2.9',
    );
  });

  it('rejects a compatible_from the catalog does not declare, and a service listed twice in rollback_disabled', () => {
    const text = `releases:
  - version: v0.3.0
    compatible_from: v0.2.5
    rollback_disabled: [chandler, foghorn, chandler]
  - version: v0.2.96
`;
    const err = inputError(() => parseReleaseCatalog(text, SRC));
    // Paths name positions in the file as written (before releases are sorted).
    expect(issuePaths(err).sort()).toEqual(['releases[0].compatible_from', 'releases[0].rollback_disabled[2]']);
    expect(err.message).toContain('v0.2.5 is not declared in releases');
    // Declared (as an rc of the same line, too) it passes.
    expect(() =>
      parseReleaseCatalog(text.replace('v0.2.5', 'v0.2.96-rc1').replace(', chandler]', ']'), SRC),
    ).not.toThrow();
  });

  it('reports every problem of a catalog at once', () => {
    const text = `schema_migration_floor: v0.3.0
schema_migration_sentinels:
  - { engine: postgres, database: purser, version: v0.3.1, phase: contract, sequence: 1, checksum: ${hex64('a')} }
releases:
  - version: 0.3.0
  - version: v0.2.96
    compatible_from: v0.2.1
release_transitions:
  - { id: t, introduced_in: v0.2.96 }
  - { id: t, introduced_in: v0.3 }
`;
    expect(issuePaths(inputError(() => parseReleaseCatalog(text, SRC))).sort()).toEqual([
      'release_transitions[1].id',
      'release_transitions[1].introduced_in',
      'releases[0].version',
      'releases[1].compatible_from',
      'schema_migration_sentinels[0].version',
    ]);
  });

  it('rejects a data migration required twice', () => {
    const text = `releases:
  - version: v0.3.0
    required_data_migrations:
      - { id: x, service: purser, introduced_in: v0.3.0, required_before_phase: contract }
  - version: v0.4.0
    required_data_migrations:
      - { id: x, service: purser, introduced_in: v0.4.0, required_before_phase: contract }
`;
    expect(issuePaths(inputError(() => parseReleaseCatalog(text, SRC)))).toEqual([
      'releases[1].required_data_migrations[0].id',
    ]);
  });
});

describe('accessors', () => {
  it('releasesBelow is strictly below the target base, ascending (85)', () => {
    expect(releasesBelow(shipped(), 'v0.3.0')).toEqual([]);
    expect(releasesBelow(shipped(), 'v0.3.0-rc1')).toEqual([]);
    const c = multi();
    expect(releasesBelow(c, 'v0.3.0').map((r) => r.version)).toEqual(['v0.2.80', 'v0.2.96', 'v0.2.97']);
    expect(releasesBelow(c, 'v0.3.0-rc2').map((r) => r.version)).toEqual(['v0.2.80', 'v0.2.96', 'v0.2.97']);
    expect(releasesBelow(c, 'v0.2.97-rc1').map((r) => r.version)).toEqual(['v0.2.80', 'v0.2.96']);
    expect(releasesBelow(c, 'v0.2.80')).toEqual([]);
    expect(releasesBelow(c, 'v9.0.0')).toHaveLength(4);
  });

  it('looks up by base version so an rc resolves to its final entry', () => {
    expect(lookupRelease(multi(), 'v0.2.97-rc3')?.version).toBe('v0.2.97');
    expect(rollbackDisabledFor(multi(), 'v0.2.97-rc3')).toEqual(['chandler']);
    expect(rollbackDisabledFor(multi(), 'v0.3.0')).toEqual([]);
    expect(rollbackDisabledFor(multi(), 'v0.9.0')).toEqual([]);
  });

  it('v0.3.0 and its rc require no transitions (88)', () => {
    expect(requiredTransitionIdsFor(shipped(), 'v0.3.0')).toEqual([]);
    expect(requiredTransitionIdsFor(shipped(), 'v0.3.0-rc1')).toEqual([]);
    expect(requiredTransitionIdsFor(multi(), 'v0.2.97-rc1')).toEqual(['storage-descriptor-adoption']);
  });

  it('transitionsUpTo includes transitions introduced at or below the target line', () => {
    expect(transitionsUpTo(multi(), 'v0.2.96').map((t) => t.id)).toEqual([]);
    expect(transitionsUpTo(multi(), 'v0.2.97-rc1').map((t) => t.id)).toEqual(['storage-descriptor-adoption']);
    expect(transitionsUpTo(multi(), 'v0.3.0').map((t) => t.id)).toEqual(['storage-descriptor-adoption']);
  });
});

describe('checkCliVersionFloor (items 31–34)', () => {
  it('refuses a concrete CLI below the floor, even with the bypass (31)', () => {
    for (const unsafeIgnore of [false, true]) {
      const r = checkCliVersionFloor('v0.2.9', 'v0.3.0-rc1', { unsafeIgnore });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain("older than the release's required minimum");
    }
    expect(checkCliVersionFloor('v0.3.0-rc1', 'v0.3.0').ok).toBe(false);
  });

  it('passes an equal or newer version, with or without v or a describe suffix (32)', () => {
    expect(checkCliVersionFloor('v0.3.0-rc1', 'v0.3.0-rc1')).toEqual({ ok: true });
    expect(checkCliVersionFloor('0.3.0', 'v0.3.0-rc1')).toEqual({ ok: true });
    expect(checkCliVersionFloor('v0.3.0-7-gabc1234-dirty', 'v0.3.0')).toEqual({ ok: true });
  });

  it.each(['dev', 'unknown', '', 'v0.3'])('refuses the non-concrete version %j (33)', (cli) => {
    const r = checkCliVersionFloor(cli, 'v0.3.0');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain('non-concrete');
      expect(r.fix).toContain('--unsafe-ignore-cli-version-floor');
    }
  });

  it('lets the unsafe flag bypass a non-concrete version with a loud warning (34)', () => {
    const r = checkCliVersionFloor('dev', 'v0.3.0', { unsafeIgnore: true });
    expect(r.ok).toBe(true);
    expect(r.ok && r.warning).toMatch(/^WARNING.*BYPASSED/);
  });

  it('is a no-op without a floor and fails closed on a malformed floor', () => {
    expect(checkCliVersionFloor('dev', undefined)).toEqual({ ok: true });
    expect(checkCliVersionFloor('dev', '')).toEqual({ ok: true });
    expect(checkCliVersionFloor('v1.0.0', 'garbage').ok).toBe(false);
  });
});

describe('checkCompatibilityFloor (SPEC §3.3)', () => {
  const running = (...versions: string[]) =>
    versions.map((version, i) => ({ service: `svc${i}`, host: 'h1', version }));

  it('refuses when anything runs below compatible_from, naming it and the floor', () => {
    const r = checkCompatibilityFloor(multi(), 'v0.3.0', running('v0.2.97', 'v0.2.80'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain('svc1 on h1 runs v0.2.80');
      expect(r.reason).toContain('deploy v0.2.96 first');
      expect(r.fix).toContain('--version v0.2.96');
    }
  });

  it('compares base versions: an rc of the floor line satisfies it', () => {
    expect(checkCompatibilityFloor(multi(), 'v0.3.0', running('v0.2.96-rc2', 'v0.2.97'))).toEqual({ ok: true });
    expect(checkCompatibilityFloor(multi(), 'v0.3.0-rc1', running('v0.2.96'))).toEqual({ ok: true });
    expect(checkCompatibilityFloor(multi(), 'v0.3.0-rc1', running('v0.2.95')).ok).toBe(false);
  });

  it('passes when no floor is declared or nothing runs yet', () => {
    expect(checkCompatibilityFloor(multi(), 'v0.2.97', running('v0.1.0'))).toEqual({ ok: true });
    expect(checkCompatibilityFloor(multi(), 'v0.3.0', [])).toEqual({ ok: true });
  });

  it('fails closed on a version it cannot read', () => {
    const r = checkCompatibilityFloor(multi(), 'v0.3.0', running('v0.2.97', 'unknown'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('"unknown"');
  });
});

describe('checkRequiredStops (SPEC §3.3)', () => {
  const running = (...versions: string[]) => versions.map((version) => ({ service: 'purser', version }));

  it('refuses jumping over a required stop from below', () => {
    const r = checkRequiredStops(multi(), 'v0.2.97', running('v0.2.80'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain('upgrade to v0.2.96 first');
      expect(r.fix).toBe('frameworks cluster upgrade --all --version v0.2.96');
    }
  });

  it('uses the lowest detected version', () => {
    expect(checkRequiredStops(multi(), 'v0.3.0', running('v0.2.97', 'v0.2.80')).ok).toBe(false);
  });

  it('allows upgrading to the stop itself and from the stop onwards', () => {
    expect(checkRequiredStops(multi(), 'v0.2.96', running('v0.2.80'))).toEqual({ ok: true });
    expect(checkRequiredStops(multi(), 'v0.2.96-rc1', running('v0.2.80'))).toEqual({ ok: true });
    expect(checkRequiredStops(multi(), 'v0.3.0', running('v0.2.96'))).toEqual({ ok: true });
    expect(checkRequiredStops(multi(), 'v0.3.0', running('v0.2.96-rc1'))).toEqual({ ok: true });
  });

  it('passes without stops or running versions, and fails closed on unreadable ones when stops exist', () => {
    expect(checkRequiredStops(shipped(), 'v0.3.0', running('dev'))).toEqual({ ok: true });
    expect(checkRequiredStops(multi(), 'v0.3.0', [])).toEqual({ ok: true });
    expect(checkRequiredStops(multi(), 'v0.3.0', running('dev')).ok).toBe(false);
  });
});
