// Channel pointers (`channels/<channel>.yaml`, reference §2.2; checklist item 142).
import { describe, expect, it } from 'vitest';
import { parseChannelPointer } from '../../src/contracts/release';
import { inputError, issuePaths } from './support';

const SRC = 'channels/stable.yaml';

describe('parseChannelPointer', () => {
  it('accepts exactly platform_version, manifest and optional updated_at', () => {
    expect(
      parseChannelPointer(
        'platform_version: v0.3.0\nmanifest: releases/v0.3.0.yaml\nupdated_at: 2025-11-10T16:00:00Z\n',
        SRC,
      ),
    ).toEqual({
      platform_version: 'v0.3.0',
      manifest: 'releases/v0.3.0.yaml',
      updated_at: '2025-11-10T16:00:00Z',
    });
    expect(parseChannelPointer('platform_version: v0.3.0-rc1\nmanifest: releases/v0.3.0-rc1.yaml\n', SRC)).toEqual({
      platform_version: 'v0.3.0-rc1',
      manifest: 'releases/v0.3.0-rc1.yaml',
    });
  });

  it('refuses a typoed key, naming it', () => {
    const err = inputError(() =>
      parseChannelPointer('platform_version: v0.3.0\nmanifets: releases/v0.3.0.yaml\n', SRC),
    );
    expect(err.issues).toEqual([
      { path: 'manifest', message: 'missing required key (expected string)' },
      { path: 'manifets', message: 'unknown key' },
    ]);
    expect(err.message.startsWith(`${SRC}: 2 problems`)).toBe(true);
  });

  it('refuses an extra key', () => {
    const text = 'platform_version: v0.3.0\nmanifest: releases/v0.3.0.yaml\nupdatedat: now\n';
    expect(inputError(() => parseChannelPointer(text, SRC)).issues).toEqual([
      { path: 'updatedat', message: 'unknown key' },
    ]);
  });

  it.each(['stable', 'latest', '0.3.0', 'v0.3', 'v0.3.0-rc01'])('refuses platform_version %j', (v) => {
    const err = inputError(() => parseChannelPointer(`platform_version: ${v}\nmanifest: releases/x.yaml\n`, SRC));
    expect(issuePaths(err)).toEqual(['platform_version']);
  });

  it.each([
    '/etc/passwd',
    '../releases/v0.3.0.yaml',
    'releases/../../secret.yaml',
    'releases/./v0.3.0.yaml',
    'releases//v0.3.0.yaml',
    'channels/stable.yaml',
    'https://evil.example/releases/v0.3.0.yaml',
    'releases\\v0.3.0.yaml',
    'releases/',
    '',
  ])('refuses manifest path %j', (p) => {
    const err = inputError(() =>
      parseChannelPointer(`platform_version: v0.3.0\nmanifest: ${JSON.stringify(p)}\n`, SRC),
    );
    expect(issuePaths(err)).toEqual(['manifest']);
  });

  it('refuses a second document, an empty file and a list', () => {
    const two = 'platform_version: v0.3.0\nmanifest: releases/v0.3.0.yaml\n---\nplatform_version: v0.2.0\n';
    expect(inputError(() => parseChannelPointer(two, SRC)).message).toContain('exactly one YAML document');
    expect(inputError(() => parseChannelPointer('', SRC)).message).toContain('empty document');
    expect(inputError(() => parseChannelPointer('- v0.3.0\n', SRC)).message).toContain(
      'expected a mapping, got a list',
    );
  });
});
