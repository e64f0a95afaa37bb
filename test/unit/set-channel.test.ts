// set-channel's byte-splice (reference §1.7): only the channel value changes; comments, order, quoting and line
// endings survive, and rc → stable restores the original bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseChannelArgument, patchChannel, setChannel } from '../../src/cli/commands/set-channel';
import { writeFixtureCluster } from '../helpers/fixtures';
import { parseFrameworksManifest } from '../../src/contracts/frameworks/manifest';
import { ExitError, InputError } from '../../src/errors';

const FIXTURE = readFileSync(join(__dirname, '..', 'fixtures', 'cluster', 'cluster.yaml'), 'utf8');

function differingLines(a: string, b: string): string[] {
  const x = a.split('\n');
  const y = b.split('\n');
  expect(y.length).toBe(x.length);
  return x.flatMap((line, i) => (line === y[i] ? [] : [`${line} => ${y[i]}`]));
}

describe('patchChannel', () => {
  it('rc then stable: only the channel line differs, then the file is byte-identical again', () => {
    const rc = patchChannel(FIXTURE, 'rc');
    expect(differingLines(FIXTURE, rc)).toEqual(['channel: stable => channel: rc']);
    expect(rc).toContain('# A complete FrameWorks cluster manifest');
    expect(parseFrameworksManifest(rc, 'x').channel).toBe('rc');
    expect(patchChannel(rc, 'stable')).toBe(FIXTURE);
  });

  it('keeps a trailing comment, the quote style and CRLF line endings', () => {
    const text = 'name: lab  # the lab\r\nchannel: "stable"   # written by set-channel\r\nhosts: {}\r\n';
    expect(patchChannel(text, 'rc')).toBe(
      'name: lab  # the lab\r\nchannel: "rc"   # written by set-channel\r\nhosts: {}\r\n',
    );
    expect(patchChannel("channel: 'rc'\nname: x\n", 'stable')).toBe("channel: 'stable'\nname: x\n");
  });

  it('adds an absent key on the line after type:, not inside a nested mapping', () => {
    const text = '# top\nversion: v1\ntype: cluster # t\nhosts:\n  h1: { labels: { channel: x } }\n';
    expect(patchChannel(text, 'rc')).toBe(
      '# top\nversion: v1\ntype: cluster # t\nchannel: rc\nhosts:\n  h1: { labels: { channel: x } }\n',
    );
    expect(patchChannel('hosts: {}', 'rc')).toBe('hosts: {}\nchannel: rc\n');
  });

  it('a block-scalar channel (`channel: |-` + an indented line) becomes a plain value; other bytes stay', () => {
    const text = 'version: v1\nchannel: |-  # pinned by ops\n  stable\ntype: cluster\n';
    expect(patchChannel(text, 'rc')).toBe('version: v1\nchannel: rc # pinned by ops\ntype: cluster\n');
    expect(patchChannel('version: v1\nchannel: >\n  stable\n', 'rc')).toBe('version: v1\nchannel: rc\n');
    expect(patchChannel('version: v1\r\nchannel: |\r\n  stable\r\nhosts: {}\r\n', 'rc')).toBe(
      'version: v1\r\nchannel: rc\r\nhosts: {}\r\n',
    );
  });

  it('set-channel on an operator file whose channel is a block scalar updates it (no "YAML error")', async () => {
    const manifest = writeFixtureCluster({ name: 'set-channel-block' });
    const original = readFileSync(manifest, 'utf8');
    const block = original.replace(/^channel: stable$/m, 'channel: |-\n  stable');
    writeFileSync(manifest, block);
    const r = await setChannel(manifest, 'rc');
    expect(r).toMatchObject({ previous: 'stable', channel: 'rc', changed: true });
    expect(readFileSync(manifest, 'utf8')).toBe(original.replace(/^channel: stable$/m, 'channel: rc'));
  });

  it('refuses shapes it cannot patch safely', () => {
    expect(() => patchChannel('{name: lab, channel: stable}', 'rc')).toThrow(InputError);
    expect(() => patchChannel('name: lab\nchannel: !!str stable\n', 'rc')).toThrow(/not a plain value/);
  });
});

describe('parseChannelArgument', () => {
  it('accepts exactly stable and rc; anything else is a usage error naming the choices', () => {
    expect(parseChannelArgument('rc')).toBe('rc');
    for (const bad of ['RC', 'beta', '', 'stable ']) {
      try {
        parseChannelArgument(bad);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ExitError);
        expect((err as ExitError).exitCode).toBe(2);
        expect((err as ExitError).message).toBe(`invalid channel "${bad}": must be one of [stable rc]`);
      }
    }
  });
});
