// Which release tarball a provisioner-installed binary came from (src/activities/hosts/binary-identity.ts): a real
// .tar.gz on disk, fetched through a file:// URL and verified like any artifact; the fetcher is a stub returning
// a parsed manifest (the repository code has its own tests).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gzip, sha256Hex, tar } from '../../lab/tar';
import { parseReleaseManifest } from '../../src/contracts/release';
import { createBinaryOriginResolver, memberSha256 } from '../../src/activities/hosts/binary-identity';
import type { ReleaseFetcher } from '../../src/activities/release-repo';

const dir = mkdtempSync(join(tmpdir(), 'fw-binary-identity-'));
const exe = Buffer.from('#!/bin/sh\necho purser v0.1.0\n');
const body = gzip(
  tar([
    { type: 'file', path: 'purser', mode: 0o755, body: exe },
    { type: 'file', path: 'data-migrations.js', mode: 0o644, body: Buffer.from('module.exports = {};\n') },
  ]),
);
const file = join(dir, 'frameworks-purser-v0.1.0-linux-amd64.tar.gz');
writeFileSync(file, body);
const checksum = `sha256:${sha256Hex(body)}`;

const manifest = parseReleaseManifest(
  [
    'platform_version: v0.1.0',
    'git_commit: a441e5bf5d2c16973b330fb7cd02147ed5526247',
    'release_date: 2025-09-01T12:00:00Z',
    'services: []',
    'native_binaries:',
    '  - name: purser',
    '    artifacts:',
    `      - { arch: linux-amd64, url: "file://${file}", checksum: "${checksum}", size_bytes: ${body.length} }`,
    '',
  ].join('\n'),
  'v0.1.0.yaml',
);

function fetcher(calls: string[]): ReleaseFetcher {
  return {
    fetch: (_repos, selector) => {
      calls.push(selector.version);
      if (selector.version !== 'v0.1.0') return Promise.reject(new Error(`no release ${selector.version}`));
      return Promise.resolve({
        manifest,
        repository: 'r',
        manifestPath: 'releases/v0.1.0.yaml',
        fromCache: false,
        stale: false,
        warnings: [],
      });
    },
  };
}

describe('binary origin', () => {
  it('hashes exactly the named member of a .tar.gz (null when absent)', async () => {
    expect(await memberSha256(file, 'purser')).toBe(sha256Hex(exe));
    expect(await memberSha256(file, 'quartermaster')).toBeNull();
  });

  it('equates the binary with the tarball of the release it names only when the bytes are the same', async () => {
    const calls: string[] = [];
    const resolve = createBinaryOriginResolver({
      fetcher: fetcher(calls),
      cacheDir: join(dir, 'cache'),
      repositories: ['r'],
    });
    const q = { svc: 'purser', version: 'v0.1.0', arch: 'linux-amd64', binaryIdentity: `sha256:${sha256Hex(exe)}` };
    expect(await resolve(q)).toMatchObject({ identity: checksum, url: `file://${file}` });
    // Other bytes, another arch, a release that does not exist, a service without artifacts: not proven.
    expect(await resolve({ ...q, binaryIdentity: `sha256:${'ab'.repeat(32)}` })).toBeNull();
    expect(await resolve({ ...q, arch: 'linux-arm64' })).toBeNull();
    expect(await resolve({ ...q, version: 'v9.9.9' })).toBeNull();
    expect(await resolve({ ...q, svc: 'quartermaster' })).toBeNull();
    expect(calls).toEqual(['v0.1.0', 'v0.1.0', 'v0.1.0', 'v9.9.9', 'v0.1.0']);
  });
});
