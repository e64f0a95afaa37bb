// Activation and rollback of a native service planned as data (src/domain/hosts/native-plan.ts): for each install
// state a probe can read, the exact host commands, their order, their stdin, and the restart they end with. The
// commands run against a real sshd in test/integration/native-driver.test.ts.
import { describe, expect, it } from 'vitest';
import {
  configHash,
  copyFileAtomicCommand,
  removeCommand,
  renderInstalledJson,
  writeFileAtomicCommand,
  type InstalledRecord,
} from '../../src/domain/hosts/commands';
import {
  planNativeActivation,
  planNativeRollback,
  switchCurrentRelative,
  type NativeState,
} from '../../src/domain/hosts/native-plan';
import { nativePaths } from '../../src/domain/hosts/commands';

const OLD = 'ab'.repeat(32);
const NEW = 'cd'.repeat(32);
const ENV_OLD = 'PORT=1\n';
const ENV_NEW = 'PORT=2\n';
const [H_OLD, H_NEW] = [configHash(ENV_OLD), configHash(ENV_NEW)];
const DIR = '/opt/frameworks/purser';
const p = nativePaths('purser');

const entry = (hex: string, version: string, hash: string) => ({
  identity: `sha256:${hex}`,
  version,
  config_hash: hash,
});
const OLD_ENTRY = entry(OLD, 'v0.1.0', H_OLD);
const NEW_ENTRY = entry(NEW, 'v0.2.0', H_NEW);

/** A host running v0.1.0 with NEW staged: the state before an upgrade. */
function state(over: Partial<NativeState> = {}): NativeState {
  return {
    dirExists: true,
    currentIdentity: OLD,
    envSha256: H_OLD,
    envPreviousSha256: null,
    etcEnvSha256: null,
    pid: 42,
    pending: null,
    releases: [OLD, NEW],
    installedText: '(parsed below)',
    installed: { ...OLD_ENTRY, previous: null },
    ...over,
  };
}

const UPGRADE = { identity: `sha256:${NEW}`, version: 'v0.2.0', envText: ENV_NEW, reloadOnSighup: true };
const record = (r: InstalledRecord) => renderInstalledJson(r);

