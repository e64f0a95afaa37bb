// `frameworks cluster migrate validate`: the safety lint of reference §4.4 for PostgreSQL migration trees.
//
// Expand runs while the OLD binaries still serve traffic, so it may only add: anything that drops, renames,
// retypes, tightens or rewrites data belongs to postdeploy or contract. Rules match on the lexer's code view
// (comments blanked, literal and dollar-quoted bodies masked), so `'DROP TABLE'` in a string, a comment or a
// DO $$ … $$ body never triggers. Every problem is reported at once, located at the offending line.
//
// Pure: the caller (discover) reads the files.
import type { ReleaseCatalog } from '../../contracts/catalog';
import { baseVersion, compareVersions } from '../../contracts/version';
import { compareMigrations, parseMigrationPath, type ParsedMigrationPath } from './layout';
import { lexSql, lineWithin, type LexedStatement } from './sql-lexer';

export interface LintProblem {
  /** Path relative to the migrations root; '' for problems about the catalog or the tree as a whole. */
  file: string;
  /** 1-based; 0 when the problem is about the file (or tree) rather than a statement. */
  line: number;
  /** Stable id, e.g. `expand-destructive`; scripts and tests key on it. */
  rule: string;
  message: string;
}

export const LINT_RULES = {
  layout: 'layout',
  catalogLoad: 'catalog-load',
  emptyCatalog: 'empty-catalog',
  versionCeiling: 'version-ceiling',
  duplicate: 'duplicate-sequence',
  unterminated: 'unterminated-sql',
  expandDestructive: 'expand-destructive',
  expandConstraint: 'expand-constraint-not-valid',
  concurrentNeedsNotx: 'concurrent-index-needs-notx',
  notxWithoutIndex: 'notx-without-concurrent-index',
  notxIfNotExists: 'notx-index-if-not-exists',
  notxOtherStatement: 'notx-only-concurrent-index',
} as const;

export interface LintOptions {
  /** The release catalog, or its load error; omitted ⇒ the version ceiling is not checked. */
  catalog?: ReleaseCatalog | { error: string };
  /** Database folders allowed at the top of the tree; omitted ⇒ any SQL identifier. */
  knownDatabases?: readonly string[];
}

export interface LintFile {
  relPath: string;
  sql: string;
}

// `ident` also matches a schema-qualified or quoted (masked to `"___"`) name.
const IDENT = String.raw`(?:"_*"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"_*"|[A-Za-z_][\w$]*))?`;
const ALTER_TABLE = /^\s*ALTER\s+TABLE\b/i;
const CONCURRENT_INDEX = /\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b/i;

interface Finding {
  offset: number;
  what: string;
}

/** Destructive or data-rewriting constructs in one statement's code view (see module comment). */
function destructive(code: string): Finding[] {
  const found: Finding[] = [];
  const add = (re: RegExp, what: string | ((m: RegExpExecArray) => string)) => {
    for (const m of code.matchAll(new RegExp(re.source, 'gi'))) {
      found.push({ offset: m.index, what: typeof what === 'string' ? what : what(m) });
    }
  };
  add(/\bDROP\s+(TABLE|COLUMN|SCHEMA|TYPE|INDEX)\b/, (m) => `DROP ${m[1]!.toUpperCase()}`);
  add(/\bTRUNCATE\b/, 'TRUNCATE');
  add(/\bDELETE\s+FROM\b/, 'DELETE FROM');
  if (ALTER_TABLE.test(code)) {
    // COLUMN is optional in `ALTER TABLE t DROP [COLUMN] c`; the non-column DROP forms relax, not remove.
    add(
      new RegExp(
        String.raw`\bDROP\s+(?!COLUMN\b|CONSTRAINT\b|DEFAULT\b|NOT\s+NULL\b|EXPRESSION\b|IDENTITY\b)(?:IF\s+EXISTS\s+)?${IDENT}`,
      ),
      'ALTER TABLE … DROP <column>',
    );
    add(/\bRENAME\b/, 'ALTER TABLE … RENAME');
    add(
      new RegExp(String.raw`\bALTER\s+(?!TABLE\s)(?:COLUMN\s+)?${IDENT}\s+(?:SET\s+DATA\s+)?TYPE\b`),
      'ALTER COLUMN … TYPE',
    );
    add(/\bSET\s+NOT\s+NULL\b/, 'SET NOT NULL');
  }
  // A DML UPDATE is `UPDATE <table> … SET`; `BEFORE/AFTER UPDATE ON`, `ON UPDATE CASCADE`, `FOR UPDATE`,
  // `GRANT UPDATE ON` and `UPDATE OF col` are not, which the neighbours of the keyword tell apart.
  const update = new RegExp(String.raw`\bUPDATE\s+(?:ONLY\s+)?(${IDENT})`, 'gi');
  for (const m of code.matchAll(update)) {
    const before = /(\w+)\s*$/.exec(code.slice(0, m.index))?.[1]?.toUpperCase();
    const name = m[1]!.toUpperCase();
    if (before && ['ON', 'BEFORE', 'AFTER', 'OR', 'OF', 'FOR', 'GRANT', 'REVOKE'].includes(before)) continue;
    if (['ON', 'OF', 'SET', 'CASCADE', 'RESTRICT', 'NO'].includes(name)) continue;
    if (/\bSET\b/i.test(code.slice(m.index + m[0].length))) found.push({ offset: m.index, what: 'UPDATE … SET' });
  }
  return found.sort((a, b) => a.offset - b.offset);
}

