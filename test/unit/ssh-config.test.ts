import { describe, expect, it } from 'vitest';
import { aliasFor, parseSshConfig } from '../../src/domain/hosts/ssh-config';

const CONFIG = `
# the operator's ~/.ssh/config
Host core-1
  HostName 192.0.2.10
  Port 2222
  User deploy
  IdentityFile ~/.ssh/core

Host frameworks-db-1 other
  HostName=192.0.2.11
  User ops

Host web-1
  HostName 198.51.100.99

Host *.example.test
  User wildcard

Match host foo
  User matched
`;

describe('ssh_config aliases (reference §6.1)', () => {
  const aliases = parseSshConfig(CONFIG);

  it('uses an alias named after the host when its HostName is the external_ip', () => {
    expect(aliasFor(aliases, 'core-1', '192.0.2.10')).toEqual({
      alias: 'core-1',
      hostName: '192.0.2.10',
      port: 2222,
      user: 'deploy',
      identityFile: '~/.ssh/core',
    });
  });

  it('falls back to frameworks-<host>', () => {
    expect(aliasFor(aliases, 'db-1', '192.0.2.11')?.alias).toBe('frameworks-db-1');
    expect(aliasFor(aliases, 'db-1', '192.0.2.11')?.user).toBe('ops');
  });

  it('ignores an alias whose HostName is another address, and hosts without any alias', () => {
    expect(aliasFor(aliases, 'web-1', '192.0.2.12')).toBeUndefined();
    expect(aliasFor(aliases, 'nope', '192.0.2.13')).toBeUndefined();
  });

  it('skips patterns and Match blocks; first value wins', () => {
    expect([...aliases.keys()].sort()).toEqual(['core-1', 'frameworks-db-1', 'other', 'web-1']);
    const twice = parseSshConfig('Host a\n HostName 1.2.3.4\n User first\nHost a\n User second\n');
    expect(twice.get('a')?.user).toBe('first');
  });
});
