// Docker/compose detection of the provisioner's layout, by value (domain/hosts/compose.ts). Sample outputs are the
// shapes docker 20.10–28 and compose v2 print.
import { describe, expect, it } from 'vitest';
import { configHash, renderEnvFile, writeFileAtomicCommand } from '../../src/domain/hosts/commands';
import {
  composeConfigHash,
  composeDropKeptCommand,
  composeEnvText,
  composeFilesCommand,
  composeImage,
  composeKeepCommand,
  composeRestoreCommand,
  composeUpCommand,
  composeWithImage,
  parseComposeEnv,
  parseComposeFiles,
  composePaths,
  composeProblem,
  composePsCommand,
  containerNameChain,
  dockerDetectCommand,
  parseComposePs,
  parseDockerDetection,
  planComposeActivation,
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

describe('upgrading a compose stack in place', () => {
  const FILE = [
    '# written by the provisioner',
    'services:',
    '  purser:',
    `    image: ghcr.io/livepeer-frameworks/purser:v0.1.0@sha256:${HEX}`,
    '    container_name: frameworks-purser',
    '    env_file:',
    '      - .env',
    '    volumes:',
    '      - data:/var/lib/purser',
    'volumes:',
    '  data: {}',
    '',
  ].join('\n');

  it('changes only the service image; comments, names and volumes stay', () => {
    const ref = `ghcr.io/livepeer-frameworks/purser:v0.2.0@sha256:${HEX2}`;
    const next = composeWithImage(FILE, 'purser', ref);
    expect(composeImage(FILE, 'purser')).toBe(`ghcr.io/livepeer-frameworks/purser:v0.1.0@sha256:${HEX}`);
    expect(composeImage(next, 'purser')).toBe(ref);
    expect(next).toBe(FILE.replace(`v0.1.0@sha256:${HEX}`, `v0.2.0@sha256:${HEX2}`));
    expect(() => composeWithImage(FILE, 'bridge', ref)).toThrow(/no service bridge/);
  });

  it('hashes the .env as the orchestrator renders config: order, comments and the hash variable do not count', () => {
    const want = configHash(renderEnvFile({ A: '1', B: 'x=y' }));
    expect(composeConfigHash('B=x=y\n# note\n\nA=1\nFRAMEWORKS_CONFIG_HASH=abc\n')).toBe(want);
    expect(composeConfigHash(composeEnvText({ B: 'x=y', A: '1' }, want))).toBe(want);
    expect(composeEnvText({ A: '1' }, 'h')).toBe('A=1\nFRAMEWORKS_CONFIG_HASH=h\n');
    expect(composeConfigHash(null)).toBe(configHash(''));
    expect(parseComposeEnv('K=a b "c"\r\n')).toEqual({ K: 'a b "c"' });
  });

  it('reads the folder in one command, as base64', () => {
    const b = (t: string) => Buffer.from(t).toString('base64');
    expect(parseComposeFiles('@@nocompose\n')).toEqual({ compose: null, env: null, keptFor: null });
    expect(parseComposeFiles(`@@compose ${b(FILE)}\n@@env ${b('A=1\n')}\n@@kept ${b('ref h')}\n`)).toEqual({
      compose: FILE,
      env: 'A=1\n',
      keptFor: 'ref h',
    });
    expect(parseComposeFiles(`@@compose ${b(FILE)}\n`)).toEqual({ compose: FILE, env: null, keptFor: null });
    expect(composeFilesCommand('purser').slice(3)).toEqual(['sh', '/opt/frameworks/purser']);
  });

  it('keeps, restores and runs compose in the service folder with the compose the host has', () => {
    const keep = composeKeepCommand('purser', 'ref h');
    expect(keep.slice(3)).toEqual(['sh', '/opt/frameworks/purser', 'ref h']);
    expect(keep[2]).toContain('cp -p -- "$d/docker-compose.yml"');
    const up = composeUpCommand('purser');
    expect(up[2]).toContain('docker compose version');
    expect(up[2]).toContain('docker-compose "$@"');
    expect(up[2]).toContain('dc up -d');
    const restore = composeRestoreCommand('purser');
    // The kept copy is dropped only after compose brought the old files up.
    expect(restore[2]!.indexOf('dc up -d')).toBeLessThan(restore[2]!.indexOf('rm -rf -- "$k"'));
    expect(composeDropKeptCommand('purser')).toEqual([
      'rm',
      '-rf',
      '--',
      '/opt/frameworks/purser/.frameworks-previous',
    ]);
  });

  describe('activation plan', () => {
    const ref = `ghcr.io/livepeer-frameworks/purser:v0.2.0@sha256:${HEX2}`;
    const input = { imageRef: ref, env: { A: '1' }, configHash: 'h2' };
    const envText = 'A=1\nFRAMEWORKS_CONFIG_HASH=h2\n';
    const DIR = '/opt/frameworks/purser';

    it('replaces: keep the files for this activation, write .env and the image, then up -d', () => {
      const plan = planComposeActivation('purser', { compose: FILE, env: 'A=0\n', keptFor: null }, input);
      expect(plan).toEqual({
        kind: 'replace',
        steps: [
          { argv: composeKeepCommand('purser', `${ref} h2`), what: "keep the purser stack's files for rollback" },
          { argv: writeFileAtomicCommand(`${DIR}/.env`, '0600'), what: `write ${DIR}/.env`, stdin: envText },
          {
            argv: writeFileAtomicCommand(`${DIR}/docker-compose.yml`, '0644'),
            what: `write ${DIR}/docker-compose.yml`,
            stdin: FILE.replace(`v0.1.0@sha256:${HEX}`, `v0.2.0@sha256:${HEX2}`),
          },
          { argv: composeUpCommand('purser'), what: 'recreate frameworks-purser with compose' },
        ],
      });
    });

    it('files already at the target: only up -d, reported as the replacement this activation kept files for', () => {
      const next = composeWithImage(FILE, 'purser', ref);
      const up = { argv: composeUpCommand('purser'), what: 'bring the purser stack up' };
      expect(planComposeActivation('purser', { compose: next, env: envText, keptFor: `${ref} h2` }, input)).toEqual({
        kind: 'files-at-target',
        digest: `sha256:${HEX2}`,
        up,
        replaced: true,
      });
      expect(planComposeActivation('purser', { compose: next, env: envText, keptFor: null }, input)).toMatchObject({
        kind: 'files-at-target',
        replaced: false,
      });
    });

    it('a compose file that does not parse is refused before any step', () => {
      const broken = `${FILE}services: [\n`;
      expect(() => planComposeActivation('purser', { compose: broken, env: null, keptFor: null }, input)).toThrow();
    });
  });
});
