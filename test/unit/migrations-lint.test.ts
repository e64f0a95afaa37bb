// `migrate validate` rules (reference §4.4; §9 items 96, 98–101): every rule has a failing and a passing case,
// and all problems of a tree come back at once with the line of the offending statement.
import { describe, expect, it } from 'vitest';
import { parseReleaseCatalog } from '../../src/contracts/catalog';
import { formatLintProblem, lintMigrations, type LintFile } from '../../src/domain/migrations/lint';

const catalog = parseReleaseCatalog(
  'releases:\n  - version: v0.1.0\n  - version: v0.2.0\n  - version: v0.3.0-rc1\n',
  'releases.yaml',
);
const withFloor = parseReleaseCatalog(
  'schema_migration_floor: v0.2.0\nreleases:\n  - version: v0.1.0\n  - version: v0.2.0\n',
  'releases.yaml',
);

const EXPAND = 'purser/v0.2.0/expand/001_x.sql';
const POSTDEPLOY = 'purser/v0.2.0/postdeploy/001_x.sql';
const CONTRACT = 'purser/v0.2.0/contract/001_x.sql';
const NOTX = 'purser/v0.2.0/expand/002_idx.notx.sql';

function lint(files: Record<string, string>, opts: Parameters<typeof lintMigrations>[1] = { catalog }) {
  const list: LintFile[] = Object.entries(files).map(([relPath, sql]) => ({ relPath, sql }));
  return lintMigrations(list, opts);
}
const rules = (files: Record<string, string>, opts?: Parameters<typeof lintMigrations>[1]) =>
  lint(files, opts).map((p) => p.rule);

describe('expand must not destroy or rewrite', () => {
  it.each([
    ['DROP TABLE', 'DROP TABLE invoices;'],
    ['DROP TABLE IF EXISTS', 'DROP TABLE IF EXISTS invoices;'],
    ['DROP COLUMN', 'ALTER TABLE invoices DROP COLUMN line_items;'],
    ['DROP <column> without COLUMN', 'ALTER TABLE invoices DROP line_items;'],
    ['DROP SCHEMA', 'DROP SCHEMA billing CASCADE;'],
    ['DROP TYPE', 'DROP TYPE invoice_status;'],
    ['DROP INDEX', 'DROP INDEX invoices_tenant_idx;'],
    ['RENAME COLUMN', 'ALTER TABLE invoices RENAME COLUMN number TO invoice_number;'],
    ['RENAME TABLE', 'ALTER TABLE invoices RENAME TO bills;'],
    ['ALTER COLUMN … TYPE', 'ALTER TABLE invoices ALTER COLUMN total_cents TYPE numeric;'],
    ['ALTER … SET DATA TYPE', 'ALTER TABLE invoices ALTER total_cents SET DATA TYPE numeric;'],
    ['SET NOT NULL', 'ALTER TABLE invoices ALTER COLUMN number SET NOT NULL;'],
    ['UPDATE … SET', "UPDATE invoices SET status = 'open' WHERE status = 'draft';"],
    ['UPDATE ONLY a quoted table', 'UPDATE ONLY "Invoices" SET total_cents = 0;'],
    ['UPDATE in a CTE', 'WITH x AS (SELECT 1) UPDATE invoices SET total_cents = 0;'],
    ['DELETE FROM', "DELETE FROM invoices WHERE status = 'void';"],
    ['TRUNCATE', 'TRUNCATE invoices;'],
  ])('%s is rejected in expand and accepted in postdeploy and contract', (_name, sql) => {
    const problems = lint({ [EXPAND]: `-- expand\n${sql}\n` });
    expect(problems).toEqual([expect.objectContaining({ file: EXPAND, line: 2, rule: 'expand-destructive' })]);
    expect(problems[0]!.message).toMatch(/not allowed in expand/);
    expect(lint({ [POSTDEPLOY]: sql, [CONTRACT]: sql })).toEqual([]);
  });

  it.each([
    ['inside a comment', '-- DROP TABLE invoices;\n/* DELETE FROM invoices; */ SELECT 1;'],
    ['inside a string', "COMMENT ON TABLE invoices IS 'DROP TABLE invoices; UPDATE invoices SET x = 1';"],
    [
      'inside a DO $$ body with inner semicolons and EXECUTE',
      "DO $$\nBEGIN\n  EXECUTE 'DROP TABLE old';\n  DELETE FROM tmp;\n  UPDATE t SET a = 1;\nEND\n$$;",
    ],
    [
      'inside a function body',
      'CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN UPDATE t SET a = 1; RETURN NEW; END $fn$;',
    ],
    ['a BEFORE UPDATE ON trigger', 'CREATE TRIGGER t BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION f();'],
    [
      'an AFTER INSERT OR UPDATE OF trigger',
      'CREATE TRIGGER t AFTER INSERT OR UPDATE OF status ON invoices FOR EACH ROW EXECUTE FUNCTION f();',
    ],
    ['FK actions', 'CREATE TABLE l (id int REFERENCES invoices (id) ON DELETE CASCADE ON UPDATE SET NULL, note text);'],
    ['GRANT UPDATE', 'GRANT SELECT, UPDATE ON invoices TO purser_app;'],
    ['additive DDL', 'CREATE TABLE t (id int);\nALTER TABLE invoices ADD COLUMN note text;\nCREATE INDEX i ON t (id);'],
    ['DROP DEFAULT / DROP NOT NULL (relaxing)', 'ALTER TABLE invoices ALTER COLUMN number DROP NOT NULL;'],
    ['a table named like a keyword', 'ALTER TABLE type ADD COLUMN note text;'],
    ['INSERT of seed rows', "INSERT INTO billing_plans (code, name, monthly_price_cents) VALUES ('free', 'Free', 0);"],
  ])('is not triggered by %s', (_name, sql) => {
    expect(lint({ [EXPAND]: sql })).toEqual([]);
  });
});

