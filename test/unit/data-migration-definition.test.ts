// Definition files of the sql data-migration driver: named statements, the parameter contract, and every
// problem reported at once with its file and line.
import { LAB_MIGRATIONS_DIR } from '../../lab/config';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maxParamIndex, parseDataMigrationDefinition } from '../../src/domain/data-migrations/definition';
import { InputError } from '../../src/errors';

const SOURCE = 'purser/v0.2.0/data/backfill.sql';

function problems(text: string): string {
  try {
    parseDataMigrationDefinition(text, SOURCE);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected an InputError');
}

const MINIMAL = [
  '-- Backfills things.', // 1
  '', // 2
  '-- name: batch', // 3
  'SELECT $1::jsonb AS next_checkpoint,', // 4
  '       $2::int AS scanned;', // 5
  '-- name: verify', // 6
  '', // 7
  "SELECT 'rows' AS name, '1' AS expected, '1' AS actual", // 8
].join('\n');

describe('parseDataMigrationDefinition', () => {
  it('parses named statements with their lines and parameter counts; the id is the file name', () => {
    const def = parseDataMigrationDefinition(MINIMAL, SOURCE);
    expect(def.id).toBe('backfill');
    expect(def.batch).toEqual({
      name: 'batch',
      sql: 'SELECT $1::jsonb AS next_checkpoint,\n       $2::int AS scanned;',
      line: 4,
      params: 2,
    });
    expect(def.verify).toMatchObject({ line: 8, params: 0 });
    expect(def.scopes).toBeUndefined();
    expect(def.estimate).toBeUndefined();
  });

  it('parses the shipped purser invoice-line-items definition', () => {
    const rel = 'purser/v0.2.0/data/invoice-line-items.sql';
    const def = parseDataMigrationDefinition(readFileSync(join(LAB_MIGRATIONS_DIR, rel), 'utf8'), rel);
    expect(def.id).toBe('invoice-line-items');
    expect(def.batch.params).toBe(2);
    expect(def.verify.params).toBe(0);
    expect(def.estimate?.params).toBe(0);
    expect(def.scopes).toBeUndefined();
  });

  it('accepts optional scopes and estimate when batch reads the scope', () => {
    const def = parseDataMigrationDefinition(
      [
        '-- name: scopes',
        "SELECT 'tenant' AS kind, id::text AS value FROM tenants",
        '-- name: batch',
        'SELECT $1::jsonb, $2::int, $3::text, $4::text',
        '-- name: verify',
        "SELECT 'a', '1', '1'",
        '-- name: estimate',
        'SELECT count(*) AS total FROM t WHERE $1::jsonb IS NOT NULL AND $2::int IS NULL AND kind = $3 AND v = $4',
      ].join('\n'),
      SOURCE,
    );
    expect(def.scopes).toMatchObject({ line: 2, params: 0 });
    expect(def.batch.params).toBe(4);
    expect(def.estimate).toMatchObject({ line: 8, params: 4 });
  });

  it('reports every problem at once, each with file and line', () => {
    const message = problems(
      [
        'SELECT 1;', // 1: SQL before the first marker
        '-- name: batch', // 2
        'SELECT $1::jsonb, $2::int', // 3
        '-- name: bogus', // 4: unknown name
        'SELECT 1', // 5
        '-- name: batch', // 6: duplicate
        'SELECT 2', // 7
      ].join('\n'),
    );
    expect(message).toContain(`${SOURCE}: 4 problems`);
    expect(message).toContain('line 1: SQL before the first "-- name:" line');
    expect(message).toContain(
      'line 4: unknown statement name "bogus" (expected one of batch, verify, scopes, estimate)',
    );
    expect(message).toContain('line 6: duplicate "batch" (first at line 2)');
    expect(message).toContain('missing required "-- name: verify" statement');
  });

  it('requires batch and verify', () => {
    const message = problems("-- name: scopes\nSELECT 'k', 'v'\n");
    expect(message).toContain('missing required "-- name: batch" statement');
    expect(message).toContain('missing required "-- name: verify" statement');
  });

  it.each([
    [
      'verify with a parameter',
      '-- name: batch\nSELECT $1::jsonb, $2::int\n-- name: verify\nSELECT $1::text',
      'line 4: verify: takes no parameters but uses $1',
    ],
    [
      'scopes with a parameter',
      '-- name: batch\nSELECT $1::jsonb, $2::int, $3, $4\n-- name: verify\nSELECT 1\n-- name: scopes\nSELECT $1',
      'line 6: scopes: takes no parameters but uses $1',
    ],
    [
      'batch beyond $4',
      '-- name: batch\nSELECT $1::jsonb, $2::int, $3, $4, $5\n-- name: verify\nSELECT 1',
      'line 2: batch: uses $5 but only $1..$4 are passed',
    ],
    [
      'a parameter gap',
      '-- name: batch\nSELECT $3::text\n-- name: verify\nSELECT 1',
      'line 2: batch: uses $3 but never mentions $1, $2',
    ],
    [
      'two statements under one name',
      '-- name: batch\nSELECT $1::jsonb, $2::int;\nSELECT 2;\n-- name: verify\nSELECT 1',
      'line 3: batch: one statement per name, found 2',
    ],
    [
      'an empty statement',
      '-- name: batch\n-- only a comment\n-- name: verify\nSELECT 1',
      'line 1: batch: no SQL statement after "-- name: batch"',
    ],
    [
      'an unterminated string',
      "-- name: batch\nSELECT 'oops\n-- name: verify\nSELECT 1",
      'line 2: batch: unterminated string',
    ],
    [
      'scopes that batch ignores',
      "-- name: batch\nSELECT $1::jsonb, $2::int\n-- name: verify\nSELECT 1\n-- name: scopes\nSELECT 'k', 'v'",
      'line 2: the file defines scopes but batch never reads the scope',
    ],
  ])('rejects %s', (_name, text, expected) => {
    const message = problems(text);
    expect(message).toContain(SOURCE);
    expect(message).toContain(expected);
  });
});

describe('maxParamIndex', () => {
  it.each([
    ['no parameters', 'SELECT 1', 0],
    ['the highest one used', 'SELECT $2, $1', 2],
    ['two digits', 'SELECT $1, $12', 12],
    ['not inside strings, comments or dollar quotes', "SELECT $1, '$7' -- $8\n/* $9 */, $q$ $6 $q$", 1],
    ['not in identifiers containing $', 'SELECT a$3 FROM t$4 WHERE x = $2', 2],
    ['not the $$ of a dollar quote', 'SELECT $$ $5 $$', 0],
  ])('%s', (_name, sql, expected) => {
    expect(maxParamIndex(sql)).toBe(expected);
  });
});
