// Selectors, channels and migration targets (reference §2.3; checklist items 42–45, 63–66, 133).
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors';
import {
  channelOfVersion,
  migrationTargetFromHead,
  normalizeChannel,
  normalizeTargetVersion,
  resolveMigrationTarget,
  resolveSelector,
} from '../../src/domain/selector';

describe('resolveSelector (item 133)', () => {
  it.each([
    [undefined, 'stable', 'latest'],
    ['', 'stable', 'latest'],
    ['latest', 'stable', 'latest'],
    ['LATEST', 'stable', 'latest'],
    ['stable', 'stable', 'latest'],
    [' Stable ', 'stable', 'latest'],
    ['rc', 'rc', 'latest'],
    ['RC', 'rc', 'latest'],
    ['v0.3.0', 'stable', 'v0.3.0'],
    ['v0.3.0-rc1', 'rc', 'v0.3.0-rc1'],
    ['v0.3.0-beta.2', 'rc', 'v0.3.0-beta.2'],
    ['v0.3.0+build.5', 'stable', 'v0.3.0+build.5'],
    ['v0.3.0-rc1+build.5', 'rc', 'v0.3.0-rc1+build.5'],
    ['1.2.3', 'stable', 'v1.2.3'],
    ['1.2.3-rc1', 'rc', 'v1.2.3-rc1'],
  ])('%j → channel %s, version %s', (selector, channel, version) => {
    expect(resolveSelector(selector)).toEqual({ channel, version });
  });

  it.each(['nightly', 'v1.2', 'v01.2.3', '../../etc/passwd', 'v1.2.3-rc01'])('refuses %j', (s) => {
    expect(() => resolveSelector(s)).toThrow(InputError);
    expect(() => resolveSelector(s)).toThrow(/--version/);
  });
});

describe('channelOfVersion', () => {
  it('is rc iff there is a prerelease part; build metadata does not count', () => {
    expect(channelOfVersion('v0.3.0-rc1')).toBe('rc');
    expect(channelOfVersion('v0.3.0-alpha')).toBe('rc');
    expect(channelOfVersion('v0.3.0')).toBe('stable');
    expect(channelOfVersion('v0.3.0+rc1')).toBe('stable');
    expect(channelOfVersion('v0.3.0+build-1')).toBe('stable');
  });
});

describe('normalizeTargetVersion (item 42)', () => {
  it.each(['', '   ', 'latest', 'Latest', ' LATEST '])('%j means the track head', (v) => {
    expect(normalizeTargetVersion(v)).toBe('');
  });
  it('keeps a concrete version', () => {
    expect(normalizeTargetVersion('v0.3.0')).toBe('v0.3.0');
    expect(normalizeTargetVersion(' v0.3.0-rc1 ')).toBe('v0.3.0-rc1');
  });
});

describe('normalizeChannel (items 43–45)', () => {
  it('trims and lower-cases stable and rc', () => {
    expect(normalizeChannel(' Stable ')).toBe('stable');
    expect(normalizeChannel('RC')).toBe('rc');
    expect(normalizeChannel('rc\n')).toBe('rc');
  });
  it('rejects nightly', () => {
    expect(() => normalizeChannel('nightly')).toThrow(InputError);
    expect(() => normalizeChannel('nightly')).toThrow(/unknown release channel "nightly"/);
  });
  it('rejects edge as a cluster track', () => {
    expect(() => normalizeChannel('edge')).toThrow(InputError);
    expect(() => normalizeChannel(' EDGE ')).toThrow(/edge-node release track/);
  });
  it('rejects empty input', () => {
    expect(() => normalizeChannel('')).toThrow(InputError);
  });
});

describe('resolveMigrationTarget (items 63–66)', () => {
  it('returns an explicit concrete version as is (63)', () => {
    expect(resolveMigrationTarget('v0.5.0')).toEqual({ source: 'explicit', version: 'v0.5.0' });
  });
  it('rejects a channel name with the concrete vX.Y.Z hint (64)', () => {
    expect(() => resolveMigrationTarget('stable')).toThrow(InputError);
    expect(() => resolveMigrationTarget('stable')).toThrow(/concrete vX\.Y\.Z/);
    expect(() => resolveMigrationTarget('rc')).toThrow(/concrete vX\.Y\.Z/);
  });
  it('rejects a version without the v (65)', () => {
    expect(() => resolveMigrationTarget('1.2.3')).toThrow(InputError);
    expect(() => resolveMigrationTarget('1.2.3')).toThrow(/--to-version/);
  });
  it('accepts an RC verbatim (66)', () => {
    expect(resolveMigrationTarget('v0.5.0-rc1')).toEqual({ source: 'explicit', version: 'v0.5.0-rc1' });
  });
  it('asks for the channel head when no explicit version is given', () => {
    expect(resolveMigrationTarget()).toEqual({ source: 'channel' });
    expect(resolveMigrationTarget('')).toEqual({ source: 'channel' });
  });
  it('accepts a concrete channel head and refuses a non-concrete one', () => {
    expect(migrationTargetFromHead('v0.3.0', 'stable')).toBe('v0.3.0');
    expect(() => migrationTargetFromHead('latest', 'rc')).toThrow(/pass --to-version vX\.Y\.Z/);
  });
});