describe('expand ADD CONSTRAINT needs NOT VALID', () => {
  it('is checked per statement and per ALTER TABLE action', () => {
    const sql = [
      'ALTER TABLE a ADD CONSTRAINT a_fk FOREIGN KEY (x) REFERENCES b (id) NOT VALID;',
      'ALTER TABLE a ADD CONSTRAINT a_chk CHECK (x > 0);',
      'ALTER TABLE a ADD CONSTRAINT a_c1 CHECK (x > 0) NOT VALID,',
      '  ADD CONSTRAINT a_c2 CHECK (y > 0);',
    ].join('\n');
    expect(lint({ [EXPAND]: sql }).map((p) => [p.rule, p.line])).toEqual([
      ['expand-constraint-not-valid', 2],
      ['expand-constraint-not-valid', 4],
    ]);
  });

  it('passes with NOT VALID, and outside expand', () => {
    const ok = 'ALTER TABLE a ADD CONSTRAINT a_chk CHECK (x > 0) NOT VALID;';
    expect(lint({ [EXPAND]: ok })).toEqual([]);
    expect(lint({ [POSTDEPLOY]: 'ALTER TABLE a ADD CONSTRAINT a_chk CHECK (x > 0);' })).toEqual([]);
  });

  it('a NOT VALID in a string does not count', () => {
    expect(rules({ [EXPAND]: "ALTER TABLE a ADD CONSTRAINT c CHECK (x <> 'NOT VALID');" })).toEqual([
      'expand-constraint-not-valid',
    ]);
  });
});

describe('concurrent index rules', () => {
  const index = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (x);';

  it('CREATE INDEX CONCURRENTLY requires .notx.sql, in any phase', () => {
    expect(rules({ [EXPAND]: index })).toEqual(['concurrent-index-needs-notx']);
    expect(rules({ [POSTDEPLOY]: 'CREATE UNIQUE INDEX CONCURRENTLY i ON t (x);' })).toEqual([
      'concurrent-index-needs-notx',
    ]);
    expect(lint({ [NOTX]: index })).toEqual([]);
  });

  it('a .notx.sql file without a concurrent index is rejected', () => {
    expect(lint({ [NOTX]: 'ALTER TABLE t ADD COLUMN x int;' }).map((p) => p.rule)).toEqual([
      'notx-without-concurrent-index',
      'notx-only-concurrent-index',
    ]);
    expect(rules({ [NOTX]: '-- nothing here\n' })).toEqual(['notx-without-concurrent-index']);
  });

  it('every concurrent index in a .notx.sql needs IF NOT EXISTS', () => {
    const sql = `${index}\nCREATE INDEX CONCURRENTLY j ON t (y);\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS k ON t (z);`;
    expect(lint({ [NOTX]: sql }).map((p) => [p.rule, p.line])).toEqual([['notx-index-if-not-exists', 2]]);
  });

  it('a .notx.sql holds only concurrent indexes (session SETs allowed)', () => {
    expect(rules({ [NOTX]: `SET lock_timeout = '5s';\n${index}` })).toEqual([]);
    expect(rules({ [NOTX]: `${index}\nINSERT INTO t VALUES (1);` })).toEqual(['notx-only-concurrent-index']);
  });
});

