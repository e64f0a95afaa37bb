// Definition files of the `sql` data-migration driver (SPEC §7): `migrations/<db>/<vX.Y.Z>/data/<id>.sql`,
// named statements each introduced by a `-- name: <name>` line. Anything before the first marker may only be
// comments (a header explaining the migration).
//
// Statements and their parameter contract (the driver passes exactly $1..$N, N = the highest one used):
//
//   batch     required  $1::jsonb checkpoint ('{}' at the start), $2::int batch size,
//                       optional $3::text scope kind, $4::text scope value ('' and '' for the whole job).
//                       Returns exactly one row: next_checkpoint jsonb (an object), scanned bigint,
//                       changed bigint, skipped bigint, errors bigint, done boolean. The driver runs it in the
//                       transaction that advances the checkpoint, so it must not COMMIT, and the checkpoint
//                       must move on every batch that is not the last (it is the compare-and-set token).
//   verify    required  no parameters. Returns rows name text, expected text, actual text; a check passes
//                       when expected = actual. Runs in a READ ONLY transaction that is rolled back.
//   scopes    optional  no parameters. Returns rows kind text, value text (kind non-empty). Without it the
//                       job is one whole-job scope. With it, batch must read the scope ($3 and $4).
//   estimate  optional  same numbering as batch ($1 = '{}', $2 = NULL, $3/$4 the scope). Returns one row
//                       total bigint = rows the scope will scan, for the ETA.
//
// PostgreSQL cannot infer the type of a parameter no expression mentions ("could not determine data type
// of parameter $1"), so a statement that uses $3 must also mention $1 and $2: gaps are rejected here rather
// than failing on the database.
//
// Pure and free of Node builtins.
import { InputError, type InputIssue } from '../../errors';
import { lexSql } from '../migrations/sql-lexer';

export const DATA_STATEMENT_NAMES = ['batch', 'verify', 'scopes', 'estimate'] as const;
export type DataStatementName = (typeof DATA_STATEMENT_NAMES)[number];

/** Highest `$n` each statement may use (see the contract above). */
export const MAX_PARAMS: Readonly<Record<DataStatementName, number>> = { batch: 4, verify: 0, scopes: 0, estimate: 4 };

export interface DataStatement {
  name: DataStatementName;
  /** The statement text as sent to the database (trimmed; comments inside kept). */
  sql: string;
  /** 1-based line in the file of the first character of `sql`, to map database error positions back. */
  line: number;
  /** Highest `$n` used; the driver passes exactly this many parameters. */
  params: number;
}

export interface DataMigrationDefinition {
  /** Where the text came from, e.g. `purser/v0.2.0/data/invoice-line-items.sql`; used in every message. */
  source: string;
  /** The migration id: the file name without `.sql` (the layout is `data/<id>.sql`). */
  id: string;
  batch: DataStatement;
  verify: DataStatement;
  scopes?: DataStatement;
  estimate?: DataStatement;
}

const MARKER = /^\s*--\s*name:(.*)$/;

