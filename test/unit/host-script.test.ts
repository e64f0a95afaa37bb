// The one-exec host script (src/domain/hosts/host-script.ts) is proven by EXECUTION: each rendered script is fed
// to a real `sh -s` (dash on Debian) and to bash, exactly as the SSH exec feeds it, and what it did to a temp dir
// and what it printed (parsed by parseHostScript) are checked. Then the native plans as script items
// (native-script.ts) by value.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ServiceManager } from '../../src/contracts/cluster';
import {
  configHash,
  renderInstalledJson,
  switchSymlinkCommand,
  writeFileAtomicCommand,
  type Argv,
} from '../../src/domain/hosts/commands';
import { parseHostScript, renderHostScript, type ScriptItem } from '../../src/domain/hosts/host-script';
import { planNativeActivation, planNativeRollback, type NativeState } from '../../src/domain/hosts/native-plan';
import { activationScript, rollbackScript } from '../../src/domain/hosts/native-script';

const root = mkdtempSync(join(tmpdir(), 'fw-host-script-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const d = join(root, `case-${n++}`);
  mkdirSync(d);
  return d;
};

const SHELLS = ['sh', 'bash'] as const;

function runScript(items: ScriptItem[], shell: string = 'sh') {
  const { argv, script, commands } = renderHostScript(items);
  expect(argv).toEqual(['sh', '-s']);
  const p = spawnSync(shell, argv.slice(1), { input: script, encoding: 'utf8' });
  return { result: parseHostScript({ stdout: p.stdout, stderr: p.stderr, code: p.status }), commands, script };
}

const sh = (text: string): Argv => ['sh', '-c', text];
const step = (what: string, argv: Argv, stdin?: string): ScriptItem => ({
  kind: 'step',
  step: { what, argv, ...(stdin !== undefined ? { stdin } : {}) },
});

// Directory and file names no shell may split, expand or run; contents that must arrive byte for byte.
const HOSTILE_NAMES = ["it's", '$(touch PWNED)', '`touch PWNED`', 'two words', '-rf', '"q"', 'a\\b', '*', 'tab\there'];
const HOSTILE_TEXT = [
  "SECRET='x'\\''y' $(touch PWNED) `touch PWNED` ${HOME} %s %d \\n \\\\\nLAST=no newline at the end",
  "'",
  '\n\n',
  '-n',
  'ünïcödé ✓ %%',
];

describe.each(SHELLS)('renderHostScript under %s', (shell) => {
  it('writes hostile contents to hostile paths byte for byte, and nothing is injected', () => {
    const dir = fresh();
    const written: [string, string][] = [];
    const items: ScriptItem[] = [];
    HOSTILE_NAMES.forEach((name, i) => {
      const d = join(dir, name);
      mkdirSync(d);
      const text = HOSTILE_TEXT[i % HOSTILE_TEXT.length]!;
      written.push([join(d, 'env'), text]);
      items.push(step(`write ${name}`, writeFileAtomicCommand(join(d, 'env')), text));
    });
    const link = join(dir, `current ${HOSTILE_NAMES[1]}`);
    items.push(step('link', switchSymlinkCommand(`releases/${HOSTILE_NAMES[0]}`, link)));
    const { result } = runScript(items, shell);
    expect(result).toEqual({ kind: 'done', outcome: '' });
    for (const [path, text] of written) expect(readFileSync(path, 'utf8')).toBe(text);
    expect(readlinkSync(link)).toBe(`releases/${HOSTILE_NAMES[0]}`);
    expect(existsSync('PWNED') || existsSync(join(dir, 'PWNED'))).toBe(false);
  });

  it('keeps step stdin out of the argv: the secret is only in the script text (stdin)', () => {
    const { argv, script } = renderHostScript([step('write', writeFileAtomicCommand('/x/env'), 'TOKEN=hunter2\n')]);
    expect(argv.join(' ')).not.toContain('hunter2');
    expect(script).toContain('hunter2');
  });

  it('stops at the first failing step, and reports that step with its own stderr (else stdout) and exit code', () => {
    const dir = fresh();
    const { result, commands } = runScript(
      [
        step('first', sh(`echo one; echo one-err >&2; touch ${join(dir, 'a')}`)),
        step('second', sh('echo out-two; echo boom >&2; exit 3')),
        step('third', sh(`touch ${join(dir, 'c')}`)),
      ],
      shell,
    );
    expect(result).toEqual({ kind: 'failed', index: 1, code: 3, output: 'boom' });
    expect(commands[1]!.what).toBe('second');
    expect(existsSync(join(dir, 'a'))).toBe(true);
    expect(existsSync(join(dir, 'c'))).toBe(false);
    const quiet = runScript([step('silent', sh('echo only-stdout; exit 5'))], shell).result;
    expect(quiet).toEqual({ kind: 'failed', index: 0, code: 5, output: 'only-stdout' });
  });

  it('fails where set -e would not: a failure at the end of a pipeline, or inside an && list', () => {
    const dir = fresh();
    const { result } = runScript(
      [step('pipe', sh('cat >/dev/null; exit 4'), 'data'), step('after', sh(`touch ${join(dir, 'after')}`))],
      shell,
    );
    expect(result).toMatchObject({ kind: 'failed', index: 0, code: 4 });
    expect(runScript([step('and-list', sh('true && false'))], shell).result).toMatchObject({ index: 0, code: 1 });
    expect(existsSync(join(dir, 'after'))).toBe(false);
  });

  it('gives every command /dev/null as stdin, so none eats the rest of the script', () => {
    const dir = fresh();
    const { result } = runScript(
      [step('greedy', ['cat']), step('after', sh(`touch ${join(dir, 'after')}`))].concat(
        Array.from({ length: 50 }, (_, i) => step(`filler ${i}`, ['true'])),
      ),
      shell,
    );
    expect(result).toEqual({ kind: 'done', outcome: '' });
    expect(existsSync(join(dir, 'after'))).toBe(true);
  });

  it('skip-if-running ends the script as the outcome when running; else goes on; 126/127 fail it', () => {
    const dir = fresh();
    const items = (status: Argv): ScriptItem[] => [
      { kind: 'skip-if-running', what: 'status of svc', status, outcome: 'none' },
      { kind: 'restart', what: 'start svc', argv: sh(`echo x >> ${join(dir, 'starts')}`), outcome: 'started' },
    ];
    expect(runScript(items(['true']), shell).result).toEqual({ kind: 'done', outcome: 'none' });
    expect(existsSync(join(dir, 'starts'))).toBe(false);
    expect(runScript(items(sh('exit 3')), shell).result).toEqual({ kind: 'done', outcome: 'started' });
    expect(readFileSync(join(dir, 'starts'), 'utf8')).toBe('x\n');
    const missing = runScript(items(['fw-no-such-status-command']), shell).result;
    expect(missing).toMatchObject({ kind: 'failed', index: 0, code: 127 });
    expect(readFileSync(join(dir, 'starts'), 'utf8')).toBe('x\n');
  });

  it('reload-if-running: a delivered reload replaces the restart; an undeliverable one falls back to it', () => {
    const dir = fresh();
    const log = join(dir, 'log');
    const items = (running: boolean, reloadOk: boolean): ScriptItem[] => [
      {
        kind: 'reload-if-running',
        what: 'status of svc',
        status: sh(running ? 'true' : 'exit 3'),
        reloadWhat: 'reload svc',
        reload: sh(`echo reload >> ${log}; exit ${reloadOk ? 0 : 3}`),
        outcome: 'reloaded',
      },
      { kind: 'restart', what: 'restart svc', argv: sh(`echo restart >> ${log}`), outcome: 'restarted' },
      step('clear', sh(`echo clear >> ${log}`)),
    ];
    const logged = (): string[] => readFileSync(log, 'utf8').trim().split('\n');
    expect(runScript(items(true, true), shell).result).toEqual({ kind: 'done', outcome: 'reloaded' });
    expect(logged()).toEqual(['reload', 'clear']);
    rmSync(log);
    expect(runScript(items(true, false), shell).result).toEqual({ kind: 'done', outcome: 'restarted' });
    expect(logged()).toEqual(['reload', 'restart', 'clear']);
    rmSync(log);
    expect(runScript(items(false, true), shell).result).toEqual({ kind: 'done', outcome: 'restarted' });
    expect(logged()).toEqual(['restart', 'clear']);
  });

  it('a failed restart stops the script before what follows it', () => {
    const dir = fresh();
    const { result, commands } = runScript(
      [
        { kind: 'restart', what: 'restart svc', argv: sh('echo no unit >&2; exit 6'), outcome: 'restarted' },
        step('clear', sh(`touch ${join(dir, 'cleared')}`)),
      ],
      shell,
    );
    expect(result).toEqual({ kind: 'failed', index: 0, code: 6, output: 'no unit' });
    expect(commands[0]).toEqual({ what: 'restart svc', restart: true });
    expect(existsSync(join(dir, 'cleared'))).toBe(false);
  });
});

describe('parseHostScript', () => {
  it('names the last command begun when the script was cut off', () => {
    const stdout = '\n@@fw-step 0\nok\n\n@@fw-step 1\n';
    expect(parseHostScript({ stdout, stderr: '\n@@fw-step 1\nhalf', code: null })).toEqual({
      kind: 'unfinished',
      index: 1,
      output: 'half',
    });
    expect(parseHostScript({ stdout: '', stderr: 'sh: syntax error', code: 2 })).toEqual({
      kind: 'unfinished',
      index: -1,
      output: 'sh: syntax error',
    });
  });

  it('does not take a done marker for success when the exit code says otherwise', () => {
    expect(parseHostScript({ stdout: '\n@@fw-done none\n', stderr: '', code: 1 }).kind).toBe('unfinished');
  });

  it('refuses what no script can carry', () => {
    expect(() => renderHostScript([step('nul', ['true'], 'a\0b')])).toThrow(/NUL/);
    expect(() => renderHostScript([{ kind: 'restart', what: 'r', argv: ['true'], outcome: 'x; rm -rf /' }])).toThrow(
      /invalid script outcome/,
    );
  });
});

// ---- the native plans as script items ----

const HEX_A = 'a'.repeat(64);
const HEX_B = 'b'.repeat(64);
const manager: ServiceManager = {
  type: 'command',
  restart: 'fw-svc restart {service}',
  stop: 'fw-svc stop {service}',
  status: 'fw-svc status {service}',
};

function state(over: Partial<NativeState>): NativeState {
  return {
    dirExists: true,
    currentIdentity: HEX_A,
    envSha256: null,
    envPreviousSha256: null,
    etcEnvSha256: null,
    pid: null,
    pending: null,
    releases: [HEX_A, HEX_B],
    installedText: null,
    installed: null,
    ...over,
  };
}

const kinds = (items: ScriptItem[]): string[] =>
  items.map((i) => (i.kind === 'step' ? i.step.what : i.kind === 'restart' ? `${i.kind}:${i.outcome}` : i.kind));

describe('activationScript and rollbackScript', () => {
  const target = { identity: `sha256:${HEX_B}`, version: 'v2', envText: 'A=1\n', reloadOnSighup: true };

  it('a new release: the plan steps, the restart, then clearing the mark, in that order', () => {
    const plan = planNativeActivation('svc', '/opt/fw', state({}), target);
    if (plan.kind !== 'activate') throw new Error(plan.kind);
    expect(kinds(activationScript(plan, 'svc', '/opt/fw', manager))).toEqual([
      'mark the activation',
      'write the env file',
      'switch current',
      'record',
      'restart:restarted',
      'clear the activation mark',
    ]);
  });

  it('only the config changed on a SIGHUP service: the reload is tried before the restart', () => {
    const installed = { identity: `sha256:${HEX_A}`, version: 'v1', config_hash: '0'.repeat(64), previous: null };
    const st = state({ installed, installedText: renderInstalledJson(installed) });
    const plan = planNativeActivation('svc', '/opt/fw', st, { ...target, identity: `sha256:${HEX_A}` });
    if (plan.kind !== 'activate') throw new Error(plan.kind);
    const items = activationScript(plan, 'svc', '/opt/fw', manager);
    expect(kinds(items)).toContain('reload-if-running');
    expect(kinds(items).indexOf('reload-if-running')).toBe(kinds(items).indexOf('restart:restarted') - 1);
  });

  it('converged: nothing but the status (then a start only if it is down)', () => {
    const hash = configHash(target.envText);
    const installed = { identity: `sha256:${HEX_B}`, version: 'v2', config_hash: hash, previous: null };
    const st = state({ currentIdentity: HEX_B, envSha256: hash, installed });
    const plan = planNativeActivation('svc', undefined, st, target);
    if (plan.kind !== 'converged') throw new Error(plan.kind);
    expect(kinds(activationScript(plan, 'svc', undefined, manager))).toEqual(['skip-if-running', 'restart:started']);
  });

  it('rollback: the gate only when already converged; the restart reads rolled-back', () => {
    const prev = { identity: `sha256:${HEX_A}`, version: 'v1', config_hash: '1'.repeat(64) };
    const installed = { identity: `sha256:${HEX_B}`, version: 'v2', config_hash: '2'.repeat(64), previous: prev };
    const st = state({ currentIdentity: HEX_B, envSha256: '2'.repeat(64), envPreviousSha256: '1'.repeat(64) });
    const plan = planNativeRollback('svc', undefined, { ...st, installed });
    if (plan.kind !== 'rollback') throw new Error(plan.kind);
    expect(kinds(rollbackScript(plan, 'svc', manager))).toEqual([
      'mark the rollback',
      'restore the previous env file',
      'switch back',
      'record',
      'restart:rolled-back',
      'clear the rollback mark',
    ]);
    const done = { ...installed, ...prev, previous: null };
    const conv = planNativeRollback(
      'svc',
      undefined,
      { ...st, currentIdentity: HEX_A, envSha256: '1'.repeat(64), installed: done },
      { identity: prev.identity, configHash: prev.config_hash },
    );
    if (conv.kind !== 'rollback' || !conv.converged) throw new Error('expected converged');
    expect(kinds(rollbackScript(conv, 'svc', manager))[0]).toBe('skip-if-running');
  });
});