describe('tree rules', () => {
  it('rejects duplicate (database, version, phase, seq), accepts distinct keys', () => {
    const problems = lint({
      'purser/v0.2.0/expand/001_a.sql': 'SELECT 1;',
      'purser/v0.2.0/expand/001_b.sql': 'SELECT 1;',
    });
    expect(problems).toEqual([
      expect.objectContaining({ file: 'purser/v0.2.0/expand/001_b.sql', rule: 'duplicate-sequence' }),
    ]);
    expect(problems[0]!.message).toContain('purser/v0.2.0/expand/001_a.sql');
    expect(
      lint({
        'purser/v0.2.0/expand/001_a.sql': 'SELECT 1;',
        'purser/v0.2.0/postdeploy/001_a.sql': 'SELECT 1;',
        'commodore/v0.2.0/expand/001_a.sql': 'SELECT 1;',
      }),
    ).toEqual([]);
  });

  it('rejects a migration newer than the highest catalog release (an rc entry counts as its line)', () => {
    expect(rules({ 'purser/v0.4.0/expand/001_a.sql': 'SELECT 1;' })).toEqual(['version-ceiling']);
    expect(rules({ 'purser/v0.3.0/expand/001_a.sql': 'SELECT 1;' })).toEqual([]);
  });

  it('an empty catalog with any migration is an error; with none it is fine', () => {
    const empty = parseReleaseCatalog('releases: []\n', 'releases.yaml');
    expect(rules({ [EXPAND]: 'SELECT 1;' }, { catalog: empty })).toEqual(['empty-catalog']);
    expect(lint({}, { catalog: empty })).toEqual([]);
  });

  it('a catalog that failed to load is one problem; the SQL rules still run', () => {
    const problems = lint({ [EXPAND]: 'DROP TABLE t;' }, { catalog: { error: 'releases.yaml: bad' } });
    expect(problems.map((p) => p.rule)).toEqual(['catalog-load', 'expand-destructive']);
    expect(problems[0]!.message).toContain('releases.yaml: bad');
  });

  it('reports layout errors (including unknown databases) as problems', () => {
    const problems = lint(
      { 'purser/001_x.sql': 'SELECT 1;', 'billing/v0.2.0/expand/001_x.sql': 'SELECT 1;', [EXPAND]: 'SELECT 1;' },
      { catalog, knownDatabases: ['purser'] },
    );
    expect(problems.map((p) => [p.file, p.rule])).toEqual([
      ['purser/001_x.sql', 'layout'],
      ['billing/v0.2.0/expand/001_x.sql', 'layout'],
    ]);
  });

  it('reports an unterminated literal', () => {
    expect(rules({ [EXPAND]: "SELECT 1;\nSELECT 'oops;\n" })).toEqual(['unterminated-sql']);
  });

  it('does not lint the SQL of migrations folded below the floor', () => {
    expect(lint({ 'purser/v0.1.0/expand/001_old.sql': 'DROP TABLE t;' }, { catalog: withFloor })).toEqual([]);
    expect(rules({ 'purser/v0.2.0/expand/001_new.sql': 'DROP TABLE t;' }, { catalog: withFloor })).toEqual([
      'expand-destructive',
    ]);
  });

  it('reports every problem at once, in file and line order, printable as file:line: rule: message', () => {
    const problems = lint({
      [EXPAND]:
        'CREATE TABLE t (id int);\n\nDROP TABLE old;\nUPDATE t\n  SET id = 1;\nCREATE INDEX CONCURRENTLY i ON t (id);',
      'purser/v0.9.0/expand/001_future.sql': 'SELECT 1;',
    });
    expect(problems.map((p) => [p.file, p.line, p.rule])).toEqual([
      [EXPAND, 3, 'expand-destructive'],
      [EXPAND, 4, 'expand-destructive'],
      [EXPAND, 6, 'concurrent-index-needs-notx'],
      ['purser/v0.9.0/expand/001_future.sql', 0, 'version-ceiling'],
    ]);
    expect(formatLintProblem(problems[0]!)).toMatch(
      /^purser\/v0\.2\.0\/expand\/001_x\.sql:3: expand-destructive: DROP TABLE is not allowed in expand/,
    );
    expect(formatLintProblem(problems[3]!)).toMatch(/^purser\/v0\.9\.0\/expand\/001_future\.sql: version-ceiling: /);
  });
});
