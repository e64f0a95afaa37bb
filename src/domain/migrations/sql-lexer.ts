// Statement splitting for PostgreSQL migration files (reference §4.4): a hand lexer, not a parser.
//
// `;` ends a statement unless it sits inside '…' (with '' escape), E'…' (backslash escapes too), "…",
// -- line comments, /* … */ block comments (nested, as PostgreSQL allows) or $tag$…$tag$ dollar quotes. The
// terminating `;` stays with its statement, trailing text without `;` is a statement, and `;;` yields a bare
// `;` statement. Whitespace- or comment-only text is not a statement.
//
// Besides the text, every statement carries a `code` view of the same length in which comments and the
// contents of literals are blanked (newlines kept), so lint rules can pattern-match keywords without being
// fooled by `'DROP TABLE'` in a string or a DO $$ … $$ body, and map a match offset back to a line.
//
// Pure and free of Node builtins: workflow code uses it.

export interface SqlStatement {
  /** Original text, trimmed; comments before the statement are part of it. */
  text: string;
  /** 1-based line of the first character of code (not of a leading comment). */
  line: number;
}

export interface LexedStatement extends SqlStatement {
  /** `text` with comments replaced by spaces and literal contents masked; same length as `text`. */
  code: string;
}

export type OpenConstruct = 'string' | 'quoted identifier' | 'block comment' | 'dollar quote';

export interface LexResult {
  statements: LexedStatement[];
  /** Set when the input ends inside a literal or comment: everything after its start was swallowed. */
  unterminated?: { construct: OpenConstruct; line: number };
}

const IDENT_CHAR = /[A-Za-z0-9_$]/;
const DOLLAR_TAG = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/;

/** The dollar-quote opener at `i` (`$$` or `$tag$`), or undefined for a lone `$`, `$1`, `$a` etc. */
export function readDollarTag(sql: string, i: number): string | undefined {
  if (sql[i] !== '$') return undefined;
  // `a$b$` is one identifier: PostgreSQL allows `$` inside identifiers, so it cannot open a quote there.
  if (i > 0 && IDENT_CHAR.test(sql[i - 1]!)) return undefined;
  const m = DOLLAR_TAG.exec(sql.slice(i, i + 130));
  return m ? m[0] : undefined;
}

type Kind = 'code' | 'comment' | 'literal' | 'identifier';

