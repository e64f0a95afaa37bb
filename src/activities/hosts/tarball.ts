// Native release artifacts on the WORKER side (SPEC §6 step 3): download once into a content-addressed cache,
// verify SHA-256 and size before anything else, and inspect the tar entries before anything is uploaded.
//
// Decisions:
// - The cache key is the expected checksum, so a URL that starts serving other bytes can never poison it: the
//   bytes are verified before the rename into the cache, and a cached file is re-hashed on every use (a disk
//   error or a hand-edited cache must not reach a host). Mismatch ⇒ ChecksumMismatch, non-retryable.
// - Entries come from node-tar's parser (ustar prefix, GNU long names, pax path/linkpath, base-256 sizes), not from
//   `tar -t` output, which is locale- and version-dependent and quotes names differently across implementations.
//   The parser runs strict, so what it cannot read is refused rather than skipped; where node-tar and GNU tar on
//   the host could disagree (global pax path/linkpath/size, oversized long names) the archive is refused.
// - Link safety is judged the way the kernel will resolve it after extraction into an EMPTY directory: symlink
//   targets are resolved component by component, following the archive's own symlinks, and any entry stored
//   beneath a symlink is refused (writing through a link is how tar escapes its directory).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/activity';
import { Parser, type ReadEntry } from 'tar';
import { errorMessage, FailureType } from '../../errors';
import { failure } from '../failures';
import { activitySignal, reportProgress } from '../heartbeat';

export function unsafeArtifact(message: string): ApplicationFailure {
  return failure(FailureType.UnsafeArtifact, message);
}

export interface FetchArtifactOptions {
  /** `sha256:<64 hex>`, from the release manifest. */
  checksum: string;
  sizeBytes?: number;
  timeoutMs?: number;
}

export interface FetchedArtifact {
  path: string;
  /** `sha256:<hex>` — the artifact identity recorded on the host. */
  identity: string;
  sizeBytes: number;
  cached: boolean;
}

// A platform service tarball is tens of MB; far beyond that is a wrong URL, not an artifact.
const MAX_ARTIFACT_BYTES = 2 * 1024 ** 3;

function expectedHex(checksum: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(checksum);
  if (!m) throw failure(FailureType.InvalidInput, `invalid artifact checksum "${checksum}": expected sha256:<64 hex>`);
  return m[1]!;
}

export async function hashFile(path: string): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { hex: hash.digest('hex'), size };
}

async function openSource(url: string, timeoutMs: number): Promise<Readable> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw failure(FailureType.InvalidInput, `artifact URL "${url}" is not a URL (expected file:// or http(s)://)`);
  }
  if (parsed.protocol === 'file:') {
    const path = fileURLToPath(parsed);
    await stat(path).catch((err: unknown) => {
      throw failure(FailureType.ReleaseFetchFailed, `artifact ${url}: ${errorMessage(err)}`);
    });
    return createReadStream(path);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw failure(FailureType.InvalidInput, `artifact URL "${url}": unsupported scheme ${parsed.protocol}`);
  }
  let res: Response;
  try {
    // The whole download (headers and body) is bounded by timeoutMs and ends when the activity is cancelled.
    res = await fetch(url, { signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), activitySignal()]) });
  } catch (err) {
    throw failure(FailureType.ReleaseFetchFailed, `GET ${url}: ${errorMessage(err)}`);
  }
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    // 4xx (except 429) will not change by asking again; 5xx and 429 may.
    const permanent = res.status >= 400 && res.status < 500 && res.status !== 429;
    throw ApplicationFailure.create({
      type: FailureType.ReleaseFetchFailed,
      message: `GET ${url}: HTTP ${res.status}`,
      nonRetryable: permanent,
    });
  }
  return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
}

function mismatch(url: string, wantHex: string, wantSize: number | undefined, gotHex: string, gotSize: number) {
  return failure(
    FailureType.ChecksumMismatch,
    `artifact ${url}: expected sha256:${wantHex}${wantSize !== undefined ? ` (${wantSize} bytes)` : ''}, got ` +
      `sha256:${gotHex} (${gotSize} bytes). The file served does not match the release manifest; nothing was ` +
      'uploaded to any host. Fix the artifact or the manifest in the release repository.',
  );
}

/** This worker's downloads in flight, by cache file. */
const downloading = new Map<string, Promise<FetchedArtifact>>();

/** Settles when `p` settles (either way), or rejects with the reason once `signal` aborts. */
function settledOrAborted(p: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void p
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
  });
}

/**
 * Downloads `url` once into `<cacheDir>/artifacts/sha256/<hex>`, verified; later calls reuse the cached file. The
 * replicas of a service are staged at once (src/workflows/service-prestage.ts): a call for an artifact this worker
 * is already downloading waits for that download (its own cancellation still ends the wait), then takes the
 * verified file from the cache — or downloads it itself if that download failed — instead of fetching it again.
 */
