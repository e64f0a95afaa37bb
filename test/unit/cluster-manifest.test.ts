// cluster.yaml (SPEC §3.1): the spec's example parses with its defaults; every cross-field rule names its path.
import { describe, expect, it } from 'vitest';
import { parseServiceDefinitions } from '../../src/contracts/catalog';
import { parseClusterManifest, validateClusterAgainstServices } from '../../src/contracts/cluster';
import { fixture, inputError, issuePaths } from './support';

const SRC = 'cluster.yaml';

const SPEC_EXAMPLE = `name: lab
channel: stable
release_repositories: [./releases, https://releases.example.com/frameworks]
ssh: { user: root, identity_file: ~/.ssh/id_ed25519, known_hosts: ./known_hosts }
hosts:
  h1: { address: 10.77.0.11, port: 22, docker: true }
  h2: { address: 10.77.0.12, docker: true, arch: linux-arm64 }
  h3: { address: 10.77.0.13, port: 2222, docker: true }
databases:
  engine: postgres
  url_env: FRAMEWORKS_DATABASE_URL
  names: [quartermaster, purser, commodore, foghorn]
services:
  quartermaster: { mode: native, hosts: [h1] }
  purser:        { mode: native, hosts: [h2], env: { PURSER_RATING: v2, PURSER_RATIO: 3.10 } }
  commodore:     { mode: docker, hosts: [h2, h3] }
service_manager: systemd
migrations_dir: ./migrations
catalog_dir: ./catalog
`;

/** Top-level blocks of a minimal manifest, so a test can swap exactly one of them. */
const BLOCKS: Record<string, string> = {
  name: 'name: lab',
  release_repositories: 'release_repositories: [./releases]',
  ssh: 'ssh: { user: root, identity_file: ~/.ssh/id, known_hosts: ./known_hosts }',
  hosts: 'hosts:\n  h1: { address: 10.0.0.1 }',
  services: 'services:\n  quartermaster: { mode: native, hosts: [h1] }',
};
const withBlock = (line: string): string => Object.values({ ...BLOCKS, [line.split(':')[0]!]: line }).join('\n') + '\n';
const MINIMAL = withBlock(BLOCKS.name!);

