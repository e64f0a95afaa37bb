// Host commands are data (Kamal style): each builder is checked by value, and hostile names never get as far as
// a command. The scripts themselves run against a real sshd in test/integration/native-driver.test.ts.
import { describe, expect, it } from 'vitest';
import { dockerContainerSpec, previousContainerName } from '../../src/activities/hosts/docker';
import { shellCommand } from '../../src/domain/hosts/shell-quote';
import type { ServiceManager } from '../../src/contracts/cluster';
import {
  configHash,
  extractReleaseCommand,
  identityHex,
  nativePaths,
  normalizeBaseDir,
  parseInstalledJson,
  parseNativeProbe,
  probeNativeCommand,
  reloadCommand,
  renderEnvFile,
  renderInstalledJson,
  restartCommand,
  statusCommand,
  stopCommand,
  switchCurrentCommand,
  systemdMainPidCommand,
  writeFileAtomicCommand,
} from '../../src/domain/hosts/commands';

const HEX = 'ab'.repeat(32);
const HEX2 = 'cd'.repeat(32);
const SYSTEMD: ServiceManager = { type: 'systemd' };
const SUPERVISOR: ServiceManager = {
  type: 'command',
  restart: '/usr/local/bin/svc restart {service}',
  stop: '/usr/local/bin/svc stop {service}',
  status: 'svc status {service} >/dev/null',
};

describe('names and paths', () => {
  it('lays out a service under the base dir', () => {
    const p = nativePaths('purser', '/opt/frameworks/');
    expect(p).toMatchObject({
      dir: '/opt/frameworks/purser',
      releases: '/opt/frameworks/purser/releases',
      current: '/opt/frameworks/purser/current',
      installed: '/opt/frameworks/purser/installed.json',
      env: '/opt/frameworks/purser/env',
      envPrevious: '/opt/frameworks/purser/env.previous',
      pidFile: '/opt/frameworks/purser/pid',
      executable: '/opt/frameworks/purser/current/purser',
    });
    expect(p.release(`sha256:${HEX}`)).toBe(`/opt/frameworks/purser/releases/${HEX}`);
    expect(nativePaths('a-1').dir).toBe('/opt/frameworks/a-1');
    // Adopted from the provisioner: same folder, the env file stays where its unit reads it.
    expect(nativePaths('purser', '/opt/frameworks', 'adopted')).toMatchObject({
      dir: '/opt/frameworks/purser',
      env: '/etc/frameworks/purser.env',
      envPrevious: '/opt/frameworks/purser/env.previous',
      executable: '/opt/frameworks/purser/current/purser',
    });
  });

  const hostile = [
    '',
    'Purser',
    '-rf',
    'a b',
    'a;rm -rf /',
    '$(id)',
    '`id`',
    'a/b',
    '..',
    'a\nb',
    "it's",
    'x'.repeat(64),
  ];
  it.each(hostile)('refuses the service name %j everywhere', (svc) => {
    expect(() => nativePaths(svc)).toThrow(/invalid service name/);
    expect(() => restartCommand(SYSTEMD, svc)).toThrow(/invalid service name/);
    expect(() => restartCommand(SUPERVISOR, svc)).toThrow(/invalid service name/);
    expect(() => statusCommand(SUPERVISOR, svc)).toThrow(/invalid service name/);
    expect(() => probeNativeCommand(svc)).toThrow(/invalid service name/);
  });

  it.each(['relative/dir', '/', '//', '/opt/../etc', '/opt/./x', '/opt/a b', '/opt/$(id)', '/opt/-x', '/opt/\n'])(
    'refuses the base dir %j',
    (base) => expect(() => normalizeBaseDir(base)).toThrow(/invalid base dir/),
  );

  it('accepts identities with or without the sha256: prefix, nothing else', () => {
    expect(identityHex(`sha256:${HEX}`)).toBe(HEX);
    expect(identityHex(HEX)).toBe(HEX);
    for (const bad of ['sha256:', HEX.toUpperCase(), `${HEX}0`, `md5:${HEX}`, `../${HEX.slice(3)}`]) {
      expect(() => identityHex(bad)).toThrow(/invalid artifact identity/);
    }
  });
});

