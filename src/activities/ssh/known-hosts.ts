// OpenSSH known_hosts, read the way `ssh -o StrictHostKeyChecking=yes` reads it (sshd(8) "SSH_KNOWN_HOSTS FILE
// FORMAT"), so the file an operator already maintains for their own ssh works unchanged in cluster.yaml.
//
//   [@marker] host-patterns key-type base64-key [comment]
//
// - host-patterns: comma list of names/addresses, `[host]:port` for a non-22 port, `*`/`?` wildcards and
//   `!negation` (a negated match excludes the line even if another pattern matches); or ONE hashed name
//   `|1|base64(salt)|base64(HMAC-SHA1(salt, name))` as written by `ssh-keygen -H` / HashKnownHosts.
// - The name looked up is `host` for port 22 and `[host]:port` otherwise, lower-cased: exactly OpenSSH's rule,
//   so a plain `host` line does not pin a non-22 port.
// - `@revoked` lines make that key unacceptable for the hosts they match (a presented revoked key is a mismatch).
// - `@cert-authority` lines are kept but never used: this client does not accept host certificates, so a host
//   covered only by a CA line reads as unknown, and the refusal says why (see `lookupHost`).
// - Malformed lines are skipped like OpenSSH does, but reported in `issues` so a refusal can point at them.
import { createHash, createHmac } from 'node:crypto';

export type KnownHostsMarker = 'cert-authority' | 'revoked';

export type HostMatcher = { type: 'patterns'; patterns: string[] } | { type: 'hashed'; salt: Buffer; hash: Buffer };

export interface KnownHostsEntry {
  /** 1-based line number in the file, for messages. */
  line: number;
  marker: KnownHostsMarker | null;
  hosts: HostMatcher;
  keyType: string;
  /** The decoded public key blob (SSH wire format). */
  key: Buffer;
}

export interface KnownHostsIssue {
  line: number;
  message: string;
}

export interface KnownHosts {
  entries: KnownHostsEntry[];
  issues: KnownHostsIssue[];
}

export type HostKeyVerdict = 'match' | 'mismatch' | 'unknown';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64(text: string): Buffer | null {
  if (!BASE64.test(text) || text.length % 4 === 1) return null;
  const buf = Buffer.from(text, 'base64');
  return buf.length > 0 ? buf : null;
}

function parseHosts(field: string): HostMatcher | string {
  if (field.startsWith('|')) {
    const parts = field.split('|');
    // ['', '1', salt, hash]; magic 1 is the only hashing scheme OpenSSH has ever written.
    if (parts.length !== 4 || parts[1] !== '1') return `unsupported hashed host "${field}" (expected |1|salt|hash)`;
    const salt = decodeBase64(parts[2]!);
    const hash = decodeBase64(parts[3]!);
    if (!salt || !hash || hash.length !== 20) return `malformed hashed host "${field}"`;
    return { type: 'hashed', salt, hash };
  }
  const patterns = field.split(',');
  if (patterns.some((p) => p === '' || p === '!')) return `empty host pattern in "${field}"`;
  return { type: 'patterns', patterns: patterns.map((p) => p.toLowerCase()) };
}

export function parseKnownHosts(text: string): KnownHosts {
  const entries: KnownHostsEntry[] = [];
  const issues: KnownHostsIssue[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/\s+/);
    let marker: KnownHostsMarker | null = null;
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m !== '@cert-authority' && m !== '@revoked') {
        issues.push({ line, message: `unknown marker ${m} (only @cert-authority and @revoked exist)` });
        return;
      }
      marker = m === '@revoked' ? 'revoked' : 'cert-authority';
    }
    if (fields.length < 3) {
      issues.push({ line, message: 'expected "host-patterns key-type base64-key [comment]"' });
      return;
    }
    const [hostField, keyType, keyText] = fields as [string, string, string];
    const hosts = parseHosts(hostField);
    if (typeof hosts === 'string') {
      issues.push({ line, message: hosts });
      return;
    }
    const key = decodeBase64(keyText);
    if (!key) {
      issues.push({ line, message: `key for ${keyType} is not valid base64` });
      return;
    }
    // The blob starts with its own type name; a line whose label disagrees with its blob is corrupt.
    const embedded = keyTypeOfBlob(key);
    if (embedded !== keyType) {
      issues.push({ line, message: `key type ${keyType} does not match the key blob (${embedded ?? 'unreadable'})` });
      return;
    }
    entries.push({ line, marker, hosts, keyType, key });
  });
  return { entries, issues };
}

/** The key type name at the start of an SSH public key blob (uint32 length + name), or null if malformed. */
export function keyTypeOfBlob(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return null;
  const name = blob.subarray(4, 4 + len).toString('latin1');
  return /^[\x21-\x7e]+$/.test(name) ? name : null;
}

/** OpenSSH's fingerprint form: `SHA256:` + unpadded base64 of the SHA-256 of the key blob. */
export function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** `host` for port 22, `[host]:port` otherwise, lower-cased: the name OpenSSH looks up and hashes. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  // Only * and ? are special in OpenSSH host patterns; everything else (including [ ] of `[host]:port`) is literal.
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${re}$`, 's').test(name);
}

function matchesHost(matcher: HostMatcher, name: string): boolean {
  if (matcher.type === 'hashed') {
    const mac = createHmac('sha1', matcher.salt).update(name).digest();
    return mac.equals(matcher.hash);
  }
  let positive = false;
  for (const p of matcher.patterns) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) positive = true;
  }
  return positive;
}

export interface HostLookup {
  /** The name that was looked up (`host` or `[host]:port`). */
  name: string;
  /** Plain (unmarked) keys pinned for this host. */
  keys: KnownHostsEntry[];
  revoked: KnownHostsEntry[];
  /** @cert-authority lines covering the host: never used, reported so a refusal can say why. */
  certAuthorities: KnownHostsEntry[];
}

export function lookupHost(knownHosts: KnownHosts, host: string, port: number): HostLookup {
  const name = knownHostsName(host, port);
  const hit = knownHosts.entries.filter((e) => matchesHost(e.hosts, name));
  return {
    name,
    keys: hit.filter((e) => e.marker === null),
    revoked: hit.filter((e) => e.marker === 'revoked'),
    certAuthorities: hit.filter((e) => e.marker === 'cert-authority'),
  };
}

/** Verdict for a presented key, given a lookup. Pure over already-parsed data so callers parse once. */
export function verdictFor(found: HostLookup, keyType: string, key: Buffer): HostKeyVerdict {
  // A revoked key is refused whatever else the file says about the host.
  if (found.revoked.some((e) => e.key.equals(key))) return 'mismatch';
  if (found.keys.some((e) => e.keyType === keyType && e.key.equals(key))) return 'match';
  // Any pinned key for the host that is not this one: the host's identity changed (or a downgrade to another key
  // type is being offered). The client restricts negotiation to the pinned types, so this is not a false alarm.
  return found.keys.length > 0 ? 'mismatch' : 'unknown';
}

export function verifyHostKey(
  knownHostsText: string,
  host: string,
  port: number,
  keyType: string,
  keyBlobBase64: string,
): HostKeyVerdict {
  const key = decodeBase64(keyBlobBase64);
  const found = lookupHost(parseKnownHosts(knownHostsText), host, port);
  // An undecodable presented key can never equal a pinned one; treat it like any other wrong key.
  if (!key) return found.keys.length > 0 ? 'mismatch' : 'unknown';
  return verdictFor(found, keyType, key);
}
