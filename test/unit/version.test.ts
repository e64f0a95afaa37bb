// Version grammar and ordering (reference §2.4; checklist items 86, 87, 89, 90, 93).
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors';
import {
  baseVersion,
  compareVersions,
  isCanonicalVersion,
  isPrerelease,
  normalizeVersionInput,
  splitVersion,
  stripGitDescribeSuffix,
  validateVersion,
} from '../../src/contracts/version';

describe('isCanonicalVersion / validateVersion (item 90)', () => {
  it.each([
    'v0.0.0',
    'v0.3.0',
    'v10.20.30',
    'v0.3.0-rc1',
    'v0.5.0-rc.1',
    'v1.2.3-rc-1',
    'v1.2.3-alpha.beta.0',
    'v1.2.3-rc0',
    'v1.2.3+build.7',
    'v1.2.3+001',
    'v1.2.3-rc10+sha.abc',
  ])('accepts %s', (v) => {
    expect(isCanonicalVersion(v)).toBe(true);
    expect(validateVersion(v, '--to-version')).toBe(v);
  });

  it.each([
    ['', 'empty'],
    [' v1.2.3', 'whitespace'],
    ['v1.2.3 ', 'whitespace'],
    ['v1.2.3\n', 'whitespace'],
    ['1.2.3', 'leading "v"'],
    ['V1.2.3', 'not a version'],
    ['v1.2', 'not a version'],
    ['v1.2.3.4', 'not a version'],
    ['v01.2.3', 'leading zero'],
    ['v1.02.3', 'leading zero'],
    ['v1.2.03', 'leading zero'],
    ['v1.2.3-rc01', 'leading zero in prerelease'],
    ['v1.2.3-01', 'leading zero in prerelease'],
    ['v1.2.3-rc..1', 'empty prerelease identifier'],
    ['v1.2.3-.rc', 'empty prerelease identifier'],
    ['v1.2.3-rc.', 'empty prerelease identifier'],
    ['v1.2.3+', 'not a version'],
    ['v1.2.3+a..b', 'empty build identifier'],
    ['v1.2.3-rc_1', 'not a version'],
    ['stable', 'concrete vX.Y.Z'],
    ['rc', 'concrete vX.Y.Z'],
    ['latest', 'concrete vX.Y.Z'],
    ['Stable', 'concrete vX.Y.Z'],
  ])('rejects %j with a hint (%s)', (v, hint) => {
    expect(isCanonicalVersion(v)).toBe(false);
    let err: unknown;
    try {
      validateVersion(v, '--to-version');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).source).toBe('--to-version');
    expect((err as InputError).message).toContain(hint);
    expect((err as InputError).message).not.toMatch(/\n\s+at /);
  });
});

describe('baseVersion (item 93)', () => {
  it.each([
    ['v0.2.97-rc1', 'v0.2.97'],
    ['0.2.97-rc1', 'v0.2.97'],
    ['v0.3.0', 'v0.3.0'],
    ['v0.3.0+build.1', 'v0.3.0'],
    ['v0.3.0-rc.2+sha', 'v0.3.0'],
    ['1.2.3', 'v1.2.3'],
  ])('%s → %s', (v, base) => expect(baseVersion(v)).toBe(base));

  it('an RC and its final share a base', () => {
    expect(baseVersion('v1.2.3-rc1')).toBe(baseVersion('v1.2.3'));
  });
});

describe('splitVersion (item 89)', () => {
  it('extracts components', () => {
    expect(splitVersion('v1.22.333')).toEqual({ major: '1', minor: '22', patch: '333', prerelease: '', build: '' });
  });
  it('defaults missing parts to 0', () => {
    expect(splitVersion('v2')).toEqual({ major: '2', minor: '0', patch: '0', prerelease: '', build: '' });
    expect(splitVersion('3.1')).toMatchObject({ major: '3', minor: '1', patch: '0' });
  });
  it('strips build metadata and keeps the prerelease exactly', () => {
    expect(splitVersion('v1.2.3-rc.1-x+build.5')).toEqual({
      major: '1',
      minor: '2',
      patch: '3',
      prerelease: 'rc.1-x',
      build: 'build.5',
    });
    expect(splitVersion('v1.2.3+build-with-dash').prerelease).toBe('');
  });
});