/** `ALTER TABLE` actions split at top-level commas, with their offsets in the statement. */
function alterActions(code: string): { text: string; offset: number }[] {
  const out: { text: string; offset: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let k = 0; k <= code.length; k++) {
    const ch = code[k];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (k === code.length || (ch === ',' && depth === 0)) {
      out.push({ text: code.slice(start, k), offset: start });
      start = k + 1;
    }
  }
  return out;
}

function lintStatements(
  file: LintFile,
  parsed: ParsedMigrationPath,
  statements: LexedStatement[],
  problems: LintProblem[],
): void {
  const report = (stmt: LexedStatement, offset: number, rule: string, message: string) =>
    problems.push({ file: file.relPath, line: lineWithin(stmt, offset), rule, message });
  let concurrentIndexes = 0;

  for (const stmt of statements) {
    const { code } = stmt;
    const concurrent = CONCURRENT_INDEX.exec(code);
    if (concurrent) {
      concurrentIndexes++;
      if (parsed.transactional) {
        report(
          stmt,
          concurrent.index,
          LINT_RULES.concurrentNeedsNotx,
          'CREATE INDEX CONCURRENTLY cannot run inside a transaction; move it to its own <NNN>_<desc>.notx.sql file',
        );
      } else if (!/\bCONCURRENTLY\s+IF\s+NOT\s+EXISTS\b/i.test(code)) {
        report(
          stmt,
          concurrent.index,
          LINT_RULES.notxIfNotExists,
          'a .notx.sql index needs CREATE INDEX CONCURRENTLY IF NOT EXISTS: without a transaction a failure can ' +
            'leave the index built but unrecorded, and the rerun must not fail on it',
        );
      }
    } else if (!parsed.transactional && !/^\s*(?:SET|RESET)\b/i.test(code)) {
      report(
        stmt,
        0,
        LINT_RULES.notxOtherStatement,
        '.notx.sql files run without a transaction and are reserved for CREATE INDEX CONCURRENTLY IF NOT EXISTS; ' +
          'move this statement to a transactional migration',
      );
    }

    if (parsed.phase !== 'expand') continue;
    for (const f of destructive(code)) {
      report(
        stmt,
        f.offset,
        LINT_RULES.expandDestructive,
        `${f.what} is not allowed in expand (old binaries still run against this schema); ` +
          `move it to postdeploy or contract`,
      );
    }
    if (ALTER_TABLE.test(code)) {
      for (const action of alterActions(code)) {
        const add = /\bADD\s+CONSTRAINT\b/i.exec(action.text);
        if (add && !/\bNOT\s+VALID\b/i.test(action.text)) {
          report(
            stmt,
            action.offset + add.index,
            LINT_RULES.expandConstraint,
            'ADD CONSTRAINT in expand must be NOT VALID (validating scans the table under lock and rejects rows ' +
              'old binaries still write); VALIDATE CONSTRAINT in postdeploy',
          );
        }
      }
    }
  }
  if (!parsed.transactional && concurrentIndexes === 0) {
    problems.push({
      file: file.relPath,
      line: 0,
      rule: LINT_RULES.notxWithoutIndex,
      message: '.notx.sql is reserved for CREATE INDEX CONCURRENTLY, but this file has none; rename it to .sql',
    });
  }
}

