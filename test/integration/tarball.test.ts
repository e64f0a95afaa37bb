// Worker-side artifact handling: a content-addressed download cache that verifies before trusting, and a tar
// inspection that refuses every way an archive can write outside its directory. Safe archives come from the
// real GNU tar; hostile ones are crafted byte by byte (GNU tar will not write most of them).
import { ApplicationFailure } from '@temporalio/common';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchArtifact, inspectTarball } from '../../src/activities/hosts/tarball';
import { FailureType } from '../../src/errors';

let work: string;
let server: Server;
let baseUrl: string;
let requests = 0;
const served = new Map<string, Buffer>();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fw-tarball-'));
  server = createServer((req, res) => {
    requests++;
    const body = served.get(req.url ?? '');
    if (!body) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  baseUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  if (work) rmSync(work, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('fetchArtifact', () => {
  const body = Buffer.from('pretend this is a release tarball\n'.repeat(1000));
  const checksum = `sha256:${sha(body)}`;

  it('downloads over HTTP once, then serves the verified cache', async () => {
    served.set('/a.tar.gz', body);
    const cache = join(work, 'cache-http');
    const before = requests;
    const first = await fetchArtifact(`${baseUrl}/a.tar.gz`, cache, { checksum, sizeBytes: body.length });
    expect(first).toEqual({
      path: join(cache, 'artifacts', 'sha256', sha(body)),
      identity: checksum,
      sizeBytes: body.length,
      cached: false,
    });
    const again = await fetchArtifact(`${baseUrl}/a.tar.gz`, cache, { checksum });
    expect(again.cached).toBe(true);
    expect(requests - before).toBe(1);
  });

  it('downloads once for calls made at the same time (replicas staged at once), the others use the cache', async () => {
    served.set('/same.tar.gz', body);
    const cache = join(work, 'cache-concurrent');
    const before = requests;
    const all = await Promise.all(
      [1, 2, 3].map(() => fetchArtifact(`${baseUrl}/same.tar.gz`, cache, { checksum, sizeBytes: body.length })),
    );
    expect(requests - before).toBe(1);
    expect(all.map((a) => a.cached).sort()).toEqual([false, true, true]);
    for (const a of all) expect(a).toMatchObject({ identity: checksum, sizeBytes: body.length });
  });

  it('copies file:// URLs and re-fetches a corrupted cache entry', async () => {
    const src = join(work, 'local.tar.gz');
    writeFileSync(src, body);
    const cache = join(work, 'cache-file');
    const first = await fetchArtifact(pathToFileURL(src).href, cache, { checksum });
    writeFileSync(first.path, 'bit rot');
    const again = await fetchArtifact(pathToFileURL(src).href, cache, { checksum });
    expect(again.cached).toBe(false);
    expect(sha(readFileSync(again.path))).toBe(sha(body));
  });

  it('refuses a checksum mismatch, non-retryably, and caches nothing', async () => {
    served.set('/evil.tar.gz', Buffer.from('other bytes'));
    const cache = join(work, 'cache-evil');
    const f = await failureOf(fetchArtifact(`${baseUrl}/evil.tar.gz`, cache, { checksum }));
    expect(f.type).toBe(FailureType.ChecksumMismatch);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(`expected ${checksum}`);
    expect(f.message).toContain(`got sha256:${sha(Buffer.from('other bytes'))}`);
    expect(readdirSync(join(cache, 'artifacts', 'sha256'))).toEqual([]);
  });

  it('refuses a size mismatch even when streaming stops early', async () => {
    served.set('/a.tar.gz', body);
    const cache = join(work, 'cache-size');
    const f = await failureOf(fetchArtifact(`${baseUrl}/a.tar.gz`, cache, { checksum, sizeBytes: 100 }));
    expect(f.type).toBe(FailureType.ChecksumMismatch);
    expect(readdirSync(join(cache, 'artifacts', 'sha256'))).toEqual([]);
  });

  it('reports a 404 as a non-retryable fetch failure and a bad checksum as invalid input', async () => {
    const f = await failureOf(fetchArtifact(`${baseUrl}/missing.tar.gz`, join(work, 'c404'), { checksum }));
    expect(f.type).toBe(FailureType.ReleaseFetchFailed);
    expect(f.nonRetryable).toBe(true);
    const g = await failureOf(fetchArtifact(`${baseUrl}/a.tar.gz`, join(work, 'c'), { checksum: 'md5:abc' }));
    expect(g.type).toBe(FailureType.InvalidInput);
    const h = await failureOf(fetchArtifact('ftp://x/y', join(work, 'c'), { checksum }));
    expect(h.type).toBe(FailureType.InvalidInput);
  });
});

// ---- crafted archives ----

type Crafted = {
  name: string;
  type?: string;
  body?: string;
  link?: string;
  pax?: Record<string, string>;
  /** A global pax header (type g) before the entry. */
  globalPax?: Record<string, string>;
  /** A GNU long name (type L) before the entry. */
  longName?: string;
};

function header(name: string, type: string, size: number, link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  const sum = h.reduce((n, b) => n + b, 0);
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function block(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

function craft(file: string, entries: Crafted[]): string {
  const parts: Buffer[] = [];
  const paxData = (pax: Record<string, string>): Buffer =>
    Buffer.from(
      Object.entries(pax)
        .map(([k, v]) => {
          const rest = ` ${k}=${v}\n`;
          let len = rest.length + 1;
          while (`${len}${rest}`.length !== len) len++;
          return `${len}${rest}`;
        })
        .join(''),
    );
  for (const e of entries) {
    if (e.globalPax) {
      const data = paxData(e.globalPax);
      parts.push(header('GlobalHead', 'g', data.length), block(data));
    }
    if (e.longName !== undefined) {
      const data = Buffer.from(`${e.longName}\0`);
      parts.push(header('././@LongLink', 'L', data.length), block(data));
    }
    if (e.pax) {
      const data = paxData(e.pax);
      parts.push(header('PaxHeader', 'x', data.length), block(data));
    }
    const body = Buffer.from(e.body ?? '');
    parts.push(header(e.name, e.type ?? '0', body.length, e.link ?? ''), block(body));
  }
  parts.push(Buffer.alloc(1024));
  const path = join(work, file);
  writeFileSync(path, gzipSync(Buffer.concat(parts)));
  return path;
}

async function refusedWith(path: string, ...fragments: string[]): Promise<void> {
  const f = await failureOf(inspectTarball(path));
  expect(f.type).toBe(FailureType.UnsafeArtifact);
  expect(f.nonRetryable).toBe(true);
  for (const text of fragments) expect(f.message).toContain(text);
}

describe('inspectTarball', () => {
  it('lists a real GNU tar archive with long names, an inner symlink and a hard link', async () => {
    const tree = join(work, 'tree');
    const deep = join(tree, 'lib', 'a'.repeat(60), 'b'.repeat(60));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(tree, 'purser'), '#!/bin/sh\necho hi\n');
    writeFileSync(join(deep, 'data.txt'), 'x'.repeat(700));
    symlinkSync(`lib/${'a'.repeat(60)}/${'b'.repeat(60)}/data.txt`, join(tree, 'data'));
    symlinkSync('../../purser', join(tree, 'lib', 'a'.repeat(60), 'up'));
    const tgz = join(work, 'real.tar.gz');
    execFileSync('ln', [join(tree, 'purser'), join(tree, 'purser-hard')]);
    execFileSync('tar', ['-czf', tgz, '-C', tree, '.']);
    const { entries, fileBytes } = await inspectTarball(tgz);
    const byPath = new Map(entries.map((e) => [e.path.replace(/^\.\//, '').replace(/\/$/, ''), e]));
    expect(byPath.get(`lib/${'a'.repeat(60)}/${'b'.repeat(60)}/data.txt`)).toMatchObject({ type: 'file', size: 700 });
    expect(byPath.get('data')).toMatchObject({ type: 'symlink' });
    expect([...byPath.values()].filter((e) => e.type === 'hardlink')).toHaveLength(1);
    // The hard link carries no data of its own.
    expect(fileBytes).toBe(700 + '#!/bin/sh\necho hi\n'.length);
  });

  it('accepts a crafted safe archive (pax long path, links resolving inside)', async () => {
    const ok = craft('ok.tar.gz', [
      { name: 'bin/', type: '5' },
      { name: 'bin/svc', body: 'x' },
      { name: 'ignored', pax: { path: `deep/${'n'.repeat(200)}` }, body: 'y' },
      { name: 'bin/alias', type: '2', link: 'svc' },
      { name: 'bin/up', type: '2', link: '../bin/./svc' },
      { name: 'copy', type: '1', link: 'bin/svc' },
    ]);
    const { entries } = await inspectTarball(ok);
    expect(entries.map((e) => e.path)).toContain(`deep/${'n'.repeat(200)}`);
  });

  it('refuses absolute paths and .. components, listing every problem', async () => {
    await refusedWith(
      craft('abs.tar.gz', [{ name: '/etc/cron.d/x' }, { name: 'a/../../x' }, { name: 'ok' }]),
      '2 unsafe entries',
      'entry "/etc/cron.d/x": absolute path',
      'entry "a/../../x": ".." component',
    );
    await refusedWith(craft('pax.tar.gz', [{ name: 'innocent', pax: { path: '../../root/.ssh/x' } }]), '".."');
    await refusedWith(craft('gnu.tar.gz', [{ name: 'innocent', longName: `../${'d'.repeat(120)}/x` }]), '".."');
  });

  it('refuses what node-tar and GNU tar could read differently', async () => {
    // A long name too big to be a name: node-tar would skip it and report the short header name instead.
    await refusedWith(
      craft('huge.tar.gz', [{ name: 'innocent', pax: { path: `../${'x'.repeat(1024 * 1024)}` } }]),
      'oversized',
    );
    await refusedWith(
      craft('global.tar.gz', [{ name: '../../etc/x', globalPax: { path: 'innocent' } }, { name: 'ok' }]),
      'global pax header',
    );
    await refusedWith(craft('sparse.tar.gz', [{ name: 'sparse', type: 'S' }]), 'entry "sparse"', 'not allowed');
  });

  it('refuses symlinks whose target leaves the tree, however it is spelled', async () => {
    await refusedWith(craft('s1.tar.gz', [{ name: 'x', type: '2', link: '/etc/passwd' }]), 'absolute');
    await refusedWith(craft('s2.tar.gz', [{ name: 'a/b', type: '2', link: '../../etc' }]), 'leaves');
    // Lexically inside, really outside: p/x is the root, so p/x/.. is the parent of the release dir.
    await refusedWith(
      craft('s3.tar.gz', [
        { name: 'p/x', type: '2', link: '..' },
        { name: 's', type: '2', link: 'p/x/..' },
      ]),
      'entry "s"',
    );
    await refusedWith(
      craft('s4.tar.gz', [
        { name: 'a', type: '2', link: 'b' },
        { name: 'b', type: '2', link: 'a' },
        { name: 'c', type: '2', link: 'a/x' },
      ]),
      'loops',
    );
  });

  it('refuses entries written through a symlink, escaping hard links and special files', async () => {
    await refusedWith(
      craft('t1.tar.gz', [
        { name: 'etc', type: '2', link: 'conf' },
        { name: 'etc/passwd', body: 'root::0:0::/:/bin/sh\n' },
      ]),
      'beneath the symlink "etc"',
    );
    await refusedWith(craft('h1.tar.gz', [{ name: 'h', type: '1', link: '../../etc/shadow' }]), 'hard link');
    await refusedWith(craft('h2.tar.gz', [{ name: 'h', type: '1', link: '/etc/shadow' }]), 'hard link');
    await refusedWith(
      craft('d1.tar.gz', [
        { name: 'null', type: '3' },
        { name: 'fifo', type: '6' },
      ]),
      'FIFO',
    );
  });

  it('refuses what is not a complete gzip tar', async () => {
    const junk = join(work, 'junk.tar.gz');
    writeFileSync(junk, 'not gzip at all');
    await refusedWith(junk, 'not a readable .tar.gz');
    const plain = join(work, 'plain.tar.gz');
    writeFileSync(plain, gzipSync(Buffer.alloc(512, 7)));
    await refusedWith(plain, 'checksum failure');
    const cut = join(work, 'cut.tar.gz');
    writeFileSync(cut, gzipSync(header('big', '0', 4096)));
    await refusedWith(cut, 'Truncated input');
    const raw = join(work, 'raw.tar.gz');
    writeFileSync(raw, Buffer.concat([header('a', '0', 0), Buffer.alloc(1024)]));
    await refusedWith(raw, 'not a readable .tar.gz');
    expect(existsSync(cut)).toBe(true);
  });
});