/** One pass over the file: statement boundaries plus, per character, what it is part of. */
function scan(sql: string): { kinds: Kind[]; ends: number[]; unterminated?: LexResult['unterminated'] } {
  const kinds: Kind[] = [];
  const ends: number[] = []; // exclusive end offset of each `;`-terminated statement
  let unterminated: LexResult['unterminated'];
  let line = 1;
  let i = 0;
  const n = sql.length;

  const mark = (from: number, to: number, kind: Kind) => {
    for (let k = from; k < to; k++) {
      if (sql[k] === '\n') line++;
      kinds.push(kind);
    }
  };
  const open = (construct: OpenConstruct, startLine: number) => {
    unterminated ??= { construct, line: startLine };
  };
  // Scans a quoted run starting at the opening quote; returns its exclusive end and whether it closed.
  const quoted = (q: string, backslash: boolean): { end: number; closed: boolean } => {
    let j = i + 1;
    while (j < n) {
      if (backslash && sql[j] === '\\') j += 2;
      else if (sql[j] === q && sql[j + 1] === q) j += 2;
      else if (sql[j] === q) return { end: j + 1, closed: true };
      else j++;
    }
    return { end: n, closed: false };
  };

  while (i < n) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    const startLine = line;
    if (ch === '-' && next === '-') {
      const j = sql.indexOf('\n', i);
      const end = j < 0 ? n : j;
      mark(i, end, 'comment');
      i = end;
    } else if (ch === '/' && next === '*') {
      let depth = 0;
      let j = i;
      while (j < n) {
        if (sql[j] === '/' && sql[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (sql[j] === '*' && sql[j + 1] === '/') {
          depth--;
          j += 2;
          if (depth === 0) break;
        } else j++;
      }
      if (depth > 0) open('block comment', startLine);
      const end = Math.min(j, n);
      mark(i, end, 'comment');
      i = end;
    } else if (ch === "'" || ch === '"') {
      // E'…' strings also honour backslash escapes; plain '…' and "…" only the doubled quote.
      const escapes = ch === "'" && i > 0 && /[eE]/.test(sql[i - 1]!) && (i < 2 || !IDENT_CHAR.test(sql[i - 2]!));
      const { end, closed } = quoted(ch, escapes);
      if (!closed) open(ch === "'" ? 'string' : 'quoted identifier', startLine);
      const kind = ch === "'" ? 'literal' : 'identifier';
      mark(i, i + 1, 'code');
      mark(i + 1, closed ? end - 1 : end, kind);
      if (closed) mark(end - 1, end, 'code');
      i = end;
    } else if (ch === '$' && readDollarTag(sql, i) !== undefined) {
      const tag = readDollarTag(sql, i)!;
      const close = sql.indexOf(tag, i + tag.length);
      if (close < 0) open('dollar quote', startLine);
      mark(i, i + tag.length, 'code');
      mark(i + tag.length, close < 0 ? n : close, 'literal');
      if (close >= 0) mark(close, close + tag.length, 'code');
      i = close < 0 ? n : close + tag.length;
    } else {
      mark(i, i + 1, 'code');
      i++;
      if (ch === ';') ends.push(i);
    }
  }
  if (ends[ends.length - 1] !== n) ends.push(n);
  return unterminated ? { kinds, ends, unterminated } : { kinds, ends };
}

function maskChar(ch: string, kind: Kind): string {
  if (kind === 'code' || ch === '\n' || ch === '\r') return ch;
  // Identifiers stay one word (`_`), so `UPDATE "my table" SET` still reads as UPDATE <name> SET.
  return kind === 'identifier' ? '_' : ' ';
}

/** Lexes a whole file into statements with their code views (see module comment). */
export function lexSql(sql: string): LexResult {
  const { kinds, ends, unterminated } = scan(sql);
  let masked = '';
  for (let k = 0; k < sql.length; k++) masked += maskChar(sql[k]!, kinds[k]!);

  const statements: LexedStatement[] = [];
  let from = 0;
  for (const to of ends) {
    const view = masked.slice(from, to);
    const first = view.search(/\S/);
    if (first >= 0) {
      // Whitespace is never masked, so trimming the original text gives the same offsets in the code view.
      const raw = sql.slice(from, to);
      const lead = raw.length - raw.trimStart().length;
      const trail = raw.trimEnd().length;
      statements.push({ text: raw.slice(lead, trail), code: view.slice(lead, trail), line: lineAt(sql, from + first) });
    }
    from = to;
  }
  return unterminated ? { statements, unterminated } : { statements };
}

function lineAt(sql: string, offset: number): number {
  let line = 1;
  for (let k = sql.indexOf('\n'); k >= 0 && k < offset; k = sql.indexOf('\n', k + 1)) line++;
  return line;
}

/** 1-based line of `offset` within a statement that starts (its code) at `stmt.line`. */
export function lineWithin(stmt: LexedStatement, offset: number): number {
  const first = stmt.code.search(/\S/);
  let line = stmt.line;
  for (let k = Math.max(first, 0); k < offset && k < stmt.text.length; k++) if (stmt.text[k] === '\n') line++;
  return line;
}

/** Statements of a migration file with their starting lines. */
export function splitSqlStatements(sql: string): SqlStatement[] {
  return lexSql(sql).statements.map(({ text, line }) => ({ text, line }));
}

/** The file with every comment replaced by spaces (newlines kept, so line numbers still match). */
export function stripComments(sql: string): string {
  const { kinds } = scan(sql);
  let out = '';
  for (let k = 0; k < sql.length; k++)
    out += kinds[k] === 'comment' && sql[k] !== '\n' && sql[k] !== '\r' ? ' ' : sql[k];
  return out.replace(/[ \t]+$/gm, '');
}