function highestRelease(catalog: ReleaseCatalog): string | undefined {
  let top: string | undefined;
  for (const r of catalog.releases) if (top === undefined || compareVersions(r.version, top) > 0) top = r.version;
  return top === undefined ? undefined : baseVersion(top);
}

/** Lints a whole tree; problems come back in file order, then line order. */
export function lintMigrations(files: readonly LintFile[], opts: LintOptions = {}): LintProblem[] {
  const problems: LintProblem[] = [];
  const catalog = opts.catalog && !('error' in opts.catalog) ? opts.catalog : undefined;
  if (opts.catalog && 'error' in opts.catalog) {
    problems.push({
      file: '',
      line: 0,
      rule: LINT_RULES.catalogLoad,
      message: `release catalog failed to load, so the version ceiling cannot be checked: ${opts.catalog.error}`,
    });
  }
  const floor = catalog?.schema_migration_floor;
  const ceiling = catalog ? highestRelease(catalog) : undefined;

  const parsed: { file: LintFile; path: ParsedMigrationPath }[] = [];
  for (const file of files) {
    const p = parseMigrationPath(file.relPath, opts.knownDatabases);
    if ('error' in p) problems.push({ file: file.relPath, line: 0, rule: LINT_RULES.layout, message: p.error });
    else parsed.push({ file, path: p });
  }
  parsed.sort((a, b) => compareMigrations(a.path, b.path));

  if (catalog && ceiling === undefined && parsed.length > 0) {
    problems.push({
      file: '',
      line: 0,
      rule: LINT_RULES.emptyCatalog,
      message: `the release catalog declares no releases but ${parsed.length} migration file(s) exist; declare the release each belongs to`,
    });
  }

  const seen = new Map<string, string>();
  for (const { file, path } of parsed) {
    const key = [path.database, path.version, path.phase, path.seq].join('/');
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({
        file: file.relPath,
        line: 0,
        rule: LINT_RULES.duplicate,
        message: `sequence ${path.seq} is already used by ${first} (ledger key ${path.version}:${path.phase}:${path.seq} per database must be unique)`,
      });
    } else seen.set(key, file.relPath);

    if (ceiling !== undefined && compareVersions(path.version, ceiling) > 0) {
      problems.push({
        file: file.relPath,
        line: 0,
        rule: LINT_RULES.versionCeiling,
        message: `version ${path.version} is newer than the highest catalog release ${ceiling}; declare the release in the catalog first`,
      });
    }
    // Below the floor the files are folded into the baseline and never applied, so their SQL is not linted.
    if (floor !== undefined && compareVersions(path.version, baseVersion(floor)) < 0) continue;

    const lexed = lexSql(file.sql);
    if (lexed.unterminated) {
      problems.push({
        file: file.relPath,
        line: lexed.unterminated.line,
        rule: LINT_RULES.unterminated,
        message: `unterminated ${lexed.unterminated.construct}: everything after it is swallowed, so the file cannot be checked or applied as intended`,
      });
    }
    lintStatements(file, path, lexed.statements, problems);
  }

  const order = new Map(files.map((f, i) => [f.relPath, i]));
  return problems.sort(
    (a, b) => (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1) || a.line - b.line || cmp(a.rule, b.rule),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `file:line: rule: message`, the line format of `migrate validate`. */
export function formatLintProblem(p: LintProblem): string {
  const where = p.file === '' ? '' : p.line > 0 ? `${p.file}:${p.line}: ` : `${p.file}: `;
  return `${where}${p.rule}: ${p.message}`;
}
