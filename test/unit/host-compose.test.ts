// Docker/compose detection of the provisioner's layout, by value (domain/hosts/compose.ts). Sample outputs are the
// shapes docker 20.10–28 and compose v2 print.
import { describe, expect, it } from 'vitest';
import {
  composePaths,
  composeProblem,
  composePsCommand,
  containerNameChain,
  dockerDetectCommand,
  imageRepository,
  imageTagVersion,
  parseComposePs,
  parseDockerDetection,
} from '../../src/domain/hosts/compose';

const HEX = 'ab'.repeat(32);
const HEX2 = 'cd'.repeat(32);
const LABELS = {
  'com.docker.compose.project': 'purser',
  'com.docker.compose.service': 'purser',
  'com.docker.compose.project.working_dir': '/opt/frameworks/purser',
  'com.docker.compose.project.config_files': '/opt/frameworks/purser/docker-compose.yml',
  'com.docker.compose.version': '2.29.7',
};

const output = (image: string, digests: string[], labels: object | null = LABELS, env = HEX2): string =>
  [
    `@@ps frameworks-purser|running|${image}`,
    `@@inspect sha256:${'ee'.repeat(32)}|2|${JSON.stringify(labels)}`,
    `@@digests ${JSON.stringify(digests)}`,
    `@@env ${env}`,
    '',
  ].join('\n');

describe('container chain', () => {
  it('tries frameworks-<svc>, <svc>, frameworks_<svc> in one command with exact name matching', () => {
    expect(containerNameChain('purser')).toEqual(['frameworks-purser', 'purser', 'frameworks_purser']);
    const argv = dockerDetectCommand('purser');
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv.slice(3)).toEqual(['sh', 'frameworks-purser', 'purser', 'frameworks_purser']);
    expect(argv[2]).toContain(`awk -F'|' -v n="$n" '$1 == n'`);
    expect(argv[2]).toContain('com.docker.compose.project.working_dir');
    expect(() => dockerDetectCommand('a b')).toThrow(/invalid service name/);
    expect(composePaths('purser')).toEqual({
      dir: '/opt/frameworks/purser',
      composeFile: '/opt/frameworks/purser/docker-compose.yml',
      env: '/opt/frameworks/purser/.env',
      container: 'frameworks-purser',
      project: 'purser',
    });
  });
});

describe('image references', () => {
  it.each([
    ['ghcr.io/livepeer-frameworks/purser:v0.2.96', 'v0.2.96', 'ghcr.io/livepeer-frameworks/purser'],
    [`ghcr.io/livepeer-frameworks/purser:v0.2.96@sha256:${HEX}`, 'v0.2.96', 'ghcr.io/livepeer-frameworks/purser'],
    [`10.77.1.1:5000/frameworks/purser@sha256:${HEX}`, null, '10.77.1.1:5000/frameworks/purser'],
    ['localhost:5000/purser', null, 'localhost:5000/purser'],
    [`sha256:${HEX}`, null, `sha256:${HEX}`],
    ['purser', null, 'purser'],
  ])('%s ⇒ version %s, repository %s', (image, version, repo) => {
    expect(imageTagVersion(image)).toBe(version);
    expect(imageRepository(image)).toBe(repo);
  });
});

describe('docker detection output', () => {
  it('reports the running image registry digest as identity, the tag as version, and the compose project', () => {
    const image = `ghcr.io/livepeer-frameworks/purser:v0.1.0@sha256:${HEX}`;
    const d = parseDockerDetection(
      output(image, [`docker.io/other/purser@sha256:${HEX2}`, `ghcr.io/livepeer-frameworks/purser@sha256:${HEX}`]),
    );
    expect(d).toEqual({
      container: 'frameworks-purser',
      state: 'running',
      running: true,
      image,
      version: 'v0.1.0',
      imageId: `sha256:${'ee'.repeat(32)}`,
      restartCount: 2,
      identity: `sha256:${HEX}`,
      compose: {
        project: 'purser',
        service: 'purser',
        workingDir: '/opt/frameworks/purser',
        configFiles: ['/opt/frameworks/purser/docker-compose.yml'],
      },
      envSha256: HEX2,
    });
    expect(composeProblem('purser', d!)).toBeNull();
  });

  it('no digest for a locally built image; no compose for a plain container; none found', () => {
    const d = parseDockerDetection(output('purser:dev', [], null, ''));
    expect(d).toMatchObject({ identity: null, version: 'dev', compose: null, envSha256: null });
    expect(composeProblem('purser', d!)).toBe('frameworks-purser is not part of a compose project');
    expect(parseDockerDetection('@@none\n')).toBeNull();
    expect(() => parseDockerDetection('Cannot connect to the Docker daemon\n')).toThrow(/unexpected docker detection/);
  });

  it('names how a compose container differs from the provisioner layout', () => {
    const d = parseDockerDetection(
      output('x:v1', [], { ...LABELS, 'com.docker.compose.project.working_dir': '/srv/purser' }),
    )!;
    expect(composeProblem('purser', d)).toBe('its compose project lives in /srv/purser, not /opt/frameworks/purser');
    expect(composeProblem('purser', { ...d, container: 'purser' })).toBe(
      'the container is purser, not frameworks-purser',
    );
  });
});

describe('docker compose ps', () => {
  it('runs in the service folder and parses both output shapes', () => {
    expect(composePsCommand('purser')).toEqual([
      'docker',
      'compose',
      '--project-directory',
      '/opt/frameworks/purser',
      'ps',
      '--all',
      '--format',
      'json',
    ]);
    const one = { Name: 'frameworks-purser', Service: 'purser', State: 'running', Health: '' };
    const want = [{ name: 'frameworks-purser', service: 'purser', state: 'running' }];
    expect(parseComposePs(JSON.stringify([one]))).toEqual(want);
    expect(parseComposePs(`${JSON.stringify(one)}\n`)).toEqual(want);
    expect(parseComposePs('')).toEqual([]);
    expect(() => parseComposePs('{"Name":1}')).toThrow();
  });
});
