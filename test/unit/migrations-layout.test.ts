// Layout, ordering, selection and ledger comparison of schema migrations (reference §4.1–§4.3; §9 items 94,
// 95, 102, 104–105, 116, 118; §10 items 3 and 17).
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors';
import {
  checksumMismatches,
  parseMigrationPath,
  pendingAgainstLedger,
  selectMigrations,
  sortMigrations,
} from '../../src/domain/migrations/layout';
import { item, row } from './migrations-support';

describe('parseMigrationPath', () => {
  it('parses a transactional and a .notx.sql file', () => {
    expect(parseMigrationPath('purser/v0.2.0/expand/001_invoice_line_items.sql')).toEqual({
      database: 'purser',
      version: 'v0.2.0',
      phase: 'expand',
      seq: 1,
      filename: '001_invoice_line_items.sql',
      transactional: true,
    });
    expect(parseMigrationPath('purser/v0.2.0/expand/002_idx.notx.sql')).toMatchObject({ seq: 2, transactional: false });
  });

  it.each([
    ['flat layout', 'purser/001_x.sql', /four path segments/],
    ['too deep', 'purser/v0.2.0/expand/extra/001_x.sql', /four path segments/],
    ['version without v', 'purser/0.2.0/expand/001_x.sql', /lacks the leading "v"/],
    ['non-version folder', 'purser/latest/expand/001_x.sql', /version folder/],
    ['prerelease folder', 'purser/v0.2.0-rc1/expand/001_x.sql', /release line/],
    ['unknown phase', 'purser/v0.2.0/data/001_x.sql', /unknown phase "data"/],
    ['sequence 0', 'purser/v0.2.0/expand/000_x.sql', /sequence number/],
    ['no sequence', 'purser/v0.2.0/expand/_x.sql', /sequence number/],
    ['letters as sequence', 'purser/v0.2.0/expand/abc_x.sql', /sequence number/],
    ['no underscore', 'purser/v0.2.0/expand/001.sql', /must look like/],
    ['sequence too large for INT', 'purser/v0.2.0/expand/99999999999_x.sql', /sequence number/],
    ['empty description', 'purser/v0.2.0/expand/001_.sql', /description/],
    ['database not an identifier', 'bad-db/v0.2.0/expand/001_x.sql', /SQL identifier/],
  ])('rejects %s', (_name, path, message) => {
    const r = parseMigrationPath(path);
    expect(r).toHaveProperty('error');
    expect((r as { error: string }).error).toMatch(message);
  });

  it('rejects a database folder that is not a known database', () => {
    const r = parseMigrationPath('billing/v0.2.0/expand/001_x.sql', ['purser', 'commodore']);
    expect(r).toEqual({ error: 'unknown database "billing" (known: commodore, purser)' });
    expect(parseMigrationPath('purser/v0.2.0/expand/001_x.sql', ['purser'])).not.toHaveProperty('error');
  });

  it('takes the sequence from the digits before the first underscore', () => {
    expect(parseMigrationPath('purser/v0.2.0/expand/12_a_b.sql')).toMatchObject({ seq: 12 });
  });
});

describe('sortMigrations', () => {
  it('orders by database, semver version, phase order, then sequence', () => {
    const paths = [
      'purser/v0.10.0/expand/001_a.sql',
      'purser/v0.2.0/contract/001_a.sql',
      'purser/v0.2.0/expand/010_a.sql',
      'purser/v0.2.0/postdeploy/001_a.sql',
      'commodore/v0.3.0/expand/001_a.sql',
      'purser/v0.2.0/expand/002_a.notx.sql',
    ];
    expect(sortMigrations(paths.map(item)).map((i) => i.relPath)).toEqual([
      'commodore/v0.3.0/expand/001_a.sql',
      'purser/v0.2.0/expand/002_a.notx.sql',
      'purser/v0.2.0/expand/010_a.sql',
      'purser/v0.2.0/postdeploy/001_a.sql',
      'purser/v0.2.0/contract/001_a.sql',
      'purser/v0.10.0/expand/001_a.sql',
    ]);
  });
});

describe('selectMigrations', () => {
  const all = [
    'purser/v0.1.0/expand/001_a.sql',
    'purser/v0.2.0/expand/001_a.sql',
    'purser/v0.2.0/postdeploy/001_a.sql',
    'purser/v0.3.0/expand/001_a.sql',
    'commodore/v0.2.0/expand/001_a.sql',
  ].map(item);
  const paths = (xs: { relPath: string }[]) => xs.map((x) => x.relPath);

  it('selects one phase up to the target, all databases by default', () => {
    expect(paths(selectMigrations(all, { phase: 'expand', target: 'v0.2.0' }))).toEqual([
      'commodore/v0.2.0/expand/001_a.sql',
      'purser/v0.1.0/expand/001_a.sql',
      'purser/v0.2.0/expand/001_a.sql',
    ]);
  });

  it("an rc target includes its final's migrations", () => {
    expect(paths(selectMigrations(all, { phase: 'expand', target: 'v0.3.0-rc1', databases: ['purser'] }))).toEqual([
      'purser/v0.1.0/expand/001_a.sql',
      'purser/v0.2.0/expand/001_a.sql',
      'purser/v0.3.0/expand/001_a.sql',
    ]);
  });

  it('filters by database and never offers anything below the floor', () => {
    expect(
      paths(selectMigrations(all, { phase: 'expand', target: 'v0.3.0', databases: ['purser'], floor: 'v0.2.0' })),
    ).toEqual(['purser/v0.2.0/expand/001_a.sql', 'purser/v0.3.0/expand/001_a.sql']);
  });

  it('requires a target and a known phase', () => {
    expect(() => selectMigrations(all, { phase: 'expand', target: '' })).toThrow(InputError);
    expect(() => selectMigrations(all, { phase: 'expand', target: 'stable' })).toThrow(/channel name/);
    expect(() => selectMigrations(all, { phase: 'data', target: 'v0.2.0' })).toThrow(/unknown phase/);
  });
});

describe('ledger comparison', () => {
  const a = item('purser/v0.2.0/expand/001_a.sql');
  const b = item('purser/v0.2.0/expand/002_b.sql');
  const c = item('purser/v0.2.0/postdeploy/001_c.sql');

  it('pending = items whose version:phase:seq has no row; an empty ledger leaves everything pending', () => {
    expect(pendingAgainstLedger([a, b, c], [])).toEqual([a, b, c]);
    expect(pendingAgainstLedger([a, b, c], [row(a), row(c)])).toEqual([b]);
  });

  it('the filename is not part of the key: a renamed file with the same key counts as applied', () => {
    const renamed = { ...row(a), filename: '001_old_name.sql' };
    expect(pendingAgainstLedger([a], [renamed])).toEqual([]);
    expect(checksumMismatches([a], [renamed])).toEqual([]);
  });

  it('a row with the same key and another checksum is an edited migration, named with both checksums', () => {
    const edited = 'f'.repeat(64);
    const [m] = checksumMismatches([a, b], [row(a, edited), row(b)]);
    expect(m).toMatchObject({ item: a, ledgerChecksum: edited });
    expect(m!.message).toContain('checksum mismatch');
    expect(m!.message).toContain('purser/v0.2.0/expand/001_a.sql');
    expect(m!.message).toContain(edited);
    expect(m!.message).toContain(a.checksum);
  });
});
