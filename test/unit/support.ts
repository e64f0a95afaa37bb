// Shared by the unit tests of the input contracts: run a parser and hand back the InputError it must throw.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../src/errors';

export function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error('expected an InputError, but nothing was thrown');
}

/** Issue paths of an InputError, for `toContain` assertions. */
export function issuePaths(err: InputError): string[] {
  return err.issues.map((i) => i.path);
}

export function fixture(name: string): string {
  return readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');
}

/**
 * Renames the first `key:` found after walking `anchors` in order, so one key in one section of a fixture can
 * be misspelt without disturbing the rest of the document.
 */
export function misspell(text: string, anchors: string[], key: string, typo: string): string {
  let at = 0;
  for (const a of anchors) {
    const i = text.indexOf(a, at);
    if (i < 0) throw new Error(`anchor ${a} not found`);
    at = i + a.length;
  }
  const k = text.slice(at).search(new RegExp(`\\b${key}:`));
  if (k < 0) throw new Error(`key ${key} not found after ${anchors.join(' > ')}`);
  return text.slice(0, at + k) + `${typo}:` + text.slice(at + k + key.length + 1);
}

export const hex64 = (c: string): string => c.repeat(64);
