// The release fetcher against real directories and a real HTTP server on 127.0.0.1: no fetch mocks, so
// retries, timeouts, connection refusals and the on-disk cache are exercised as in production.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  cachePaths,
  createReleaseFetcher,
  ReleaseFetchError,
  repositoryKey,
  type ReleaseFetcherOptions,
} from '../../src/activities/release-repo';
import { InputError } from '../../src/errors';

const FIXTURE = join(__dirname, '..', 'fixtures', 'release-repo');
const T0 = Date.parse('2026-01-05T08:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

/** Serves a directory; `script` queues status codes per path that are answered before the real file. */
class RepoServer {
  readonly requests: string[] = [];
  readonly script = new Map<string, number[]>();
  private server: Server | undefined;
  url = '';

  constructor(readonly root: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      this.requests.push(path);
      const queued = this.script.get(path);
      const status = queued?.shift();
      if (status !== undefined) {
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`scripted ${status}`);
        return;
      }
      const file = join(this.root, path);
      if (path.includes('..') || !existsSync(file)) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/yaml' }).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Stops listening and drops kept-alive sockets, so the next request meets a refused connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

let work: string;
let cacheDir: string;
let clock: number;
let servers: RepoServer[];
let delays: number[];

function copyRepo(name: string): string {
  const dir = join(work, name);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

async function serve(dir: string): Promise<RepoServer> {
  const s = await new RepoServer(dir).start();
  servers.push(s);
  return s;
}

function fetcher(extra: Partial<ReleaseFetcherOptions> = {}) {
  return createReleaseFetcher({
    cacheDir,
    now: () => clock,
    retryDelayMs: (attempt) => {
      delays.push(attempt);
      return 1;
    },
    ...extra,
  });
}

async function fetchError(p: Promise<unknown>): Promise<ReleaseFetchError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReleaseFetchError);
  return err as ReleaseFetchError;
}

const stable = { channel: 'stable', version: 'latest' } as const;
const pinned = (version: string) => ({ channel: 'stable', version }) as const;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'fw-release-repo-'));
  cacheDir = join(work, 'cache');
  clock = T0;
  servers = [];
  delays = [];
});

