import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprint, fnv1a64 } from '../../src/domain/hash';

describe('plan fingerprint', () => {
  it('matches the FNV-1a 64 reference vectors', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
  });

  it('ignores key order and undefined members, but not array order or values', () => {
    expect(canonicalJson({ b: 1, a: [2, { d: undefined, c: 'x' }] })).toBe('{"a":[2,{"c":"x"}],"b":1}');
    expect(fingerprint({ a: 1, b: 2 })).toBe(fingerprint({ b: 2, a: 1 }));
    expect(fingerprint({ order: ['a', 'b'] })).not.toBe(fingerprint({ order: ['b', 'a'] }));
    expect(fingerprint({ v: 'v0.2.0' })).not.toBe(fingerprint({ v: 'v0.2.1' }));
  });
});
