// The one-command native detection (src/domain/hosts/detect-script.ts), proven by EXECUTION under sh (dash) and
// bash: every section the parser hands back must be byte for byte what that command prints and exits with when it
// runs on its own (as the one-exec-per-step reads ran it), for installed, absent, empty and malformed installs,
// a status command that cannot run, and — with a stand-in `systemctl` first on PATH — the systemd sections
// (MainPID only for a running unit, the unit chain only without installed.json). Then what the parser refuses.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceManager } from '../../src/contracts/cluster';
import { probeNativeCommand, statusCommand, systemdMainPidCommand, type Argv } from '../../src/domain/hosts/commands';
import { nativeDetectScript, parseNativeDetect, type SectionResult } from '../../src/domain/hosts/detect-script';
import { systemdShowChainCommand } from '../../src/domain/hosts/provisioner';

const HEX = 'ab'.repeat(32);
const NONCE = '0123456789abcdef';
const SVCS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];

let work: string;
let base: string;
let bin: string;
let fake: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'fw-detect-script-'));
  base = join(work, 'opt');
  fake = join(work, 'systemd');
  bin = join(work, 'bin');
  for (const d of [base, fake, bin]) mkdirSync(d, { recursive: true });
  const install = (svc: string, installed: string | null) => {
    const dir = join(base, svc);
    mkdirSync(join(dir, 'releases', HEX), { recursive: true });
    symlinkSync(`releases/${HEX}`, join(dir, 'current'));
    writeFileSync(join(dir, 'env'), `SERVICE=${svc}\n`);
    if (installed !== null) writeFileSync(join(dir, 'installed.json'), installed);
  };
  const record = `{"identity":"sha256:${HEX}","version":"v1.2.3","config_hash":"${'cd'.repeat(32)}","previous":null}`;
  // alpha: installed and running, its pid file naming a live process; beta: nothing at all; gamma: an empty
  // installed.json; delta: a malformed one that carries a marker of another read; epsilon: installed, stopped.
  install('alpha', record);
  writeFileSync(join(base, 'alpha', 'pid'), `${process.pid}\n`);
  writeFileSync(join(base, 'alpha', 'RUNNING'), '');
  install('gamma', '');
  install('delta', `{"identity": \n@@fw-rc-ffffffffffffffff probe.3 0\n\n@@fw-end-ffffffffffffffff\n`);
  install('epsilon', record);
  // A stand-in systemctl: a unit is active when <fake>/<unit>.active exists; `show` prints what a real one would.
  writeFileSync(
    join(bin, 'systemctl'),
    [
      '#!/bin/sh',
      `f=${fake}`,
      'echo "systemctl $*" >&2',
      'case $1 in',
      '  is-active) [ -e "$f/$3.active" ];;',
      '  show) case $2 in --property=MainPID) cat "$f/$4.pid" 2>/dev/null || echo 0;;',
      '    *) u=$4; if [ -e "$f/$u.exec" ]; then echo LoadState=loaded; echo "ExecStart={ path=$(cat "$f/$u.exec") ; }";',
      '       else echo LoadState=not-found; fi;; esac;;',
      '  *) exit 1;;',
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'systemctl'), 0o755);
  writeFileSync(join(fake, 'frameworks-alpha.active'), '');
  writeFileSync(join(fake, 'frameworks-alpha.pid'), '4242\n');
  writeFileSync(join(fake, 'frameworks-beta.exec'), join(base, 'beta', 'beta'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const env = () => ({ ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` });

/** One command on its own, as its exec ran it (stdin empty). */
function alone(argv: Argv): SectionResult {
  const p = spawnSync(argv[0]!, argv.slice(1), { input: '', encoding: 'utf8', env: env() });
  return { code: p.status!, stdout: p.stdout, stderr: p.stderr };
}

function runScript(shell: string, svcs: string[], manager: ServiceManager, readArch = true, nonce = NONCE) {
  const { argv, script } = nativeDetectScript(svcs, base, manager, readArch, nonce);
  expect(argv).toEqual(['sh', '-s']);
  const p = spawnSync(shell, argv.slice(1), { input: script, encoding: 'utf8', env: env() });
  return { p, read: parseNativeDetect(p, svcs.length, readArch, nonce) };
}

const command = (status: string): ServiceManager => ({ type: 'command', restart: 'true', stop: 'true', status });

describe.each(['sh', 'bash'])('nativeDetectScript under %s', (shell) => {
  it('every section is exactly what its command prints on its own (command manager)', () => {
    const manager = command(`test -e ${base}/{service}/RUNNING`);
    const { p, read } = runScript(shell, SVCS, manager);
    expect(read, p.stdout + p.stderr).not.toBeNull();
    expect(read!.arch).toEqual(alone(['uname', '-m']));
    for (const [i, svc] of SVCS.entries()) {
      const s = read!.services[i]!;
      expect(s.probe, svc).toEqual(alone(probeNativeCommand(svc, base)));
      expect(s.status.code, svc).toBe(alone(statusCommand(manager, svc)).code);
      expect([s.mainPid, s.showChain], svc).toEqual([null, null]);
    }
    expect(read!.services.map((s) => s.status.code === 0)).toEqual([true, false, false, false, false]);
    // The malformed installed.json, forged marker lines and all, is the probe's output unchanged.
    expect(read!.services[3]!.probe.stdout).toContain('@@fw-end-ffffffffffffffff');
  });

  it('a status command that cannot run keeps its exit code and its own stderr', () => {
    const { read } = runScript(shell, ['alpha'], command('/nonexistent/fw-svc status {service}'), false);
    expect(read!.arch).toBeNull();
    expect(read!.services[0]!.status.code).toBe(127);
    expect(read!.services[0]!.status.stderr).toContain('/nonexistent/fw-svc');
    expect(read!.services[0]!.status.stderr).not.toContain('@@fw');
  });

  it('with systemd: MainPID of a running unit, the unit chain of a service without installed.json', () => {
    const manager: ServiceManager = { type: 'systemd' };
    const { p, read } = runScript(shell, SVCS, manager, false);
    expect(read, p.stdout + p.stderr).not.toBeNull();
    for (const [i, svc] of SVCS.entries()) {
      const s = read!.services[i]!;
      expect(s.probe, svc).toEqual(alone(probeNativeCommand(svc, base)));
      expect(s.status, svc).toEqual({ ...alone(statusCommand(manager, svc)), stdout: '' });
      expect(s.mainPid, svc).toEqual(s.status.code === 0 ? alone(systemdMainPidCommand(svc)) : null);
      const bare = svc === 'beta' || svc === 'gamma'; // no installed.json, or an empty one
      expect(s.showChain, svc).toEqual(bare ? alone(systemdShowChainCommand(svc)) : null);
    }
    expect(read!.services[0]!.mainPid!.stdout).toBe('4242\n');
    expect(read!.services[1]!.showChain!.stdout).toContain(`path=${join(base, 'beta', 'beta')}`);
  });
});

describe('parseNativeDetect', () => {
  it('refuses output that is cut, of another read, or for another number of services', () => {
    const manager = command(`test -e ${base}/{service}/RUNNING`);
    const { p } = runScript('sh', ['alpha', 'beta'], manager);
    expect(parseNativeDetect(p, 2, true, NONCE)).not.toBeNull();
    expect(parseNativeDetect({ ...p, stdout: p.stdout.slice(0, -3) }, 2, true, NONCE)).toBeNull();
    expect(parseNativeDetect({ ...p, stdout: p.stdout.slice(0, p.stdout.length / 2) }, 2, true, NONCE)).toBeNull();
    expect(parseNativeDetect(p, 2, true, 'fedcba9876543210')).toBeNull();
    expect(parseNativeDetect(p, 1, true, NONCE)).toBeNull();
    expect(parseNativeDetect(p, 3, true, NONCE)).toBeNull();
    expect(parseNativeDetect(p, 2, false, NONCE)).toBeNull();
  });

  it('refuses a nonce that could break a marker or a pattern', () => {
    expect(() => nativeDetectScript(['alpha'], base, command('true'), false, 'a b*c.d')).toThrow(/nonce/);
    expect(() => parseNativeDetect({ stdout: '', stderr: '' }, 1, false, '$(x)')).toThrow(/nonce/);
  });
});