/** Parameter numbers used as `$n` in code (not inside literals or comments), sorted and distinct. */
function paramIndexes(sql: string): number[] {
  const found = new Set<number>();
  for (const stmt of lexSql(sql).statements) {
    // `a$1` is an identifier, not a parameter: PostgreSQL allows `$` inside identifiers.
    for (const m of stmt.code.matchAll(/(?<![A-Za-z0-9_$])\$(\d+)/g)) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

/** The highest `$n` a statement uses, 0 when none. */
export function maxParamIndex(sql: string): number {
  const all = paramIndexes(sql);
  return all.length === 0 ? 0 : all[all.length - 1]!;
}

interface Section {
  name: string;
  markerLine: number;
  body: string[];
}

function splitSections(text: string): { preamble: string; sections: Section[] } {
  const lines = text.split(/\r?\n/);
  const preamble: string[] = [];
  const sections: Section[] = [];
  lines.forEach((line, i) => {
    const m = MARKER.exec(line);
    if (m) sections.push({ name: m[1]!.trim(), markerLine: i + 1, body: [] });
    else if (sections.length === 0) preamble.push(line);
    else sections[sections.length - 1]!.body.push(line);
  });
  return { preamble: preamble.join('\n'), sections };
}

function checkStatement(section: Section, name: DataStatementName, issues: InputIssue[]): DataStatement | undefined {
  const at = (line: number, message: string) => issues.push({ path: `line ${line}`, message });
  const raw = section.body.join('\n');
  const lexed = lexSql(raw);
  if (lexed.unterminated) {
    const { construct, line } = lexed.unterminated;
    at(section.markerLine + line, `${name}: unterminated ${construct} (a "-- name:" line inside it is not a marker)`);
    return undefined;
  }
  const real = lexed.statements.filter((s) => s.code.replace(/;/g, '').trim() !== '');
  if (real.length === 0) {
    at(section.markerLine, `${name}: no SQL statement after "-- name: ${name}"`);
    return undefined;
  }
  if (real.length > 1) {
    // Parameters go through the extended protocol, which takes a single statement.
    at(section.markerLine + real[1]!.line, `${name}: one statement per name, found ${real.length}`);
    return undefined;
  }
  const sql = raw.trim();
  const lead = raw.slice(0, raw.length - raw.trimStart().length);
  const line = section.markerLine + 1 + (lead.match(/\n/g)?.length ?? 0);
  const used = paramIndexes(sql);
  const max = used.length === 0 ? 0 : used[used.length - 1]!;
  const allowed = MAX_PARAMS[name];
  if (max > allowed) {
    at(
      line,
      allowed === 0
        ? `${name}: takes no parameters but uses $${max}`
        : `${name}: uses $${max} but only $1..$${allowed} are passed (${paramHelp(name)})`,
    );
    return undefined;
  }
  const missing = Array.from({ length: max }, (_, i) => i + 1).filter((n) => !used.includes(n));
  if (missing.length > 0) {
    at(
      line,
      `${name}: uses $${max} but never mentions ${missing.map((n) => `$${n}`).join(', ')}; PostgreSQL cannot ` +
        `type a parameter no expression uses, so mention it (e.g. "$1::jsonb IS NOT NULL") — ${paramHelp(name)}`,
    );
    return undefined;
  }
  return { name, sql, line, params: max };
}

function paramHelp(name: DataStatementName): string {
  return name === 'estimate'
    ? '$1 jsonb = {}, $2 int = NULL, $3 text scope kind, $4 text scope value'
    : '$1 jsonb checkpoint, $2 int batch size, $3 text scope kind, $4 text scope value';
}

/** Parses a definition file, reporting every problem at once, each with its line. */
export function parseDataMigrationDefinition(text: string, source: string): DataMigrationDefinition {
  const issues: InputIssue[] = [];
  const { preamble, sections } = splitSections(text);
  const stray = lexSql(preamble).statements[0];
  if (stray) issues.push({ path: `line ${stray.line}`, message: 'SQL before the first "-- name:" line' });

  const found = new Map<DataStatementName, DataStatement>();
  const seenAt = new Map<string, number>();
  for (const section of sections) {
    const name = section.name;
    if (!(DATA_STATEMENT_NAMES as readonly string[]).includes(name)) {
      issues.push({
        path: `line ${section.markerLine}`,
        message: `unknown statement name "${name}" (expected one of ${DATA_STATEMENT_NAMES.join(', ')})`,
      });
      continue;
    }
    const first = seenAt.get(name);
    if (first !== undefined) {
      issues.push({ path: `line ${section.markerLine}`, message: `duplicate "${name}" (first at line ${first})` });
      continue;
    }
    seenAt.set(name, section.markerLine);
    const stmt = checkStatement(section, name as DataStatementName, issues);
    if (stmt) found.set(stmt.name, stmt);
  }
  for (const required of ['batch', 'verify'] as const) {
    if (!seenAt.has(required)) issues.push({ path: '', message: `missing required "-- name: ${required}" statement` });
  }
  const batch = found.get('batch');
  if (batch && found.has('scopes') && batch.params < 4) {
    issues.push({
      path: `line ${batch.line}`,
      message:
        'the file defines scopes but batch never reads the scope ($3 kind, $4 value): every scope would repeat the same work',
    });
  }
  if (issues.length > 0) throw new InputError(source, issues);

  const id = (source.split(/[\\/]/).pop() ?? source).replace(/\.sql$/, '');
  const def: DataMigrationDefinition = { source, id, batch: batch!, verify: found.get('verify')! };
  const scopes = found.get('scopes');
  const estimate = found.get('estimate');
  if (scopes) def.scopes = scopes;
  if (estimate) def.estimate = estimate;
  return def;
}
