// One strict path from YAML text to a validated, JSON-plain value, used for every input file.
//
// Everything wrong with a document is collected and thrown once as an InputError (source + key paths), so an
// operator fixes a file in one pass and never sees a stack trace. Imported by workflow code: no Node builtins.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, Scalar } from 'yaml';
import type { Node } from 'yaml';
import { z } from 'zod';
import { InputError } from '../errors';
import type { InputIssue } from '../errors';

type PathKey = PropertyKey;

/** `['services', 2, 'digest']` → `services[2].digest`; keys that are not plain words are quoted. */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const k = String(key);
      if (/^[A-Za-z0-9_-]+$/.test(k)) out += out === '' ? k : `.${k}`;
      else out += `[${JSON.stringify(k)}]`;
    }
  }
  return out;
}

/**
 * A string field that also takes an unquoted YAML number as its text (`version: 18.4`, `release_tag: 3.10`),
 * as the original Go decoder did. `parseYamlDocument` turns numbers whose text would not round-trip into
 * strings, so the text seen here is always what the file says.
 */
export const yamlText = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string());

/** Non-empty text without surrounding whitespace: identifiers, names, URLs. */
export const yamlToken = yamlText.pipe(
  z
    .string()
    .min(1, { error: 'must not be empty', abort: true })
    .refine((s) => s.trim() === s, 'must not have surrounding whitespace'),
);

function describe(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a mapping' : `${typeof v} ${JSON.stringify(v)}`;
}

const errorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.code === 'invalid_type') {
    if (iss.input === undefined) return `missing required key (expected ${iss.expected})`;
    const expected = iss.expected === 'object' ? 'a mapping' : iss.expected === 'array' ? 'a list' : iss.expected;
    return `expected ${expected}, got ${describe(iss.input)}`;
  }
  return undefined;
};

/** Zod issues → InputIssues; an unknown key is reported at its own path so the typo is named. */
export function zodIssues(error: z.ZodError): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
    } else if (issue.code === 'invalid_key') {
      // The key's own schema explains what is wrong with the name; zod's wrapper only says "Invalid key".
      const why = issue.issues.map((i) => i.message).join('; ');
      out.push({ path: formatPath(issue.path), message: `invalid name${why ? `: ${why}` : ''}` });
    } else {
      out.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  const seen = new Set<string>();
  return out.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Validates an already-parsed value, throwing one InputError listing every problem. */
export function validateValue<T>(value: unknown, schema: z.ZodType<T>, source: string): T {
  const result = schema.safeParse(value, { error: errorMap });
  if (!result.success) throw new InputError(source, zodIssues(result.error));
  return result.data;
}

/**
 * Walks the node tree: reports duplicate keys with their full path, and keeps the source text of plain
 * numbers that would not survive a round-trip through a JS number (`3.10`, `1e3`, 20-digit integers).
 */
function inspect(node: unknown, path: PathKey[], at: (offset: number) => string, issues: InputIssue[]): void {
  if (isMap(node)) {
    const seen = new Map<string, string>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : JSON.stringify(keyNode?.toJSON() ?? null);
      const where = at(keyNode?.range?.[0] ?? 0);
      const first = seen.get(key);
      if (first !== undefined) {
        issues.push({ path: formatPath([...path, key]), message: `duplicate key at ${where} (first at ${first})` });
      } else {
        seen.set(key, where);
      }
      inspect(pair.value, [...path, key], at, issues);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => inspect(item, [...path, i], at, issues));
  } else if (isScalar(node) && typeof node.value === 'number' && node.type === Scalar.PLAIN) {
    if (node.source !== undefined && String(node.value) !== node.source) node.value = node.source;
  }
}

/**
 * Parses exactly one YAML document and validates it against `schema`. Empty input, a second document,
 * syntax errors and duplicate keys are refused before validation. Timestamps stay strings: the YAML 1.2 core
 * schema has no timestamp type, which keeps `release_date` JSON-plain.
 */
export function parseYamlDocument<T>(text: string, schema: z.ZodType<T>, source: string): T {
  const lines = new LineCounter();
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `line ${line}:${col}`;
  };
  const docs = parseAllDocuments(text, {
    schema: 'core',
    uniqueKeys: false,
    // Explicit `!!timestamp`, `!!binary`, `!!set`, `!!omap` would otherwise yield Date/Uint8Array/Set/Map,
    // which are not JSON-plain and cannot cross into workflow code; unresolved, they are refused.
    resolveKnownTags: false,
    prettyErrors: false,
    lineCounter: lines,
  });
  if (docs.length === 0) throw new InputError(source, 'empty document: expected one YAML mapping');

  const issues: InputIssue[] = [];
  // The parser recovers and keeps reporting, but after the first syntax error the rest is mostly an echo of
  // it; one precise location is more useful than a page of consequences.
  const problems = docs.flatMap((d) => [...d.errors, ...d.warnings]).sort((a, b) => a.pos[0] - b.pos[0]);
  if (problems.length > 0) {
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (${problems.length - 1} more reported after it; fix this one first)` : '';
    issues.push({ path: '', message: `YAML error at ${at(first.pos[0])}: ${first.message}${more}` });
  } else if (docs.length > 1) {
    const start = docs[1]!.range[0];
    issues.push({ path: '', message: `expected exactly one YAML document, found another at ${at(start)}` });
  }
  if (issues.length > 0) throw new InputError(source, issues);

  const doc = docs[0]!;
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new InputError(source, 'empty document: expected one YAML mapping');
  }
  inspect(doc.contents, [], at, issues);
  if (issues.length > 0) throw new InputError(source, issues);

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Only an alias bomb or a dangling alias gets here; it is still bad input, not a crash.
    throw new InputError(source, `YAML error: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return validateValue(value, schema, source);
}
