// The quoting helper is proven by execution, not by string comparison: each hostile argv is quoted, handed to
// a real POSIX shell (`/bin/sh -c`, dash on Debian, and bash), and the program the shell starts reports the
// argv it received. Anything but an exact round trip means a remote command would run something else.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shellCommand, shellQuote } from '../../src/domain/hosts/shell-quote';

const dir = mkdtempSync(join(tmpdir(), 'fw-quote-'));
const echoArgv = join(dir, 'echo-argv.js');
writeFileSync(echoArgv, 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Where an injected command would leave its trace.
const pwned = join(dir, 'pwned');

const HOSTILE: string[] = [
  '',
  ' ',
  'two words',
  "it's",
  "'",
  "''",
  '"double"',
  '\'"mixed"\'',
  `$(touch ${pwned})`,
  `\`touch ${pwned}\``,
  '${HOME}',
  '$HOME',
  'a\\b',
  '\\',
  'line1\nline2',
  '\n',
  'tab\there',
  '\r\n',
  '*',
  '/etc/*',
  '?',
  '[a-z]',
  '{a,b}',
  '~',
  '~root',
  '; rm -rf /',
  '&& echo x',
  '| cat',
  `> ${pwned}`,
  '<x',
  '#comment',
  '!',
  '!!',
  '-n',
  '--help',
  '-e',
  '--',
  'A=b',
  '=cmd',
  '%1',
  'ünïcødé ✓ 日本語',
  '\u00a0nbsp',
  '\x01\x7f',
  "a'b'c",
  `x'; touch ${pwned}; echo '`,
  '{"kind":"tenant","value":"t-1"}',
];

/** Through an exec'd program (what a remote binary sees). */
function roundTrip(shell: string, argv: string[]): string[] {
  const out = execFileSync(shell, ['-c', shellCommand([process.execPath, echoArgv, ...argv])], { encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

/** Through the shell's printf builtin, NUL-separated: cheap enough to run once per string. */
function roundTripBuiltin(shell: string, argv: string[]): string[] {
  const out = execFileSync(shell, ['-c', shellCommand(['printf', '%s\\0', ...argv])], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('shellQuote', () => {
  it('leaves plain words bare and quotes everything else in single quotes', () => {
    expect(shellQuote('data-migrations')).toBe('data-migrations');
    expect(shellQuote('/usr/local/bin/purser')).toBe('/usr/local/bin/purser');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('A=b')).toBe("'A=b'");
  });

  it('refuses NUL bytes, which no argv can carry', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });

  it('refuses an empty command', () => {
    expect(() => shellCommand([])).toThrow(/empty command/);
  });
});

describe('shellCommand round-trips hostile argv through a real shell', () => {
  const shells = ['/bin/sh', '/bin/bash'].filter((s) => existsSync(s));

  it.each(shells)('%s: every hostile string as its own argument', (shell) => {
    expect(roundTrip(shell, HOSTILE)).toEqual(HOSTILE);
  });

  it.each(shells)('%s: each hostile string alone (also as the only argument)', (shell) => {
    for (const arg of HOSTILE) expect(roundTripBuiltin(shell, [arg])).toEqual([arg]);
  });

  it('never executed an injected command', () => {
    expect(existsSync(pwned)).toBe(false);
  });
});
