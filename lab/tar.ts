// A minimal ustar writer for the lab's fixture artifacts (native tarballs and image layers). Written here
// instead of calling GNU tar because the bytes must be reproducible: fixed mtime, owner and order give the
// same SHA-256 and image digests on every `up`, so a rebuilt lab matches the release repository it wrote.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export type TarEntry =
  | { type: 'file'; path: string; mode: number; body: Buffer | string }
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, mode: number, size: number, typeflag: string, linkname = ''): Buffer {
  if (Buffer.byteLength(name) > 100 || Buffer.byteLength(linkname) > 100) {
    throw new Error(`tar: path too long for ustar: ${name}`);
  }
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii'); // uid 0
  h.write(octal(0, 8), 116, 8, 'ascii'); // gid 0
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(0, 12), 136, 12, 'ascii'); // mtime: the epoch, for reproducible bytes
  h.write('        ', 148, 8, 'ascii'); // checksum placeholder (spaces while summing)
  h.write(typeflag, 156, 1, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return h;
}

/** An uncompressed tar of the entries, in the given order (callers sort for determinism). */
export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.path.startsWith('/') || e.path.split('/').includes('..')) throw new Error(`tar: unsafe path ${e.path}`);
    if (e.type === 'dir') {
      parts.push(header(e.path.endsWith('/') ? e.path : `${e.path}/`, e.mode ?? 0o755, 0, '5'));
    } else if (e.type === 'symlink') {
      parts.push(header(e.path, 0o777, 0, '2', e.target));
    } else {
      const body = typeof e.body === 'string' ? Buffer.from(e.body) : e.body;
      parts.push(header(e.path, e.mode, body.length, '0'), body);
      const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad, 0));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(parts);
}

/** gzip without a timestamp or name in the header, so equal input gives equal bytes. */
export function gzip(data: Buffer): Buffer {
  return gzipSync(data, { level: 6 });
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
