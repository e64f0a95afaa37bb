// The identity slice the upgrade gate judges carried services by (issue 11 item 1): scanning the release
// repository for the manifests that pin a detected identity. Real fetcher over the fixture repository (a local
// directory) and over the same files served by HTTP (which cannot be listed: catalog versions + channel heads).
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReleaseManifest } from '../../src/contracts/release';
import { pinKey } from '../../src/contracts/upgrade';
import { findReleasesPinning } from '../../src/activities/release-pins';
import { createReleaseFetcher } from '../../src/activities/release-repo';
import { getServiceInfo } from '../../src/domain/release';

const REPO = join(__dirname, '..', 'fixtures', 'release-repo');
const info = (tag: string, svc: string) =>
  getServiceInfo(parseReleaseManifest(readFileSync(join(REPO, 'releases', `${tag}.yaml`), 'utf8'), tag), svc)!;
const FOGHORN_V1 = info('v0.1.0', 'foghorn').digest!;
const BRIDGE_V2 = info('v0.2.0', 'bridge').digest!;
const PURSER_V2_ARM = info('v0.2.0', 'purser').binaries.find((b) => b.arch === 'linux-arm64')!.checksum!;
const fetcher = () => createReleaseFetcher({ cacheDir: mkdtempSync(join(tmpdir(), 'fw-pins-')) });

describe('findReleasesPinning', () => {
  it('local repository: every release that pins the identity, ascending (a carried image is pinned twice)', async () => {
    const r = await findReleasesPinning(
      fetcher(),
      [REPO],
      [],
      [
        { service: 'foghorn', identity: FOGHORN_V1 },
        { service: 'bridge', identity: BRIDGE_V2 },
        { service: 'purser', identity: PURSER_V2_ARM },
        { service: 'bridge', identity: FOGHORN_V1 },
        { service: 'bridge', identity: 'sha256:unknown' },
      ],
    );
    expect(r.scanned).toEqual(['v0.1.0', 'v0.2.0', 'v0.3.0-rc1']);
    expect(r.pins).toEqual({
      [pinKey('foghorn', FOGHORN_V1)]: ['v0.1.0', 'v0.2.0'],
      [pinKey('bridge', BRIDGE_V2)]: ['v0.2.0'],
      [pinKey('purser', PURSER_V2_ARM)]: ['v0.2.0'],
    });
    expect(r.warnings).toEqual([]);
  });

  it('nothing asked, nothing read', async () => {
    expect(await findReleasesPinning(fetcher(), [REPO], [], [])).toEqual({ scanned: [], pins: {}, warnings: [] });
  });

  it('a manifest that cannot be read is a warning; the other manifests still answer', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'fw-pins-repo-'));
    cpSync(REPO, broken, { recursive: true });
    writeFileSync(join(broken, 'releases', 'v0.3.0-rc1.yaml'), 'platform_version: v0.3.0-rc1\nnot: valid\n');
    const r = await findReleasesPinning(fetcher(), [broken], [], [{ service: 'foghorn', identity: FOGHORN_V1 }]);
    expect(r.pins).toEqual({ [pinKey('foghorn', FOGHORN_V1)]: ['v0.1.0', 'v0.2.0'] });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^v0\.3\.0-rc1: /);
  });

  describe('HTTP repository', () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      server = createServer((req, res) => {
        try {
          res.end(readFileSync(join(REPO, req.url!.replace(/^\//, ''))));
        } catch {
          res.statusCode = 404;
          res.end('not found');
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('reads the channel heads and the catalog versions; an unpublished catalog release is skipped', async () => {
      const r = await findReleasesPinning(
        fetcher(),
        [base],
        ['v0.1.0', 'v0.2.0', 'v0.3.0'],
        [{ service: 'foghorn', identity: FOGHORN_V1 }],
      );
      expect(r.scanned).toEqual(['v0.1.0', 'v0.2.0', 'v0.3.0-rc1']);
      expect(r.pins).toEqual({ [pinKey('foghorn', FOGHORN_V1)]: ['v0.1.0', 'v0.2.0'] });
      // v0.3.0 is declared in the catalog but not published: skipped quietly.
      expect(r.warnings).toEqual([]);
    });
  });
});