export async function fetchArtifact(
  url: string,
  cacheDir: string,
  opts: FetchArtifactOptions,
): Promise<FetchedArtifact> {
  const hex = expectedHex(opts.checksum);
  const path = join(cacheDir, 'artifacts', 'sha256', hex);
  for (let other = downloading.get(path); other; other = downloading.get(path)) {
    await settledOrAborted(other, activitySignal());
  }
  const mine = fetchOnce(url, hex, path, opts);
  downloading.set(path, mine);
  try {
    return await mine;
  } finally {
    if (downloading.get(path) === mine) downloading.delete(path);
  }
}

async function fetchOnce(url: string, hex: string, path: string, opts: FetchArtifactOptions): Promise<FetchedArtifact> {
  const dir = dirname(path);
  const cached = await hashFile(path).catch(() => undefined);
  if (cached && cached.hex === hex && (opts.sizeBytes === undefined || cached.size === opts.sizeBytes)) {
    return { path, identity: `sha256:${hex}`, sizeBytes: cached.size, cached: true };
  }
  // A corrupt cache entry is dropped and fetched again rather than trusted or reported as the release's fault.
  if (cached) await rm(path, { force: true });

  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${hex}.${randomBytes(6).toString('hex')}.part`);
  const limit = opts.sizeBytes ?? MAX_ARTIFACT_BYTES;
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      // Stop as soon as the size is known to be wrong: do not download gigabytes to learn it.
      if (size > limit) cb(mismatch(url, hex, opts.sizeBytes, '(aborted: too large)', size));
      else {
        reportProgress({
          step: 'download',
          bytes: size,
          ...(opts.sizeBytes !== undefined ? { totalBytes: opts.sizeBytes } : {}),
        });
        hash.update(chunk);
        cb(null, chunk);
      }
    },
  });
  try {
    const source = await openSource(url, opts.timeoutMs ?? 10 * 60_000);
    const signal = activitySignal();
    await pipeline(source, meter, createWriteStream(tmp, { mode: 0o644 }), { signal }).catch((err: unknown) => {
      if (err instanceof ApplicationFailure) throw err;
      // Cancelled: the activity fails with Temporal's CancelledFailure (heartbeating), not as a failed download.
      if (signal.aborted) throw signal.reason;
      throw failure(FailureType.ReleaseFetchFailed, `download ${url}: ${errorMessage(err)}`);
    });
    const got = hash.digest('hex');
    if ((opts.sizeBytes !== undefined && size !== opts.sizeBytes) || got !== hex) {
      throw mismatch(url, hex, opts.sizeBytes, got, size);
    }
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return { path, identity: `sha256:${hex}`, sizeBytes: size, cached: false };
}

// ---- tar entries: parsed by node-tar (the parser npm uses), judged below by our own rules ----

export interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  size: number;
  linkTarget?: string;
  /** Why an `other` entry is not allowed. */
  detail?: string;
}

// Long names and pax records are small; a huge one is an attack on the worker's memory, not a name. node-tar skips
// an oversized one silently and would then report the entry under its short header name, so it is refused instead.
const MAX_META_BYTES = 1024 * 1024;

const TYPES: Partial<Record<string, TarEntry['type']>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};
const SPECIAL: Partial<Record<string, string>> = {
  CharacterDevice: 'character device',
  BlockDevice: 'block device',
  FIFO: 'FIFO',
};

function toEntry(e: ReadEntry): TarEntry {
  const type = TYPES[e.type] ?? 'other';
  const entry: TarEntry = { path: e.path, type, size: type === 'file' ? e.size : 0 };
  if (type === 'symlink' || type === 'hardlink') entry.linkTarget = e.linkpath ?? '';
  if (type === 'other') entry.detail = `${SPECIAL[e.type] ?? `entry type ${e.type}`} not allowed in a release`;
  // node-tar lets a global pax header override later entries' link targets and sizes; GNU tar on the host may read
  // the entry's own header instead, and a check is only worth what both readers agree on.
  const global = e.globalExtended;
  if (global && (global.path !== undefined || global.linkpath !== undefined || global.size !== undefined)) {
    return { ...entry, type: 'other', detail: 'a global pax header sets path, linkpath or size; refused' };
  }
  return entry;
}

/**
 * Lists the entries of an uncompressed tar stream. Strict: a damaged header, a truncated body or data that is not
 * tar is an error, never a skipped entry. Entry types node-tar does not know are kept (as `other`) to be refused.
 */
export function readTarEntries(tar: Readable): Promise<TarEntry[]> {
  return new Promise((resolve, reject) => {
    const entries: TarEntry[] = [];
    const fail = (err: unknown): void => {
      tar.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    // The stream is already gunzipped, as `tar -xzf` on the host will do it: no second guess at a compression.
    const parser = new Parser({
      strict: true,
      brotli: false,
      zstd: false,
      maxMetaEntrySize: MAX_META_BYTES,
      onReadEntry: (e) => {
        entries.push(toEntry(e));
        e.resume();
      },
    });
    parser.on('ignoredEntry', (e: ReadEntry) => {
      if (e.meta) fail(new Error(`oversized ${e.type} header (${e.size} bytes)`));
      else entries.push(toEntry(e));
    });
    parser.on('error', fail);
    parser.on('end', () => resolve(entries));
    tar.on('error', fail);
    tar.pipe(parser);
  });
}

// ---- entry safety ----

export interface TarballInspection {
  entries: TarEntry[];
  fileBytes: number;
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** Would `link` (an archive path) pointing at `target` resolve outside the tree, following archive symlinks? */
function linkEscapes(link: string, target: string, symlinks: Map<string, string>): string | null {
  if (target.startsWith('/')) return `symlink to absolute path ${JSON.stringify(target)}`;
  const stack = components(link).slice(0, -1);
  const queue = components(target);
  let follows = 0;
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '..') {
      if (stack.length === 0) return `symlink target ${JSON.stringify(target)} leaves the release directory`;
      stack.pop();
      continue;
    }
    stack.push(c);
    const next = symlinks.get(stack.join('/'));
    if (next === undefined) continue;
    // Linux gives up after 40 links; a cycle must not hang the worker either.
    if (++follows > 40) return `symlink target ${JSON.stringify(target)} loops`;
    if (next.startsWith('/')) return `symlink target ${JSON.stringify(target)} leads to an absolute link`;
    stack.pop();
    queue.unshift(...components(next));
  }
  return null;
}

export function entryProblems(entries: readonly TarEntry[]): string[] {
  const problems: string[] = [];
  const symlinks = new Map<string, string>();
  for (const e of entries) if (e.type === 'symlink') symlinks.set(components(e.path).join('/'), e.linkTarget ?? '');
  const underSymlink = (parts: string[]): string | undefined => {
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (symlinks.has(prefix)) return prefix;
    }
    return undefined;
  };
  for (const e of entries) {
    const at = `entry ${JSON.stringify(e.path)}`;
    const parts = components(e.path);
    if (e.path.startsWith('/')) problems.push(`${at}: absolute path`);
    else if (parts.includes('..')) problems.push(`${at}: ".." component`);
    else if (e.type === 'other') problems.push(`${at}: ${e.detail ?? 'unsupported entry type'}`);
    else if (parts.length === 0 && e.type !== 'dir') problems.push(`${at}: names the release directory itself`);
    else if (underSymlink(parts)) problems.push(`${at}: stored beneath the symlink "${underSymlink(parts)}"`);
    else if (e.type === 'symlink') {
      const why = linkEscapes(e.path, e.linkTarget ?? '', symlinks);
      if (why) problems.push(`${at}: ${why}`);
    } else if (e.type === 'hardlink') {
      const t = e.linkTarget ?? '';
      const tparts = components(t);
      if (t.startsWith('/') || tparts.includes('..') || tparts.length === 0) {
        problems.push(`${at}: hard link to ${JSON.stringify(t)} outside the release directory`);
      } else if (underSymlink(tparts) || symlinks.has(tparts.join('/'))) {
        problems.push(`${at}: hard link through a symlink (${JSON.stringify(t)})`);
      }
    }
  }
  return problems;
}

/** Lists a .tar.gz and refuses (UnsafeArtifact) absolute paths, `..`, escaping links and special files. */
export async function inspectTarball(path: string): Promise<TarballInspection> {
  let entries: TarEntry[];
  try {
    const file = createReadStream(path);
    const gunzip = createGunzip();
    file.on('error', (err) => gunzip.destroy(err));
    entries = await readTarEntries(file.pipe(gunzip));
  } catch (err) {
    throw unsafeArtifact(`${path} is not a readable .tar.gz: ${errorMessage(err)}`);
  }
  const problems = entryProblems(entries);
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).map((p) => `  - ${p}`);
    if (problems.length > 20) shown.push(`  - … and ${problems.length - 20} more`);
    throw unsafeArtifact(
      `unsafe tarball ${path}: ${problems.length} unsafe entr${problems.length === 1 ? 'y' : 'ies'}; refused ` +
        `before upload (no host was touched):\n${shown.join('\n')}`,
    );
  }
  const fileBytes = entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
  return { entries, fileBytes };
}
