// The statement splitter of reference §4.4 (§9 item 102): boundaries, kept terminators, literals, comments and
// dollar quotes, plus the code view the lint matches on.
import { describe, expect, it } from 'vitest';
import { lexSql, readDollarTag, splitSqlStatements, stripComments } from '../../src/domain/migrations/sql-lexer';

const texts = (sql: string) => splitSqlStatements(sql).map((s) => s.text);

describe('splitSqlStatements', () => {
  it.each([
    ['one statement', 'SELECT 1;', ['SELECT 1;']],
    ['two statements keep their terminators', 'SELECT 1; SELECT 2;', ['SELECT 1;', 'SELECT 2;']],
    ['trailing text without ; is a statement', 'SELECT 1; SELECT 2', ['SELECT 1;', 'SELECT 2']],
    ['; inside a string', "SELECT 'a;b';", ["SELECT 'a;b';"]],
    ["'' escape inside a string", "SELECT 'it''s; fine'; SELECT 2;", ["SELECT 'it''s; fine';", 'SELECT 2;']],
    ['; inside a quoted identifier', 'SELECT 1 AS "x;y";', ['SELECT 1 AS "x;y";']],
    ['; inside a line comment', 'SELECT 1 -- a;b\n;', ['SELECT 1 -- a;b\n;']],
    ['; inside a block comment', 'SELECT /* ; */ 1;', ['SELECT /* ; */ 1;']],
    ['; inside $$ … $$', 'DO $$ BEGIN PERFORM 1; END $$;', ['DO $$ BEGIN PERFORM 1; END $$;']],
    ['; inside $tag$ … $tag$ with an inner $$', 'SELECT $fn$ a; $$ b; $fn$;', ['SELECT $fn$ a; $$ b; $fn$;']],
    ['whitespace-only tail is no statement', 'SELECT 1;\n\n  \n', ['SELECT 1;']],
    ['empty input', '', []],
  ])('%s', (_name, sql, expected) => {
    expect(texts(sql)).toEqual(expected);
  });

  it('a lone $ is not a quote', () => {
    expect(texts('SELECT $1; SELECT 2;')).toEqual(['SELECT $1;', 'SELECT 2;']);
    expect(texts('SELECT 5 $ 3; SELECT 2;')).toEqual(['SELECT 5 $ 3;', 'SELECT 2;']);
  });

  it('consecutive semicolons yield a bare ; statement', () => {
    expect(texts('SELECT 1;;SELECT 2;')).toEqual(['SELECT 1;', ';', 'SELECT 2;']);
  });

  it('E strings honour backslash escapes, plain strings do not', () => {
    expect(texts("SELECT E'a\\';b'; SELECT 2;")).toEqual(["SELECT E'a\\';b';", 'SELECT 2;']);
    expect(texts("SELECT 'a\\'; SELECT 2;")).toEqual(["SELECT 'a\\';", 'SELECT 2;']);
  });

  it('nested block comments close at the outer */', () => {
    expect(texts('/* a /* b; */ c; */ SELECT 1; SELECT 2;')).toEqual(['/* a /* b; */ c; */ SELECT 1;', 'SELECT 2;']);
  });

  it('reports the line where each statement starts (not where its leading comment starts)', () => {
    const sql = '-- header\n\nCREATE TABLE a (id int);\n\n-- why\nCREATE TABLE b (\n  id int\n);\nSELECT 1; SELECT 2;';
    expect(splitSqlStatements(sql).map((s) => s.line)).toEqual([3, 6, 9, 9]);
  });

  it('a comment-only tail is not a statement', () => {
    expect(texts('SELECT 1;\n-- the end\n')).toEqual(['SELECT 1;']);
  });
});

describe('readDollarTag', () => {
  it.each([
    ['$$', '$$'],
    ['$body$ x', '$body$'],
    ['$_a1$', '$_a1$'],
    ['$1', undefined],
    ['$1a$', undefined],
    ['$ ', undefined],
    ['$a', undefined],
  ])('%j → %j', (input, tag) => {
    expect(readDollarTag(input, 0)).toBe(tag);
  });

  it('a $ inside an identifier does not open a quote', () => {
    expect(readDollarTag('a$b$', 1)).toBeUndefined();
    expect(texts('SELECT a$b$c; SELECT 2;')).toEqual(['SELECT a$b$c;', 'SELECT 2;']);
  });
});

describe('lexSql code view', () => {
  it('masks comments, string contents and dollar bodies, keeping length and newlines', () => {
    const sql = 'SELECT \'DROP TABLE x\' -- DROP\n, $$ DELETE FROM y; $$, "my col";';
    const [stmt] = lexSql(sql).statements;
    expect(stmt!.code).toHaveLength(stmt!.text.length);
    expect(stmt!.code).not.toMatch(/DROP|DELETE/);
    expect(stmt!.code).toContain('"______"');
    expect(stmt!.code.split('\n')).toHaveLength(2);
  });

  it('reports an unterminated literal with its starting line', () => {
    expect(lexSql("SELECT 1;\nSELECT 'oops;\nSELECT 2;").unterminated).toEqual({ construct: 'string', line: 2 });
    expect(lexSql('SELECT $$ x').unterminated).toEqual({ construct: 'dollar quote', line: 1 });
    expect(lexSql('/* x').unterminated).toEqual({ construct: 'block comment', line: 1 });
    expect(lexSql('SELECT 1;').unterminated).toBeUndefined();
  });
});

describe('stripComments', () => {
  it('removes comments but keeps literals and line positions', () => {
    const sql = "SELECT '-- not a comment' /* gone */, 1; -- gone\nSELECT 2;";
    const out = stripComments(sql);
    expect(out).toContain("'-- not a comment'");
    expect(out).not.toContain('gone');
    expect(out.split('\n')).toHaveLength(2);
  });
});
