// The CLI as an operator runs it (a real process through bin/frameworks): help lists the whole surface, usage
// errors exit 2, bad input exits 1 with one clear message naming the file and key path and no stack trace.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFixtureCluster } from '../helpers/fixtures';

const CLI = resolve(__dirname, '..', '..', 'bin', 'frameworks');

function frameworks(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', TEMPORAL_ADDRESS: '127.0.0.1:1', ...env },
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The fixture cluster (FrameWorks manifest, hosts file, orchestrator.yaml) in a temp folder, the manifest edited. */
function manifestWith(edit: (text: string) => string, editSettings: (text: string) => string = (t) => t): string {
  const path = writeFixtureCluster({ name: 'cli-bad-input' });
  writeFileSync(path, edit(readFileSync(path, 'utf8')));
  const settings = join(dirname(path), 'orchestrator.yaml');
  writeFileSync(settings, editSettings(readFileSync(settings, 'utf8')));
  return path;
}

describe('frameworks CLI', () => {
  it('--help documents every command of SPEC §5', () => {
    const top = frameworks(['cluster', '--help']);
    expect(top.code).toBe(0);
    for (const cmd of ['status', 'doctor', 'upgrade', 'migrate', 'data-migrate', 'set-channel', 'runs', 'release']) {
      expect(top.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
    }
    const upgrade = frameworks(['cluster', 'upgrade', '--help']);
    for (const flag of [
      '--version',
      '--dry-run',
      '--yes',
      '--no-rollback',
      '--skip-validation',
      '--skip-migration-check',
      '--skip-data-migration-check',
      '--unsafe-ignore-cli-version-floor',
      '--unsafe-allow-unknown-version',
      '--allow-downgrade',
      '--all',
      '--parallel',
    ]) {
      expect(upgrade.stdout).toContain(flag);
    }
    expect(frameworks(['--help']).stdout).toContain('worker');
  });

  it('exits 2 on usage errors', () => {
    expect(frameworks(['cluster', 'bogus']).code).toBe(2);
    expect(frameworks(['cluster', 'migrate', '--phase', 'sideways']).code).toBe(2);
    for (const [args, why] of [
      [['--all', '--parallel', '0'], /--parallel must be a whole number from 1 to 64, got "0"/],
      [['--all', '--parallel', 'two'], /--parallel must be a whole number from 1 to 64, got "two"/],
      [['purser', '--parallel', '3'], /--parallel needs --all/],
    ] as const) {
      const r = frameworks(['cluster', 'upgrade', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(why);
    }
    // One flag, one parser, one exit code in every command that takes it (data-migrate once exited 1 here).
    for (const cmd of [['release'], ['data-migrate', 'run', 'purser.invoice-line-items']]) {
      for (const bad of ['0', 'lots', '2000000']) {
        const r = frameworks(['cluster', ...cmd, '--batch-size', bad]);
        expect(r.code, `${cmd.join(' ')} --batch-size ${bad}`).toBe(2);
        expect(r.stderr).toContain(`--batch-size must be a whole number from 1 to 1000000, got "${bad}"`);
      }
    }
    const steps = frameworks(['cluster', 'noop', '--steps', 'a,,b']);
    expect(steps.code).toBe(2);
    expect(steps.stderr).toContain('--steps must be comma-separated names');
  });

  it('noop is hidden from `cluster --help` and says in its own help that it is for tests', () => {
    expect(frameworks(['cluster', '--help']).stdout).not.toMatch(/^\s+noop\b/m);
    const help = frameworks(['cluster', 'noop', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('FOR TESTS: a change run that changes nothing');
  });

  const same = (t: string): string => t;
  const badInputs: [string, (t: string) => string, (t: string) => string, RegExp][] = [
    ['malformed YAML', (t) => t.replace('hosts:\n', 'hosts: [\n'), same, /cluster\.yaml/],
    ['an unknown key', (t) => t.replace('profile: test', 'profile: test\nprofiel: test'), same, /profiel/],
    [
      'an orchestrator key in the manifest (FrameWorks would reject it)',
      (t) => t.replace('profile: test', 'profile: test\nservice_manager: systemd'),
      same,
      /service_manager: unknown key/,
    ],
    [
      'an unknown host in a service',
      (t) =>
        t.replace(
          'bridge: { enabled: true, mode: docker, host: h3 }',
          'bridge: { enabled: true, mode: docker, host: h9 }',
        ),
      same,
      /services\.bridge/,
    ],
    ['a bad cluster name', same, (t) => t.replace(/^cluster: .*$/m, 'cluster: Lab_1'), /cluster/],
  ];
  for (const [what, edit, editSettings, mentions] of badInputs) {
    it(`refuses ${what} with one clear message, exit 1, no stack trace`, () => {
      const path = manifestWith(edit, editSettings);
      const r = frameworks(['cluster', 'upgrade', 'plan', '--manifest', path]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(dirname(path)); // the manifest or the orchestrator.yaml beside it
      expect(r.stderr).toMatch(mentions);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    });
  }

  it('refuses a non-canonical --version before starting anything', () => {
    const r = frameworks(['cluster', 'upgrade', 'plan', '--manifest', manifestWith((t) => t), '--version', 'v0.02.0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/v0\.02\.0/);
    expect(r.stderr).not.toMatch(/cannot reach Temporal/);
  });

  it('explains how to reach Temporal when it is not reachable', () => {
    const r = frameworks(['cluster', 'upgrade', 'plan', '--manifest', manifestWith((t) => t), '--version', 'v0.2.0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(r.stderr).toContain('TEMPORAL_ADDRESS');
  });
});
