// Reads YAML the way FrameWorks' Go CLI does (gopkg.in/yaml.v3 decoding into typed structs with KnownFields).
//
// The generic parser in ../parse.ts resolves scalars with the YAML 1.2 core schema, which loses what yaml.v3 needs
// to decide a field: `port: "5432"` (a quoted string, refused for an int) and `port: 5432` look alike after it, and
// `0777` or `1_000` would be read differently. So this reader keeps every plain scalar that is not a string as a
// GoScalar carrying both yaml.v3's resolution and its source text, and the field helpers below turn it into what
// the Go field type accepts: any scalar's text for a string, an int/float for an int (floats truncate, as yaml.v3
// does), true/false or y/yes/on/n/no/off for a bool, null as the Go zero value everywhere.
//
// Only the first YAML document is decoded, as `yaml.NewDecoder(r).Decode(&m)` does; what follows it is not read.
// Imported by workflow code through the contracts: no Node builtins.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, Scalar } from 'yaml';
import type { Document, Node } from 'yaml';
import { z } from 'zod';
import { InputError } from '../../errors';
import type { InputIssue } from '../../errors';
import { formatPath, validateValue } from '../parse';

/** A plain YAML scalar that yaml.v3 resolves to a non-string value; `text` is its source, as a Go string field reads it. */
export class GoScalar {
  constructor(
    readonly kind: 'int' | 'float' | 'bool' | 'timestamp',
    readonly value: number | boolean,
    readonly text: string,
  ) {}
}

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['true', 'True', 'TRUE']);
const FALSES = new Set(['false', 'False', 'FALSE']);
const SPECIAL_FLOATS: Record<string, number> = {
  '.nan': NaN,
  '.NaN': NaN,
  '.NAN': NaN,
  '.inf': Infinity,
  '.Inf': Infinity,
  '.INF': Infinity,
  '+.inf': Infinity,
  '+.Inf': Infinity,
  '+.INF': Infinity,
  '-.inf': -Infinity,
  '-.Inf': -Infinity,
  '-.INF': -Infinity,
};
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** Go's strconv.ParseInt(s, 0, 64) / ParseUint syntax (sign, 0x/0o/0b/leading-0 octal), as a bigint. */
function parseGoInteger(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  let digits = m[2]!;
  let n: bigint;
  if (/^0[oO]/.test(digits)) n = BigInt(`0o${digits.slice(2)}`);
  else if (/^0[0-7]+$/.test(digits)) n = BigInt(`0o${digits.slice(1)}`);
  else {
    if (/^0[xXbB]/.test(digits)) digits = digits.slice(0, 2).toLowerCase() + digits.slice(2);
    n = BigInt(digits);
  }
  if (m[1] === '-') n = -n;
  return n >= INT64_MIN && n <= UINT64_MAX ? n : undefined;
}

/** yaml.v3's resolve() for an untagged plain scalar: null, bool, int, float, timestamp, else string. */
export function resolvePlainScalar(text: string): GoScalar | string | null {
  if (NULLS.has(text)) return null;
  if (TRUES.has(text)) return new GoScalar('bool', true, text);
  if (FALSES.has(text)) return new GoScalar('bool', false, text);
  if (text in SPECIAL_FLOATS) return new GoScalar('float', SPECIAL_FLOATS[text]!, text);
  const first = text[0]!;
  if (first === '.') {
    return YAML_STYLE_FLOAT.test(text) ? new GoScalar('float', Number(text), text) : text;
  }
  if (!/[-+0-9]/.test(first)) return text;
  if (/^\d{4}-\d{1,2}-\d{1,2}([Tt ]|$)/.test(text)) return new GoScalar('timestamp', NaN, text);
  const plain = text.replaceAll('_', '');
  const int = parseGoInteger(plain);
  if (int !== undefined) return new GoScalar('int', Number(int), text);
  if (YAML_STYLE_FLOAT.test(plain)) return new GoScalar('float', Number(plain), text);
  return text;
}