describe('planNativeActivation', () => {
  it('upgrades: keep the old env, mark, write env, switch current (relative), record with previous, restart, clear', () => {
    expect(planNativeActivation('purser', undefined, state(), UPGRADE)).toEqual({
      kind: 'activate',
      target: NEW_ENTRY,
      previous: OLD_ENTRY,
      steps: [
        { argv: copyFileAtomicCommand(`${DIR}/env`, `${DIR}/env.previous`), what: 'keep the previous env file' },
        { argv: writeFileAtomicCommand(`${DIR}/.fw-pending`, '0644'), what: 'mark the activation', stdin: 'restart' },
        { argv: writeFileAtomicCommand(`${DIR}/env`), what: 'write the env file', stdin: ENV_NEW },
        {
          argv: [
            'sh',
            '-c',
            'ln -sfn -- "$1" "$2.fw-tmp" && mv -Tf -- "$2.fw-tmp" "$2"',
            'sh',
            `releases/${NEW}`,
            `${DIR}/current`,
          ],
          what: 'switch current',
        },
        {
          argv: writeFileAtomicCommand(`${DIR}/installed.json`, '0644'),
          what: 'record',
          stdin: record({ ...NEW_ENTRY, previous: OLD_ENTRY }),
        },
      ],
      restart: 'restart',
      after: [{ argv: removeCommand(`${DIR}/.fw-pending`), what: 'clear the activation mark' }],
    });
  });

  it('a config-only change of a SIGHUP service reloads and switches nothing', () => {
    const plan = planNativeActivation('purser', undefined, state(), { ...UPGRADE, identity: `sha256:${OLD}` });
    expect(plan.kind === 'activate' && plan.restart).toBe('reload');
    expect(plan.kind === 'activate' && plan.steps.map((s) => s.what)).toEqual([
      'keep the previous env file',
      'mark the activation',
      'write the env file',
      'record',
    ]);
    // …but a restart interrupted before (pending "restart") is finished as a restart, and so is a non-SIGHUP service.
    const interrupted = planNativeActivation('purser', undefined, state({ pending: 'restart' }), {
      ...UPGRADE,
      identity: `sha256:${OLD}`,
    });
    expect(interrupted.kind === 'activate' && interrupted.restart).toBe('restart');
    const noHup = planNativeActivation('purser', undefined, state(), {
      ...UPGRADE,
      identity: `sha256:${OLD}`,
      reloadOnSighup: false,
    });
    expect(noHup.kind === 'activate' && noHup.restart).toBe('restart');
  });

  it('a retry after the record was written keeps previous and does not keep the new env as previous', () => {
    // Crashed after "record", before the restart: env, link and record are the target's, the mark is still there.
    const st = state({
      currentIdentity: NEW,
      envSha256: H_NEW,
      envPreviousSha256: H_OLD,
      pending: 'restart',
      installed: { ...NEW_ENTRY, previous: OLD_ENTRY },
    });
    expect(planNativeActivation('purser', undefined, st, UPGRADE)).toEqual({
      kind: 'activate',
      target: NEW_ENTRY,
      previous: OLD_ENTRY,
      steps: [
        { argv: writeFileAtomicCommand(`${DIR}/.fw-pending`, '0644'), what: 'mark the activation', stdin: 'restart' },
        {
          argv: writeFileAtomicCommand(`${DIR}/installed.json`, '0644'),
          what: 'record',
          stdin: record({ ...NEW_ENTRY, previous: OLD_ENTRY }),
        },
      ],
      restart: 'restart',
      after: [{ argv: removeCommand(`${DIR}/.fw-pending`), what: 'clear the activation mark' }],
    });
  });

  it('converged: nothing to run, or only a relabel of the record when the version label changed', () => {
    const st = state({
      currentIdentity: NEW,
      envSha256: H_NEW,
      installed: { ...NEW_ENTRY, previous: OLD_ENTRY },
    });
    expect(planNativeActivation('purser', undefined, st, UPGRADE)).toEqual({
      kind: 'converged',
      target: NEW_ENTRY,
      previous: OLD_ENTRY,
      steps: [],
    });
    const relabel = planNativeActivation('purser', undefined, st, { ...UPGRADE, version: 'v0.2.0-rc.1' });
    expect(relabel).toEqual({
      kind: 'converged',
      target: { ...NEW_ENTRY, version: 'v0.2.0-rc.1' },
      previous: OLD_ENTRY,
      steps: [
        {
          argv: writeFileAtomicCommand(`${DIR}/installed.json`, '0644'),
          what: 'record',
          stdin: record({ ...NEW_ENTRY, version: 'v0.2.0-rc.1', previous: OLD_ENTRY }),
        },
      ],
    });
  });

  it('an adopted service writes the provisioner env file and keeps its layout in the record', () => {
    const st = state({ installed: { ...OLD_ENTRY, previous: null, layout: 'adopted' } });
    const plan = planNativeActivation('purser', undefined, st, UPGRADE);
    expect(plan.kind).toBe('activate');
    if (plan.kind !== 'activate') return;
    expect(plan.steps[0]).toEqual({
      argv: copyFileAtomicCommand('/etc/frameworks/purser.env', `${DIR}/env.previous`),
      what: 'keep the previous env file',
    });
    expect(plan.steps[2]).toEqual({
      argv: writeFileAtomicCommand('/etc/frameworks/purser.env'),
      what: 'write the env file',
      stdin: ENV_NEW,
    });
    expect(plan.steps[4]!.stdin).toBe(record({ ...NEW_ENTRY, previous: OLD_ENTRY, layout: 'adopted' }));
  });

  it('a first install has no previous and keeps no env', () => {
    const st = state({ currentIdentity: null, envSha256: null, installed: null, installedText: null, pid: null });
    const plan = planNativeActivation('purser', '/srv/fw', st, UPGRADE);
    expect(plan.kind === 'activate' && plan.previous).toBeNull();
    expect(plan.kind === 'activate' && plan.steps.map((s) => [s.what, s.argv.at(-1)])).toEqual([
      ['mark the activation', '0644'],
      ['write the env file', '0600'],
      ['switch current', '/srv/fw/purser/current'],
      ['record', '0644'],
    ]);
  });

  it('refuses a release that is not staged, and an invalid identity', () => {
    expect(planNativeActivation('purser', undefined, state({ releases: [OLD] }), UPGRADE)).toEqual({
      kind: 'not-staged',
      hex: NEW,
    });
    expect(() => planNativeActivation('purser', undefined, state(), { ...UPGRADE, identity: 'v0.2.0' })).toThrow(
      /invalid artifact identity/,
    );
  });
});