describe('env file and config hash', () => {
  it('renders sorted KEY=value lines and hashes the bytes', () => {
    const text = renderEnvFile({ PORT: '18003', B_X: 'with spaces = and "quotes"', A: '' });
    expect(text).toBe('A=\nB_X=with spaces = and "quotes"\nPORT=18003\n');
    expect(configHash(text)).toMatch(/^[0-9a-f]{64}$/);
    expect(configHash(renderEnvFile({ A: '', PORT: '18003', B_X: 'with spaces = and "quotes"' }))).toBe(
      configHash(text),
    );
    expect(configHash('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('refuses values that would smuggle in another variable, and bad names', () => {
    expect(() => renderEnvFile({ A: 'x\nEVIL=1' })).toThrow(/newline/);
    expect(() => renderEnvFile({ A: 'x\r' })).toThrow(/newline/);
    expect(() => renderEnvFile({ 'A B': 'x' })).toThrow(/invalid environment variable name/);
    expect(() => renderEnvFile({ '1A': 'x' })).toThrow(/invalid environment variable name/);
  });
});

describe('installed.json', () => {
  it('round-trips and keeps previous one level deep', () => {
    const prev = { identity: `sha256:${HEX2}`, version: 'v0.1.0', config_hash: HEX2 };
    const text = renderInstalledJson({
      identity: `sha256:${HEX}`,
      version: 'v0.2.0',
      config_hash: HEX,
      previous: { ...prev, previous: { identity: 'x' } } as typeof prev,
    });
    expect(JSON.parse(text)).toEqual({
      identity: `sha256:${HEX}`,
      version: 'v0.2.0',
      config_hash: HEX,
      previous: prev,
    });
    expect(parseInstalledJson(text).previous).toEqual(prev);
  });

  it('keeps the adopted layout mark, and writes none for the own layout', () => {
    const rec = { identity: `sha256:${HEX}`, version: 'v0.1.0', config_hash: HEX, previous: null };
    const adopted = renderInstalledJson({ ...rec, layout: 'adopted' });
    expect(JSON.parse(adopted)).toEqual({ ...rec, layout: 'adopted' });
    expect(parseInstalledJson(adopted).layout).toBe('adopted');
    expect(JSON.parse(renderInstalledJson(rec))).toEqual(rec);
    expect(() => parseInstalledJson(JSON.stringify({ ...rec, layout: 'other' }))).toThrow(/layout/);
  });

  it('names what is wrong in a malformed record', () => {
    expect(() => parseInstalledJson('{"identity":"abc","version":"v1","config_hash":"x","previous":null}')).toThrow(
      /identity: expected sha256:<64 hex>; config_hash/,
    );
  });
});

describe('command builders', () => {
  it('passes paths as positional parameters of constant scripts', () => {
    const probe = probeNativeCommand('purser', '/srv/fw');
    expect(probe.slice(0, 2)).toEqual(['sh', '-c']);
    // The second path: the provisioner's env file, an adopted service's config.
    expect(probe.slice(3)).toEqual(['sh', '/srv/fw/purser', '/etc/frameworks/purser.env']);
    expect(writeFileAtomicCommand('/srv/fw/purser/env')).toEqual([
      'sh',
      '-c',
      'umask 077 && cat > "$1.fw-tmp" && chmod "$2" "$1.fw-tmp" && ' +
        '{ [ ! -e "$1" ] || chown --reference="$1" -- "$1.fw-tmp"; } && mv -f -- "$1.fw-tmp" "$1"',
      'sh',
      '/srv/fw/purser/env',
      '0600',
    ]);
    expect(() => writeFileAtomicCommand('/x', '777; id')).toThrow(/invalid file mode/);
    expect(switchCurrentCommand('purser', HEX, '/srv/fw')).toEqual([
      'sh',
      '-c',
      'ln -sfn -- "$1" "$2.fw-tmp" && mv -Tf -- "$2.fw-tmp" "$2"',
      'sh',
      `/srv/fw/purser/releases/${HEX}`,
      '/srv/fw/purser/current',
    ]);
    const extract = extractReleaseCommand('/r/.x.tar.gz', '/r/x', '/r/.x.tmp');
    expect(extract[2]).toContain('tar -xzf "$1" -C "$3" --no-same-owner');
    expect(extract[2]).toContain('mv -T -- "$3" "$2"');
    expect(extract.slice(3)).toEqual(['sh', '/r/.x.tar.gz', '/r/x', '/r/.x.tmp']);
  });

  it('drives systemd units named frameworks-<svc>', () => {
    expect(restartCommand(SYSTEMD, 'purser')).toEqual(['systemctl', 'restart', 'frameworks-purser']);
    expect(stopCommand(SYSTEMD, 'purser')).toEqual(['systemctl', 'stop', 'frameworks-purser']);
    expect(statusCommand(SYSTEMD, 'purser')).toEqual(['systemctl', 'is-active', '--quiet', 'frameworks-purser']);
    expect(reloadCommand(SYSTEMD, 'purser')).toEqual(['systemctl', 'reload', 'frameworks-purser']);
    expect(systemdMainPidCommand('purser')).toEqual([
      'systemctl',
      'show',
      '--property=MainPID',
      '--value',
      'frameworks-purser',
    ]);
  });

  it('substitutes {service} into command templates and signals by pid file', () => {
    expect(restartCommand(SUPERVISOR, 'purser')).toEqual(['sh', '-c', '/usr/local/bin/svc restart purser']);
    expect(stopCommand(SUPERVISOR, 'foghorn')).toEqual(['sh', '-c', '/usr/local/bin/svc stop foghorn']);
    expect(statusCommand(SUPERVISOR, 'purser')).toEqual(['sh', '-c', 'svc status purser >/dev/null']);
    const hup = reloadCommand(SUPERVISOR, 'purser', '/srv/fw');
    expect(hup.slice(3)).toEqual(['sh', '/srv/fw/purser/pid']);
    expect(hup[2]).toContain('kill -HUP "$pid"');
    // What actually goes over the wire: the template stays one argument to sh -c.
    expect(shellCommand(restartCommand(SUPERVISOR, 'purser'))).toBe("sh -c '/usr/local/bin/svc restart purser'");
  });
});

describe('probe output', () => {
  const out = (installed: string, current = `/srv/fw/purser/releases/${HEX}`): string =>
    [
      'dir=1',
      `current=${current}`,
      `env=${HEX2}`,
      'env.previous=',
      `etc_env=${HEX}`,
      'pid=4242',
      'pending=restart',
      `releases=${HEX} ${HEX2} .${HEX}.tmp junk `,
      '--- installed.json',
      installed,
    ].join('\n');

  it('parses every field', () => {
    expect(parseNativeProbe(out('{"a":1}\n'))).toEqual({
      dirExists: true,
      currentIdentity: HEX,
      envSha256: HEX2,
      envPreviousSha256: null,
      etcEnvSha256: HEX,
      pid: 4242,
      pending: 'restart',
      releases: [HEX, HEX2],
      installedText: '{"a":1}\n',
    });
    expect(parseNativeProbe(out('', `releases/${HEX}`)).currentIdentity).toBe(HEX);
    expect(parseNativeProbe(out('', '/etc')).currentIdentity).toBeNull();
    expect(parseNativeProbe(out('')).installedText).toBeNull();
  });

  it('refuses output that is not a probe', () => {
    expect(() => parseNativeProbe('sh: 1: sha256sum: not found\n')).toThrow(/unexpected probe output/);
  });
});

describe('docker container spec', () => {
  const digest = `sha256:${HEX}`;
  const base = {
    imageRef: `10.77.1.1:5000/frameworks/commodore:v0.2.0@${digest}`,
    version: 'v0.2.0',
    env: { PORT: '18002', A: 'x y' },
    port: 18002,
    configHash: HEX2,
  };

  it('pins the image by digest, labels identity and config, publishes the port, restarts unless stopped', () => {
    expect(dockerContainerSpec('commodore', base)).toEqual({
      name: 'frameworks-commodore',
      Image: `10.77.1.1:5000/frameworks/commodore@${digest}`,
      Env: ['A=x y', 'PORT=18002'],
      Labels: {
        'frameworks.service': 'commodore',
        'frameworks.version': 'v0.2.0',
        'frameworks.config_hash': HEX2,
      },
      ExposedPorts: { '18002/tcp': {} },
      HostConfig: {
        RestartPolicy: { Name: 'unless-stopped' },
        PortBindings: { '18002/tcp': [{ HostPort: '18002' }] },
      },
    });
    expect(dockerContainerSpec('commodore', { ...base, networkMode: 'host' }).HostConfig).toEqual({
      RestartPolicy: { Name: 'unless-stopped' },
      NetworkMode: 'host',
    });
    expect(previousContainerName('commodore')).toBe('frameworks-commodore-previous');
  });

  it('creates containers only from references pinned by digest', () => {
    expect(dockerContainerSpec('commodore', { ...base, imageRef: `nginx:1.27@${digest}` }).Image).toBe(
      `nginx@${digest}`,
    );
    for (const bad of ['nginx:1.27', `nginx@sha256:${HEX.slice(1)}`, `-x@${digest}`, `a b@${digest}`, `/@${digest}`]) {
      expect(() => dockerContainerSpec('commodore', { ...base, imageRef: bad })).toThrow(
        /is not <repository>\[:tag\]@sha256/,
      );
    }
    expect(() => dockerContainerSpec('Bad Name', base)).toThrow(/invalid service name/);
    expect(() => dockerContainerSpec('commodore', { ...base, env: { A: 'x\nB=y' } })).toThrow(/newline/);
    expect(() => dockerContainerSpec('commodore', { ...base, port: 0 })).toThrow(/invalid port/);
  });
});
