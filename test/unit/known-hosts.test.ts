// known_hosts parsing is checked against OpenSSH itself: keys come from ssh-keygen, hashed lines from
// `ssh-keygen -H`, and which lines apply to a name is cross-checked with `ssh-keygen -F`.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  keyTypeOfBlob,
  knownHostsName,
  lookupHost,
  parseKnownHosts,
  verifyHostKey,
} from '../../src/activities/ssh/known-hosts';

const dir = mkdtempSync(join(tmpdir(), 'fw-known-hosts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Key {
  type: string;
  blob: string;
  line: string;
}
function makeKey(name: string, type: 'ed25519' | 'ecdsa'): Key {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
  const [t, blob] = readFileSync(`${file}.pub`, 'utf8').trim().split(' ') as [string, string];
  return { type: t, blob, line: `${t} ${blob}` };
}

let a: Key, b: Key, c: Key, revoked: Key, ca: Key;
beforeAll(() => {
  a = makeKey('a', 'ed25519');
  b = makeKey('b', 'ed25519');
  c = makeKey('c', 'ecdsa');
  revoked = makeKey('r', 'ed25519');
  ca = makeKey('ca', 'ed25519');
});

function fileText(): string {
  return [
    '# pinned lab hosts',
    `[127.0.0.1]:2222 ${a.line} lab-h1`,
    `10.0.0.5,db.internal ${b.line}`,
    `*.example.com,!bad.example.com ${c.line}`,
    `[10.0.0.7]:* ${a.line}`,
    `@revoked * ${revoked.line}`,
    `@cert-authority *.corp ${ca.line}`,
    '',
    '   # indented comment',
    'garbage-line-without-key',
    `@weird host ${a.line}`,
    `host-with-bad-key ssh-ed25519 !!!notbase64`,
    `host-with-wrong-label ssh-rsa ${a.blob}`,
  ].join('\n');
}

describe('parseKnownHosts', () => {
  it('keeps valid lines with markers and reports malformed ones by line number', () => {
    const kh = parseKnownHosts(fileText());
    expect(kh.entries.map((e) => [e.line, e.marker, e.keyType])).toEqual([
      [2, null, 'ssh-ed25519'],
      [3, null, 'ssh-ed25519'],
      [4, null, 'ecdsa-sha2-nistp256'],
      [5, null, 'ssh-ed25519'],
      [6, 'revoked', 'ssh-ed25519'],
      [7, 'cert-authority', 'ssh-ed25519'],
    ]);
    expect(kh.issues.map((i) => i.line)).toEqual([10, 11, 12, 13]);
    expect(kh.issues[1]!.message).toMatch(/unknown marker @weird/);
    expect(kh.issues[3]!.message).toMatch(/does not match the key blob/);
  });

  it('reads the key type out of a blob', () => {
    expect(keyTypeOfBlob(Buffer.from(a.blob, 'base64'))).toBe('ssh-ed25519');
    expect(keyTypeOfBlob(Buffer.from([0, 0, 0]))).toBeNull();
  });

  it('names hosts the way OpenSSH does', () => {
    expect(knownHostsName('Example.COM', 22)).toBe('example.com');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });
});

describe('verifyHostKey', () => {
  it('matches a pinned [host]:port key, and only on that port', () => {
    expect(verifyHostKey(fileText(), '127.0.0.1', 2222, a.type, a.blob)).toBe('match');
    expect(verifyHostKey(fileText(), '127.0.0.1', 22, a.type, a.blob)).toBe('unknown');
    expect(verifyHostKey(fileText(), '127.0.0.1', 2223, a.type, a.blob)).toBe('unknown');
  });

  it('refuses a different key for a pinned host, also of another type', () => {
    expect(verifyHostKey(fileText(), '127.0.0.1', 2222, b.type, b.blob)).toBe('mismatch');
    expect(verifyHostKey(fileText(), '127.0.0.1', 2222, c.type, c.blob)).toBe('mismatch');
  });

  it('handles comma lists, wildcards, port wildcards and negation', () => {
    expect(verifyHostKey(fileText(), 'db.internal', 22, b.type, b.blob)).toBe('match');
    expect(verifyHostKey(fileText(), '10.0.0.5', 22, b.type, b.blob)).toBe('match');
    expect(verifyHostKey(fileText(), 'API.example.com', 22, c.type, c.blob)).toBe('match');
    expect(verifyHostKey(fileText(), 'bad.example.com', 22, c.type, c.blob)).toBe('unknown');
    expect(verifyHostKey(fileText(), 'example.com', 22, c.type, c.blob)).toBe('unknown');
    expect(verifyHostKey(fileText(), '10.0.0.7', 2200, a.type, a.blob)).toBe('match');
  });

  it('refuses a revoked key even where no key is pinned', () => {
    expect(verifyHostKey(fileText(), 'anything', 22, revoked.type, revoked.blob)).toBe('mismatch');
  });

  it('never accepts a host through an @cert-authority line, but reports it', () => {
    expect(verifyHostKey(fileText(), 'h.corp', 22, ca.type, ca.blob)).toBe('unknown');
    const found = lookupHost(parseKnownHosts(fileText()), 'h.corp', 22);
    expect(found.certAuthorities).toHaveLength(1);
    expect(found.keys).toHaveLength(0);
  });

  it('treats an empty file, and an undecodable presented key, as unknown', () => {
    expect(verifyHostKey('', '127.0.0.1', 2222, a.type, a.blob)).toBe('unknown');
    expect(verifyHostKey(fileText(), 'nowhere', 22, a.type, '***')).toBe('unknown');
    expect(verifyHostKey(fileText(), '127.0.0.1', 2222, a.type, '***')).toBe('mismatch');
  });
});

describe('hashed entries (ssh-keygen -H)', () => {
  it('matches hashed names and agrees with ssh-keygen -F on which names a file covers', () => {
    const plain = join(dir, 'known_hosts');
    const hashed = join(dir, 'known_hosts_hashed');
    const lines = [`[127.0.0.1]:2222 ${a.line}`, `db.internal ${b.line}`, `*.example.com,!bad.example.com ${c.line}`];
    writeFileSync(plain, lines.join('\n') + '\n');
    writeFileSync(hashed, lines.join('\n') + '\n');
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed], { stdio: 'ignore' });
    const hashedText = readFileSync(hashed, 'utf8');
    expect(hashedText).toMatch(/^\|1\|/m);
    expect(parseKnownHosts(hashedText).issues).toEqual([]);

    expect(verifyHostKey(hashedText, '127.0.0.1', 2222, a.type, a.blob)).toBe('match');
    expect(verifyHostKey(hashedText, 'DB.internal', 22, b.type, b.blob)).toBe('match');
    expect(verifyHostKey(hashedText, 'db.internal', 22, a.type, a.blob)).toBe('mismatch');
    expect(verifyHostKey(hashedText, '127.0.0.1', 22, a.type, a.blob)).toBe('unknown');

    const names: [string, number][] = [
      ['127.0.0.1', 2222],
      ['127.0.0.1', 22],
      ['db.internal', 22],
      ['db.internal', 2200],
      ['x.example.com', 22],
      ['bad.example.com', 22],
      ['other', 22],
    ];
    for (const file of [plain, hashed]) {
      const kh = parseKnownHosts(readFileSync(file, 'utf8'));
      for (const [host, port] of names) {
        const ours = lookupHost(kh, host, port).keys.length > 0;
        const theirs = spawnSync('ssh-keygen', ['-F', knownHostsName(host, port), '-f', file]).status === 0;
        expect({ file, host, port, found: ours }).toEqual({ file, host, port, found: theirs });
      }
    }
  });
});