describe('compareVersions (item 86)', () => {
  it.each([
    ['v1.0.0', 'v2.0.0', -1],
    ['v1.10.0', 'v1.9.0', 1],
    ['v0.2.97', 'v0.3.0', -1],
    ['v1.2.3', 'v1.2.3', 0],
    ['1.2.3', 'v1.2.3', 0],
  ] as const)('core: %s vs %s = %d', (a, b, want) => {
    expect(compareVersions(a, b)).toBe(want);
    expect(compareVersions(b, a)).toBe(-want || 0);
  });

  it('a release outranks its prereleases', () => {
    expect(compareVersions('v1.0.0-rc1', 'v1.0.0')).toBe(-1);
    expect(compareVersions('v1.0.0', 'v1.0.0-rc99')).toBe(1);
  });

  it('orders prereleases by semver precedence', () => {
    const ordered = [
      'v1.0.0-1',
      'v1.0.0-2',
      'v1.0.0-10',
      'v1.0.0-alpha',
      'v1.0.0-alpha.1',
      'v1.0.0-alpha.2',
      'v1.0.0-alpha.10',
      'v1.0.0-alpha.beta',
      'v1.0.0-beta',
      'v1.0.0-rc',
      'v1.0.0-rc1',
      'v1.0.0-rc2',
      'v1.0.0-rc10',
      'v1.0.0',
    ];
    for (let i = 0; i < ordered.length - 1; i++) {
      expect(compareVersions(ordered[i]!, ordered[i + 1]!), `${ordered[i]} < ${ordered[i + 1]}`).toBe(-1);
      expect(compareVersions(ordered[i + 1]!, ordered[i]!)).toBe(1);
    }
    const shuffled = [...ordered].reverse().sort(compareVersions);
    expect(shuffled).toEqual(ordered);
  });

  it('rc2 < rc10 and rc.2 < rc.10 (numeric, not ASCII)', () => {
    expect(compareVersions('v0.3.0-rc2', 'v0.3.0-rc10')).toBe(-1);
    expect(compareVersions('v0.3.0-rc.2', 'v0.3.0-rc.10')).toBe(-1);
  });

  it('numeric identifiers sort below alphanumeric ones', () => {
    expect(compareVersions('v1.0.0-9', 'v1.0.0-a')).toBe(-1);
    expect(compareVersions('v1.0.0-rc.9', 'v1.0.0-rc.a')).toBe(-1);
  });

  it('more identifiers beat fewer when the common ones are equal', () => {
    expect(compareVersions('v1.0.0-rc', 'v1.0.0-rc.1')).toBe(-1);
    expect(compareVersions('v1.0.0-rc.1.1', 'v1.0.0-rc.1')).toBe(1);
  });

  it('ignores build metadata', () => {
    expect(compareVersions('v1.2.3+a', 'v1.2.3+b')).toBe(0);
    expect(compareVersions('v1.2.3-rc1+a', 'v1.2.3-rc1')).toBe(0);
  });

  it('orders numbers beyond 2^53 without overflow', () => {
    expect(compareVersions('v99999999999999999999.0.0', 'v99999999999999999998.0.0')).toBe(1);
    expect(compareVersions('v1.18446744073709551616.0', 'v1.18446744073709551615.0')).toBe(1);
    expect(compareVersions('v1.0.0-rc.100000000000000000001', 'v1.0.0-rc.100000000000000000000')).toBe(1);
    expect(compareVersions('v9007199254740993.0.0', 'v9007199254740992.0.0')).toBe(1);
  });

  it('treats non-digit core components as 0', () => {
    expect(compareVersions('vx.1.0', 'v0.1.0')).toBe(0);
  });
});

describe('stripGitDescribeSuffix (item 87)', () => {
  it.each([
    ['v0.3.0-4-gabc1234', 'v0.3.0'],
    ['v0.3.0-12-g0123456789abcdef', 'v0.3.0'],
    ['v0.3.0-4-gabc1234-dirty', 'v0.3.0'],
    ['v0.3.0-rc1-2-gdeadbee', 'v0.3.0-rc1'],
  ])('%s → %s', (v, want) => expect(stripGitDescribeSuffix(v)).toBe(want));

  it.each(['v0.3.0', 'v0.3.0-rc1', 'v0.3.0-rc.2', 'v0.3.0-4-gabc12', 'v0.3.0-beta-1', 'v0.3.0-dirty', 'dev'])(
    'leaves %s untouched',
    (v) => expect(stripGitDescribeSuffix(v)).toBe(v),
  );
});

describe('normalizeVersionInput / isPrerelease', () => {
  it('adds the v to bare numbers and only trims everything else', () => {
    expect(normalizeVersionInput('1.2.3')).toBe('v1.2.3');
    expect(normalizeVersionInput(' 1.2.3-rc1 ')).toBe('v1.2.3-rc1');
    expect(normalizeVersionInput('v1.2.3')).toBe('v1.2.3');
    expect(normalizeVersionInput('stable')).toBe('stable');
    expect(normalizeVersionInput('')).toBe('');
  });
  it('build metadata is not a prerelease', () => {
    expect(isPrerelease('v1.2.3-rc1')).toBe(true);
    expect(isPrerelease('v1.2.3')).toBe(false);
    expect(isPrerelease('v1.2.3+build-7')).toBe(false);
  });
});