describe('planNativeRollback', () => {
  /** After an upgrade to NEW: the record's previous is OLD, env.previous holds OLD's config. */
  const upgraded = state({
    currentIdentity: NEW,
    envSha256: H_NEW,
    envPreviousSha256: H_OLD,
    installed: { ...NEW_ENTRY, previous: OLD_ENTRY },
  });

  it('goes back to previous: mark, restore env, switch back, record without previous; then restart and clear', () => {
    expect(planNativeRollback('purser', undefined, upgraded)).toEqual({
      kind: 'rollback',
      dest: OLD_ENTRY,
      converged: false,
      steps: [
        { argv: writeFileAtomicCommand(`${DIR}/.fw-pending`, '0644'), what: 'mark the rollback', stdin: 'restart' },
        {
          argv: copyFileAtomicCommand(`${DIR}/env.previous`, `${DIR}/env`),
          what: 'restore the previous env file',
        },
        { argv: switchCurrentRelative(p, OLD), what: 'switch back' },
        {
          argv: writeFileAtomicCommand(`${DIR}/installed.json`, '0644'),
          what: 'record',
          stdin: record({ ...OLD_ENTRY, previous: null }),
        },
      ],
      after: [{ argv: removeCommand(`${DIR}/.fw-pending`), what: 'clear the rollback mark' }],
    });
  });

  it('with `to` = the record itself (rolled back already, or the activation died before its record): converged', () => {
    const back = state({ installed: { ...OLD_ENTRY, previous: null } });
    const plan = planNativeRollback('purser', undefined, back, { identity: `sha256:${OLD}`, configHash: H_OLD });
    expect(plan).toMatchObject({ kind: 'rollback', dest: OLD_ENTRY, converged: true });
    // Died after switching but before the record: the link and env go back, the record stays.
    const half = state({ currentIdentity: NEW, envSha256: H_NEW, envPreviousSha256: H_OLD, pending: 'restart' });
    const halfPlan = planNativeRollback('purser', undefined, half, { identity: OLD, configHash: H_OLD });
    expect(halfPlan.kind === 'rollback' && halfPlan.steps.map((s) => s.what)).toEqual([
      'mark the rollback',
      'restore the previous env file',
      'switch back',
    ]);
  });

  it('says why it cannot roll back', () => {
    const why = (st: NativeState, to?: { identity: string; configHash: string }) => {
      const plan = planNativeRollback('purser', undefined, st, to);
      return plan.kind === 'unavailable' ? plan.why : plan.kind;
    };
    expect(why(state({ installed: null }))).toBe(`no ${DIR}/installed.json`);
    expect(why(state())).toBe(`${DIR}/installed.json records no previous release`);
    expect(why(upgraded, { identity: 'ef'.repeat(32), configHash: H_OLD })).toBe(
      `neither ${DIR}/installed.json nor its previous record is ${'ef'.repeat(32)} with config ${H_OLD}`,
    );
    expect(why({ ...upgraded, releases: [NEW] })).toBe(`${DIR}/releases/${OLD} is gone`);
    expect(why({ ...upgraded, envPreviousSha256: null })).toBe(
      `${DIR}/env.previous does not hold the previous config (hash ${H_OLD})`,
    );
  });
});