interface Walk {
  doc: Document;
  at: (offset: number) => string;
  issues: InputIssue[];
  aliasDepth: number;
}

function toGoValue(node: unknown, path: PropertyKey[], w: Walk): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    // Aliases are expanded in place like yaml.v3 does; a bounded depth stops a self-referencing alias bomb.
    if (w.aliasDepth > 50) {
      w.issues.push({ path: formatPath(path), message: 'alias nesting too deep' });
      return null;
    }
    const target = node.resolve(w.doc);
    if (!target) {
      w.issues.push({ path: formatPath(path), message: `unknown anchor ${node.source}` });
      return null;
    }
    w.aliasDepth++;
    try {
      return toGoValue(target, path, w);
    } finally {
      w.aliasDepth--;
    }
  }
  if (isScalar(node)) {
    const text = String(node.value);
    const tag = node.tag;
    if (node.type !== Scalar.PLAIN || tag === 'tag:yaml.org,2002:str' || tag === '!!str') return text;
    if (tag && !/^tag:yaml\.org,2002:(int|float|bool|null|timestamp)$/.test(tag)) return text;
    return resolvePlainScalar(text);
  }
  if (isSeq(node)) return node.items.map((item, i) => toGoValue(item, [...path, i], w));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    const seen = new Map<string, string>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      if (keyNode !== null && !isScalar(keyNode)) {
        w.issues.push({ path: formatPath(path), message: 'mapping keys must be plain text' });
        continue;
      }
      const key = keyNode === null ? '' : String(keyNode.value);
      if (key === '<<' && keyNode !== null && keyNode.type === Scalar.PLAIN) {
        // yaml.v3 merge key: the referenced mapping(s) fill keys not set explicitly.
        const source = toGoValue(pair.value, [...path, key], w);
        const sources: unknown[] = Array.isArray(source) ? source : [source];
        for (const s of sources) {
          if (s === null || typeof s !== 'object' || Array.isArray(s) || s instanceof GoScalar) {
            w.issues.push({
              path: formatPath([...path, key]),
              message: 'merge key needs a mapping or a list of mappings',
            });
            continue;
          }
          for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
            if (!seen.has(k) && !(k in out)) {
              out[k] = v;
            }
          }
        }
        continue;
      }
      const where = w.at(keyNode?.range?.[0] ?? 0);
      const first = seen.get(key);
      if (first !== undefined) {
        w.issues.push({ path: formatPath([...path, key]), message: `duplicate key at ${where} (first at ${first})` });
        continue;
      }
      seen.set(key, where);
      Object.defineProperty(out, key, {
        value: toGoValue(pair.value, [...path, key], w),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  w.issues.push({ path: formatPath(path), message: 'unsupported YAML node' });
  return null;
}

/**
 * Decodes the first YAML document of `text` into plain objects, arrays, strings, null and GoScalar leaves.
 * Syntax errors (in that document), duplicate keys and non-scalar keys are reported as one InputError.
 * Empty input is refused (yaml.v3 answers EOF); a document holding only `~` decodes as null.
 */
export function decodeFirstDocument(text: string, source: string): unknown {
  const lines = new LineCounter();
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `line ${line}:${col}`;
  };
  const docs = parseAllDocuments(text, {
    schema: 'failsafe',
    uniqueKeys: false,
    resolveKnownTags: false,
    prettyErrors: false,
    lineCounter: lines,
  });
  const doc = docs[0];
  if (doc === undefined) throw new InputError(source, 'empty document: expected one YAML mapping');
  const problems = [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0]);
  if (problems.length > 0) {
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (${problems.length - 1} more reported after it; fix this one first)` : '';
    throw new InputError(source, `YAML error at ${at(first.pos[0])}: ${first.message}${more}`);
  }
  const w: Walk = { doc, at, issues: [], aliasDepth: 0 };
  const value = toGoValue(doc.contents, [], w);
  if (w.issues.length > 0) throw new InputError(source, w.issues);
  return value;
}

/** Decodes the first document and validates it against a schema built from the helpers below. */
export function decodeGoYaml<T>(text: string, schema: z.ZodType<T>, source: string): T {
  return validateValue(decodeFirstDocument(text, source), schema, source);
}

// ---- Field helpers: each mirrors how yaml.v3 fills one Go type. ----

/** For container checks: a GoScalar shows as its value so "expected a mapping, got number 5" reads naturally. */
const unwrap = (v: unknown): unknown => (v instanceof GoScalar ? (v.kind === 'timestamp' ? v.text : v.value) : v);

/** Go `string`: every scalar is accepted as its text; null/absent is "". */
export const goString = z.preprocess(
  (v) => (v === null || v === undefined ? '' : v instanceof GoScalar ? v.text : v),
  z.string(),
);

const intValue = (v: unknown): unknown => {
  if (v === null || v === undefined) return 0;
  if (v instanceof GoScalar) {
    if (v.kind === 'int' || v.kind === 'float') {
      // yaml.v3 converts a float to int by truncation (`port: 5432.9` is 5432); infinities and NaN do not fit.
      const n = Number(v.value);
      return Number.isFinite(n) ? Math.trunc(n) : v.text;
    }
    return v.kind === 'bool' ? v.value : v.text;
  }
  return v;
};

/** Go `int`: an integer or float scalar (quoted text is refused, as yaml.v3 refuses `!!str` into int). */
export const goInt = z.preprocess(
  intValue,
  z
    .number({ error: (iss) => `expected an integer, got ${describeInput(iss.input)}` })
    .refine((n) => Number.isSafeInteger(n), 'integer out of range'),
);

/** Go `*int`: like goInt, absent or null stays undefined. */
export const goIntPtr = z.preprocess((v) => (v === null ? undefined : v), goInt.optional());

const boolValue = (v: unknown): unknown => {
  if (v === null || v === undefined) return false;
  if (v instanceof GoScalar) return v.kind === 'bool' ? v.value : v.text;
  if (typeof v === 'string') {
    // yaml.v3 keeps YAML 1.1 spellings for typed bool fields only.
    if (['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON'].includes(v)) return true;
    if (['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'].includes(v)) return false;
  }
  return v;
};

/** Go `bool`: true/false (and yaml.v3's y/yes/on/n/no/off); null/absent is false. */
export const goBool = z.preprocess(
  boolValue,
  z.boolean({ error: (iss) => `expected true or false, got ${describeInput(iss.input)}` }),
);

/** Go `*bool`: like goBool, absent or null stays undefined. */
export const goBoolPtr = z.preprocess((v) => (v === null ? undefined : v), goBool.optional());

/** Go `*string` (only `s3_prefix`): absent or null is undefined, `""` is kept. */
export const goStringPtr = z.preprocess((v) => (v === null ? undefined : v), goString.optional());

/** Go slice: null/absent is empty. */
export function goList<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => (v === null || v === undefined ? [] : unwrap(v)), z.array(item));
}

/** Go `map[string]V`: null/absent is empty. */
export function goMap<T extends z.ZodType>(value: T) {
  return z.preprocess(
    (v) => (v === null || v === undefined ? {} : Array.isArray(v) ? v : unwrap(v)),
    z.record(z.string(), value, { error: (iss) => `expected a mapping, got ${describeInput(iss.input)}` }),
  );
}

/** Go struct value with KnownFields: unknown keys are errors; null/absent is the zero struct. */
export function goStruct<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.preprocess((v) => (v === null || v === undefined ? {} : unwrap(v)), z.object(shape).strict());
}

/** Go pointer to struct: absent or null is undefined (nil). */
export function goStructPtr<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.preprocess((v) => (v === null ? undefined : unwrap(v)), z.object(shape).strict().optional());
}

function describeInput(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