describe('parseClusterManifest', () => {
  it('parses the SPEC example', () => {
    const m = parseClusterManifest(SPEC_EXAMPLE, SRC);
    expect(m.name).toBe('lab');
    expect(m.release_repositories).toEqual(['./releases', 'https://releases.example.com/frameworks']);
    expect(m.hosts.h2).toEqual({ address: '10.77.0.12', port: 22, docker: true, arch: 'linux-arm64' });
    expect(m.hosts.h3!.port).toBe(2222);
    expect(m.databases).toEqual({
      engine: 'postgres',
      url_env: 'FRAMEWORKS_DATABASE_URL',
      names: ['quartermaster', 'purser', 'commodore', 'foghorn'],
    });
    expect(m.services.purser).toEqual({
      mode: 'native',
      hosts: ['h2'],
      env: { PURSER_RATING: 'v2', PURSER_RATIO: '3.10' },
    });
    expect(m.service_manager).toEqual({ type: 'systemd' });
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  it('parses the shared test fixture', () => {
    const m = parseClusterManifest(fixture('cluster/cluster.yaml'), 'test/fixtures/cluster/cluster.yaml');
    expect(Object.keys(m.services)).toContain('quartermaster');
  });

  it('fills the defaults: channel stable, port 22, docker false, systemd, no databases', () => {
    const m = parseClusterManifest(MINIMAL, SRC);
    expect(m.channel).toBe('stable');
    expect(m.hosts.h1).toEqual({ address: '10.0.0.1', port: 22, docker: false });
    expect(m.service_manager).toEqual({ type: 'systemd' });
    expect(m.databases).toBeUndefined();
    expect(m.migrations_dir).toBeUndefined();
  });

  it('accepts a command service manager with {service} templates', () => {
    const m = parseClusterManifest(
      `${MINIMAL}service_manager:
  type: command
  restart: supervisorctl restart {service}
  stop: supervisorctl stop {service}
  status: supervisorctl status {service}
`,
      SRC,
    );
    expect(m.service_manager).toEqual({
      type: 'command',
      restart: 'supervisorctl restart {service}',
      stop: 'supervisorctl stop {service}',
      status: 'supervisorctl status {service}',
    });
  });

  it.each([
    ['service_manager: supervisor\n', 'service_manager.type'],
    ['service_manager: command\n', 'service_manager.restart'],
    [
      'service_manager: { type: command, restart: "r {service}", stop: "s", status: "t {service}" }\n',
      'service_manager.stop',
    ],
    [
      'service_manager: { type: command, restart: "r {svc}", stop: "s {service}", status: "t {service}" }\n',
      'service_manager.restart',
    ],
    ['service_manager: { type: systemd, restart: x }\n', 'service_manager.restart'],
  ])('refuses service_manager %j', (extra, path) => {
    expect(issuePaths(inputError(() => parseClusterManifest(MINIMAL + extra, SRC)))).toContain(path);
  });

  it('names an unknown host at its place in the service', () => {
    const text = MINIMAL.replace('hosts: [h1] }', 'hosts: [h1, h9] }');
    const err = inputError(() => parseClusterManifest(text, SRC));
    expect(err.issues).toEqual([
      { path: 'services.quartermaster.hosts[1]', message: 'unknown host "h9" (not in hosts)' },
    ]);
    expect(err.message).toBe('cluster.yaml: services.quartermaster.hosts[1]: unknown host "h9" (not in hosts)');
  });

  it('refuses a docker service on a host without dockerd and a host listed twice', () => {
    const text = MINIMAL.replace('{ mode: native, hosts: [h1] }', '{ mode: docker, hosts: [h1, h1] }');
    const err = inputError(() => parseClusterManifest(text, SRC));
    expect(issuePaths(err)).toEqual([
      'services.quartermaster.hosts[0]',
      'services.quartermaster.hosts[1]',
      'services.quartermaster.hosts[1]',
    ]);
    expect(err.message).toContain('docker: true');
    expect(err.message).toContain('listed twice');
  });

  it.each([
    ['name: Lab_1', 'name'],
    ['channel: nightly', 'channel'],
    ['release_repositories: []', 'release_repositories'],
    ['release_repositories: ""', 'release_repositories'],
    ['ssh: { user: root, identity_file: ~/.ssh/id }', 'ssh.known_hosts'],
    ['ssh: { user: root, identity_file: ~/.ssh/id, known_hosts: ./k, password: hunter2 }', 'ssh.password'],
    ['hosts: { h1: { address: 10.0.0.1, port: 70000 } }', 'hosts.h1.port'],
    ['hosts: { h1: { address: 10.0.0.1, arch: amd64 } }', 'hosts.h1.arch'],
    ['hosts: { h1: { address: 10.0.0.1, adress: x } }', 'hosts.h1.adress'],
    ['hosts: { h1: { address: 10.0.0.1, docker: "yes" } }', 'hosts.h1.docker'],
    ['hosts: { "h 1": { address: 10.0.0.1 } }', 'hosts["h 1"]'],
    ['services: { quartermaster: { mode: podman, hosts: [h1] } }', 'services.quartermaster.mode'],
    ['services: { quartermaster: { mode: native, hosts: [] } }', 'services.quartermaster.hosts'],
    ['services: { Quartermaster: { mode: native, hosts: [h1] } }', 'services.Quartermaster'],
    [
      'services: { quartermaster: { mode: native, hosts: [h1], env: { "bad-name": x } } }',
      'services.quartermaster.env.bad-name',
    ],
    ['services: { quartermaster: { mode: native, hosts: [h1], envs: {} } }', 'services.quartermaster.envs'],
    ['databases: { engine: mysql, url_env: DB_URL, names: [a] }', 'databases.engine'],
    ['databases: { engine: postgres, url_env: "postgres://u:p@h/db", names: [a] }', 'databases.url_env'],
    ['databases: { engine: postgres, url_env: DB_URL, names: ["purser; DROP TABLE x"] }', 'databases.names[0]'],
    ['databases: { engine: postgres, url_env: DB_URL, names: [a, a] }', 'databases.names[1]'],
    ['databases: { engine: postgres, url_env: DB_URL, names: [] }', 'databases.names'],
    ['catalog_dirr: ./catalog', 'catalog_dirr'],
  ])('refuses %j at %s', (line, path) => {
    expect(issuePaths(inputError(() => parseClusterManifest(withBlock(line), SRC)))).toContain(path);
  });
});

describe('validateClusterAgainstServices', () => {
  const defs = parseServiceDefinitions(
    'quartermaster: { role: api, port: 18001, class: platform }\npurser: { role: api, port: 18003, class: platform }\n',
    'catalog/services.yaml',
  );

  it('accepts services that have definitions', () => {
    expect(() => validateClusterAgainstServices(parseClusterManifest(MINIMAL, SRC), defs, SRC)).not.toThrow();
  });

  it('names every unknown service at services.<name>', () => {
    const text = MINIMAL.replace(
      '  quartermaster: { mode: native, hosts: [h1] }',
      '  quartermaster: { mode: native, hosts: [h1] }\n  quartermastr: { mode: native, hosts: [h1] }\n  bogus: { mode: native, hosts: [h1] }',
    );
    const err = inputError(() => validateClusterAgainstServices(parseClusterManifest(text, SRC), defs, SRC));
    expect(issuePaths(err)).toEqual(['services.quartermastr', 'services.bogus']);
    expect(err.message).toContain('unknown service "quartermastr"');
  });
});