afterEach(async () => {
  for (const s of servers) await s.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('resolution', () => {
  it('fetches a pinned release over HTTP', async () => {
    const s = await serve(copyRepo('repo'));
    const got = await fetcher().fetch([s.url], pinned('v0.1.0'));
    expect(got.manifest.platform_version).toBe('v0.1.0');
    expect(got).toMatchObject({
      repository: s.url,
      manifestPath: 'releases/v0.1.0.yaml',
      fromCache: false,
      stale: false,
    });
    expect(s.requests).toEqual(['/releases/v0.1.0.yaml']);
  });

  it('resolves latest through the channel pointer, locally and over HTTP', async () => {
    const local = await fetcher().fetch([FIXTURE], stable);
    expect(local.manifest.platform_version).toBe('v0.2.0');
    expect(local.manifestPath).toBe('releases/v0.2.0.yaml');
    const rc = await fetcher().fetch([FIXTURE], { channel: 'rc', version: 'latest' });
    expect(rc.manifest.platform_version).toBe('v0.3.0-rc1');

    const s = await serve(copyRepo('repo'));
    const remote = await fetcher().fetch([`${s.url}/`], { channel: 'stable', version: '' });
    expect(remote.manifest.platform_version).toBe('v0.2.0');
    expect(s.requests).toEqual(['/channels/stable.yaml', '/releases/v0.2.0.yaml']);
    // The carried service arrives with its old label and artifacts.
    const foghorn = remote.manifest.services.find((x) => x.name === 'foghorn');
    expect(foghorn).toMatchObject({ service_version: 'v0.1.0', carried_from: 'v0.1.0' });
  });

  it('does not cache local repositories', async () => {
    await fetcher().fetch([copyRepo('repo')], pinned('v0.2.0'));
    expect(existsSync(join(cacheDir, 'manifests'))).toBe(false);
  });

  it('fails closed when the channel pointer is missing, without scanning releases/', async () => {
    const dir = copyRepo('repo');
    rmSync(join(dir, 'channels', 'stable.yaml'));
    const local = await fetchError(fetcher().fetch([dir], stable));
    expect(local.message).toContain('(channels/stable.yaml)');
    expect(local.message).toContain('not found');

    const s = await serve(dir);
    const remote = await fetchError(fetcher().fetch([s.url], stable));
    expect(remote.message).toContain('HTTP 404');
    expect(s.requests).toEqual(['/channels/stable.yaml']);
  });

  it('refuses a manifest whose identity does not match the pointer or the pinned tag', async () => {
    const dir = copyRepo('repo');
    writeFileSync(join(dir, 'channels', 'stable.yaml'), 'platform_version: v0.2.0\nmanifest: releases/v0.1.0.yaml\n');
    const viaPointer = await fetchError(fetcher().fetch([dir], stable));
    expect(viaPointer.message).toMatch(/platform_version.*"v0\.1\.0".*"v0\.2\.0"/);
    expect(viaPointer.retryable).toBe(false);

    // Build metadata counts: v0.2.0+b1 is not v0.2.0 even though they order the same.
    const text = readFileSync(join(dir, 'releases', 'v0.2.0.yaml'), 'utf8');
    writeFileSync(join(dir, 'releases', 'v0.2.0+b1.yaml'), text);
    const s = await serve(dir);
    const pinnedErr = await fetchError(fetcher().fetch([s.url], pinned('v0.2.0+b1')));
    expect(pinnedErr.message).toContain('(releases/v0.2.0+b1.yaml)');
    expect(pinnedErr.message).toContain('platform_version');
  });

  it('refuses native artifacts that do not carry their service version', async () => {
    const dir = copyRepo('repo');
    const file = join(dir, 'releases', 'v0.3.0-rc1.yaml');
    // A rebuilt service whose tarball URLs still name the previous build: the skew that carrying must not hide.
    const drifted = readFileSync(file, 'utf8')
      .replaceAll('/purser/v0.3.0-rc1/', '/purser/v0.2.0/')
      .replaceAll('frameworks-purser-v0.3.0-rc1-', 'frameworks-purser-v0.2.0-');
    writeFileSync(file, drifted);
    const err = await fetchError(fetcher().fetch([dir], pinned('v0.3.0-rc1')));
    expect(err.message).toContain('does not contain the service');
  });

  it('rejects repository strings that are neither a directory nor a URL, and bad tags', async () => {
    await expect(fetcher().fetch(['releases.example.com/frameworks'], stable)).rejects.toThrow(InputError);
    await expect(fetcher().fetch([], stable)).rejects.toThrow(/no release repository/);
    await expect(fetcher().fetch([FIXTURE], pinned('../channels/stable'))).rejects.toThrow(InputError);
  });
});

describe('HTTP retries', () => {
  it('retries 5xx with linear back-off and succeeds', async () => {
    const s = await serve(copyRepo('repo'));
    s.script.set('/releases/v0.2.0.yaml', [503, 500]);
    const got = await fetcher().fetch([s.url], pinned('v0.2.0'));
    expect(got.manifest.platform_version).toBe('v0.2.0');
    expect(s.requests).toEqual(Array(3).fill('/releases/v0.2.0.yaml'));
    expect(delays).toEqual([1, 2]);
  });

  it('retries 429 and gives up after three attempts', async () => {
    const s = await serve(copyRepo('repo'));
    s.script.set('/releases/v0.2.0.yaml', [429, 429, 429]);
    const err = await fetchError(fetcher().fetch([s.url], pinned('v0.2.0')));
    expect(err.message).toContain('HTTP 429 after 3 attempts');
    expect(err.retryable).toBe(true);
    expect(s.requests).toHaveLength(3);
  });

  it('does not retry 404 or other 4xx', async () => {
    const s = await serve(copyRepo('repo'));
    const missing = await fetchError(fetcher().fetch([s.url], pinned('v9.9.9')));
    expect(missing.message).toContain(`${s.url} (releases/v9.9.9.yaml)`);
    expect(missing.message).toContain('HTTP 404');
    expect(missing.retryable).toBe(false);
    s.script.set('/releases/v0.2.0.yaml', [403]);
    await fetchError(fetcher().fetch([s.url], pinned('v0.2.0')));
    expect(s.requests).toEqual(['/releases/v9.9.9.yaml', '/releases/v0.2.0.yaml']);
    expect(delays).toEqual([]);
  });

  it('times out a stalled server', async () => {
    const hung = createServer(() => undefined);
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
      const err = await fetchError(fetcher({ httpTimeoutMs: 100 }).fetch([url], pinned('v0.2.0')));
      expect(err.message).toContain('no complete response within 100 ms');
      expect(delays).toEqual([1, 2]);
    } finally {
      hung.closeAllConnections();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    }
  });
});

describe('repositories and cache', () => {
  it('falls back to the second repository, and reports every failure when all fail', async () => {
    const broken = copyRepo('broken');
    rmSync(join(broken, 'releases', 'v0.2.0.yaml'));
    const first = await serve(broken);
    const second = await serve(copyRepo('good'));
    const got = await fetcher().fetch([first.url, second.url], pinned('v0.2.0'));
    expect(got.repository).toBe(second.url);

    const err = await fetchError(fetcher().fetch([first.url, join(work, 'nowhere')], pinned('v0.2.0')));
    expect(err.failures.map((f) => [f.repository, f.path])).toEqual([
      [first.url, 'releases/v0.2.0.yaml'],
      [join(work, 'nowhere'), 'releases/v0.2.0.yaml'],
    ]);
  });

  it('serves a fresh cache entry without touching the network', async () => {
    const s = await serve(copyRepo('repo'));
    await fetcher().fetch([s.url], stable);
    s.requests.length = 0;
    clock += 14 * MIN;
    const again = await fetcher().fetch([s.url], stable);
    expect(again).toMatchObject({ fromCache: true, stale: false, manifestPath: 'releases/v0.2.0.yaml' });
    expect(s.requests).toHaveLength(0);
    // Past the 15-minute TTL a `latest` entry is refetched.
    clock += 2 * MIN;
    expect((await fetcher().fetch([s.url], stable)).fromCache).toBe(false);
    expect(s.requests).toEqual(['/channels/stable.yaml', '/releases/v0.2.0.yaml']);
  });

  it('serves a stale entry with a warning when the repository is down, but not past max-stale', async () => {
    const s = await serve(copyRepo('repo'));
    await fetcher().fetch([s.url], stable);
    await fetcher().fetch([s.url], pinned('v0.1.0'));
    await s.stop();

    clock += 40 * MIN;
    const warned: string[] = [];
    const got = await fetcher({ warn: (m) => warned.push(m) }).fetch([s.url], stable);
    expect(got).toMatchObject({ fromCache: true, stale: true, repository: s.url });
    expect(got.manifest.platform_version).toBe('v0.2.0');
    expect(got.warnings).toHaveLength(1);
    expect(got.warnings[0]).toContain('fetched 40 min ago');
    expect(warned).toEqual(got.warnings);

    clock = T0 + 61 * MIN;
    const err = await fetchError(fetcher().fetch([s.url], stable));
    expect(err.message).toContain('(channels/stable.yaml)');

    // Pinned entries: fresh for 24 h, stale-servable for 7 days.
    clock = T0 + 23 * HOUR;
    expect(await fetcher().fetch([s.url], pinned('v0.1.0'))).toMatchObject({ fromCache: true, stale: false });
    clock = T0 + 6 * 24 * HOUR;
    expect(await fetcher().fetch([s.url], pinned('v0.1.0'))).toMatchObject({ fromCache: true, stale: true });
    clock = T0 + 8 * 24 * HOUR;
    await fetchError(fetcher().fetch([s.url], pinned('v0.1.0')));
  });

  it('prefers a fresh copy from a later repository over a stale one from the first', async () => {
    const a = await serve(copyRepo('a'));
    const b = await serve(copyRepo('b'));
    await fetcher().fetch([a.url], stable);
    await a.stop();
    clock += 30 * MIN;
    const got = await fetcher().fetch([a.url, b.url], stable);
    expect(got).toMatchObject({ repository: b.url, fromCache: false, stale: false });
  });

  it('keys the cache by repository and by normalized version', async () => {
    const a = await serve(copyRepo('a'));
    const b = await serve(copyRepo('b'));
    await fetcher().fetch([a.url], pinned('v0.2.0'));
    await fetcher().fetch([b.url], pinned('v0.2.0'));
    const pa = cachePaths(cacheDir, a.url, 'stable', 'v0.2.0');
    const pb = cachePaths(cacheDir, b.url, 'stable', 'v0.2.0');
    const key = createHash('sha256').update(a.url).digest('hex').slice(0, 16);
    expect(repositoryKey(a.url)).toBe(key);
    expect(pa.manifest).toBe(join(cacheDir, 'manifests', key, 'stable', 'v0.2.0.yaml'));
    expect(pa.manifest).not.toBe(pb.manifest);
    for (const p of [pa, pb]) expect(existsSync(p.manifest) && existsSync(p.meta)).toBe(true);
    const meta = JSON.parse(readFileSync(pa.meta, 'utf8')) as { fetched_at: string };
    expect(meta.fetched_at).toBe(new Date(T0).toISOString());
    expect(readFileSync(pa.manifest, 'utf8')).toBe(readFileSync(join(FIXTURE, 'releases', 'v0.2.0.yaml'), 'utf8'));

    await a.stop();
    const viaBare = await fetcher().fetch([a.url], pinned('0.2.0'));
    expect(viaBare).toMatchObject({ fromCache: true, stale: false });
    expect(viaBare.manifest.platform_version).toBe('v0.2.0');
  });

  it('re-validates cache entries and ignores a tampered one', async () => {
    const s = await serve(copyRepo('repo'));
    await fetcher().fetch([s.url], pinned('v0.2.0'));
    const p = cachePaths(cacheDir, s.url, 'stable', 'v0.2.0');
    writeFileSync(
      p.manifest,
      readFileSync(p.manifest, 'utf8').replace('platform_version: v0.2.0', 'platform_version: v0.1.0'),
    );
    s.requests.length = 0;
    const got = await fetcher().fetch([s.url], pinned('v0.2.0'));
    expect(got.fromCache).toBe(false);
    expect(got.warnings.join('\n')).toContain('ignoring cache entry');
    expect(s.requests).toEqual(['/releases/v0.2.0.yaml']);
    // The refetch repaired the entry.
    expect(readFileSync(p.manifest, 'utf8')).toContain('platform_version: v0.2.0');

    // A tampered entry is not served as stale either.
    writeFileSync(p.manifest, 'platform_version: v0.2.0\n');
    await s.stop();
    clock += 25 * HOUR;
    await fetchError(fetcher().fetch([s.url], pinned('v0.2.0')));
  });
});
