// The one YAML entry point shared by every input file: one document, no duplicate keys, all problems at once.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatPath, parseYamlDocument, yamlText } from '../../src/contracts/parse';
import { InputError } from '../../src/errors';
import { inputError } from './support';

const Schema = z
  .object({
    name: z.string(),
    items: z.array(z.object({ n: z.number(), label: yamlText.optional() }).strict()).default([]),
    at: z.string().optional(),
  })
  .strict();

describe('parseYamlDocument', () => {
  it('parses one document into plain data', () => {
    expect(parseYamlDocument('name: x\nitems: [{ n: 1 }]\n', Schema, 'f.yaml')).toEqual({
      name: 'x',
      items: [{ n: 1 }],
    });
  });

  it.each(['', '\n\n', '# only a comment\n', '---\n', '~\n', 'null\n'])('refuses empty input %j', (text) => {
    const err = inputError(() => parseYamlDocument(text, Schema, 'f.yaml'));
    expect(err.message).toBe('f.yaml: empty document: expected one YAML mapping');
  });

  it('refuses a second document, even an empty one', () => {
    expect(inputError(() => parseYamlDocument('name: x\n---\nname: y\n', Schema, 'f.yaml')).message).toBe(
      'f.yaml: expected exactly one YAML document, found another at line 2:1',
    );
    expect(() => parseYamlDocument('name: x\n---\n', Schema, 'f.yaml')).toThrow(/exactly one YAML document/);
  });

  it('accepts an explicit document end marker', () => {
    expect(parseYamlDocument('---\nname: x\n...\n', Schema, 'f.yaml')).toEqual({ name: 'x', items: [] });
  });

  it('reports the first syntax error with line:col and no stack trace', () => {
    const err = inputError(() => parseYamlDocument('name: x\nitems: [{ n: 1 }\nat: y\n', Schema, 'f.yaml'));
    expect(err.issues).toHaveLength(1);
    expect(err.message).toBe(
      'f.yaml: YAML error at line 3:1: Flow sequence in block collection must be sufficiently indented and end with a ]',
    );
  });

  it('collapses the echo of a syntax error into a count', () => {
    const err = inputError(() => parseYamlDocument('name: x\n  at: y\n items: []\n', Schema, 'f.yaml'));
    expect(err.issues).toHaveLength(1);
    expect(err.message).toMatch(
      /^f\.yaml: YAML error at line 1:7: .*\(\d+ more reported after it; fix this one first\)$/,
    );
  });

  it.each(['!!timestamp 2020-01-01', '!!binary aGVsbG8=', '!!set {x}', '!custom x'])(
    'refuses the explicit tag in %j rather than produce a non-JSON value',
    (value) => {
      expect(inputError(() => parseYamlDocument(`name: x\nat: ${value}\n`, Schema, 'f.yaml')).message).toMatch(
        /line 2:5: Unresolved tag/,
      );
    },
  );

  it('refuses duplicate keys at any depth, naming the path and both lines', () => {
    const err = inputError(() => parseYamlDocument('name: x\nitems:\n  - n: 1\n    n: 2\nname: y\n', Schema, 'f.yaml'));
    expect(err.issues).toEqual([
      { path: 'items[0].n', message: 'duplicate key at line 4:5 (first at line 3:5)' },
      { path: 'name', message: 'duplicate key at line 5:1 (first at line 1:1)' },
    ]);
  });

  it('reports every validation problem at once, unknown keys at their own path', () => {
    const err = inputError(() =>
      parseYamlDocument('name: 3\nitems: [{ n: one }, { n: 2, lable: x }]\nextra: 1\n', Schema, 'f.yaml'),
    );
    expect(err).toBeInstanceOf(InputError);
    expect(err.issues).toEqual([
      { path: 'name', message: 'expected string, got number 3' },
      { path: 'items[0].n', message: 'expected number, got string "one"' },
      { path: 'items[1].lable', message: 'unknown key' },
      { path: 'extra', message: 'unknown key' },
    ]);
  });

  it('keeps timestamps as strings and version-like numbers as written', () => {
    const out = parseYamlDocument(
      'name: x\nat: 2025-01-01T00:00:00Z\nitems: [{ n: 1, label: 3.10 }, { n: 2, label: 18.4 }, { n: 3, label: 12345678901234567890 }]\n',
      Schema,
      'f.yaml',
    );
    expect(out.at).toBe('2025-01-01T00:00:00Z');
    expect(out.items.map((i) => i.label)).toEqual(['3.10', '18.4', '12345678901234567890']);
  });

  it('expands aliases but refuses alias bombs', () => {
    expect(parseYamlDocument('name: &n x\nat: *n\n', Schema, 'f.yaml')).toEqual({ name: 'x', at: 'x', items: [] });
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
      .concat(
        Array.from(
          { length: 8 },
          (_, i) => `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`,
        ),
      )
      .join('\n');
    expect(inputError(() => parseYamlDocument(bomb, z.unknown(), 'bomb.yaml')).message).toMatch(/^bomb\.yaml: /);
  });
});

describe('formatPath', () => {
  it('renders dotted keys and indices, quoting odd keys', () => {
    expect(formatPath(['services', 2, 'digest'])).toBe('services[2].digest');
    expect(formatPath(['hosts', 'h-1', 'port'])).toBe('hosts.h-1.port');
    expect(formatPath(['env', 'a.b'])).toBe('env["a.b"]');
    expect(formatPath([0, 'x'])).toBe('[0].x');
    expect(formatPath([])).toBe('');
  });
});
