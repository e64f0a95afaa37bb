// The native host driver end to end over a REAL sshd: releases of a tiny Node service (test/fixtures/host/
// fixture-service.js) are packed into tarballs here, staged and activated under a temp base dir, and run by the
// pid-file supervisor of test/fixtures/host/supervisor through the `command` service manager. Pids prove what
// happened: same pid ⇒ nothing restarted (or a SIGHUP reload), new pid ⇒ a restart. The sshd records every command
// a session runs (a ForceCommand wrapper, as in test/workflows/host-arch-once.test.ts), so the tests count the
// remote commands an activation costs and check that no command line carries the env file.
import { ApplicationFailure } from '@temporalio/common';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeHealth } from '../../src/activities/hosts/health';
import {
  activateNative,
  detectNative,
  rollbackNative,
  stageNative,
  stageNativeIfAbsent,
} from '../../src/activities/hosts/native';
import { connectSsh, exec, type SshConnection } from '../../src/activities/ssh/client';
import type { ServiceManager } from '../../src/contracts/cluster';
import { configHash, renderEnvFile } from '../../src/domain/hosts/commands';
import { FailureType } from '../../src/errors';
import { startSshd, type TestSshd } from '../helpers/sshd';

const FIXTURES = join(__dirname, '..', 'fixtures', 'host');
const SVC = 'quartermaster';

let sshd: TestSshd;
let conn: SshConnection;
let work: string;
let base: string;
let port: number;
let manager: ServiceManager;

interface Release {
  path: string;
  identity: string;
  version: string;
}
const releases: Record<string, Release> = {};

function pack(version: string): Release {
  const dir = join(work, `src-${version}`);
  mkdirSync(dir);
  const script = readFileSync(join(FIXTURES, 'fixture-service.js'), 'utf8');
  // Pin the interpreter to this Node: the remote login's PATH may not have one.
  writeFileSync(join(dir, SVC), `#!${process.execPath}\n${script}`);
  chmodSync(join(dir, SVC), 0o755);
  writeFileSync(join(dir, 'VERSION'), `${version}\n`);
  const path = join(work, `${SVC}-${version}.tar.gz`);
  execFileSync('tar', ['-czf', path, '-C', dir, '.']);
  const identity = `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  return { path, identity, version };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fw-native-'));
  // Records the command, then runs it as sshd would have (stdin passes through). Staging's SFTP subsystem comes
  // through ForceCommand too (as its Subsystem command): handed to the sftp-server program, not recorded.
  const wrapper = join(work, 'record-command');
  writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      'case $SSH_ORIGINAL_COMMAND in sftp | internal-sftp)',
      '  for s in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/libexec/sftp-server; do',
      '    [ -x "$s" ] && exec "$s"',
      '  done',
      'esac',
      'printf \'%s\\0\' "$SSH_ORIGINAL_COMMAND" >> "$1"',
      'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"',
      '',
    ].join('\n'),
  );
  chmodSync(wrapper, 0o755);
  sshd = await startSshd({ extraConfig: [`ForceCommand ${wrapper} ${join(work, 'commands')}`] });
  conn = await connectSsh({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: sshd.privateKey,
    knownHosts: sshd.knownHostsLine,
  });
  base = join(work, 'opt');
  port = await freePort();
  const sup = `${join(FIXTURES, 'supervisor')} ${base}`;
  manager = {
    type: 'command',
    restart: `${sup} restart {service}`,
    stop: `${sup} stop {service}`,
    status: `${sup} status {service} >/dev/null`,
  };
  for (const v of ['v0.1.0', 'v0.2.0']) releases[v] = pack(v);
});
afterAll(async () => {
  if (conn && work) {
    await exec(conn, [join(FIXTURES, 'supervisor'), base, 'stop', SVC], { timeoutMs: 15_000 });
  }
  await conn?.close();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Every command the sshd ran so far (NUL-separated records of SSH_ORIGINAL_COMMAND). */
function commands(): string[] {
  const log = join(work, 'commands');
  return existsSync(log) ? readFileSync(log, 'utf8').split('\0').slice(0, -1) : [];
}

/** The remote commands `fn` ran, and its result. */
async function counted<T>(fn: () => Promise<T>): Promise<{ ran: string[]; result: T }> {
  const from = commands().length;
  const result = await fn();
  return { ran: commands().slice(from), result };
}

const env = (greeting: string): string => renderEnvFile({ PORT: String(port), GREETING: greeting });

async function served(expect_: { version: string; greeting: string }): Promise<{ pid: number; reloads: number }> {
  // A restart on a loaded machine can take seconds (CI shares two cores): wait up to 15 s, not the default 1 s.
  const wait = { timeout: 15_000, interval: 100 };
  await expect.poll(async () => (await probeHealth(conn, { port, path: '/health' }, 2_000)).healthy, wait).toBe(true);
  let body: { version: string; greeting: string; pid: number; reloads: number } | undefined;
  await expect
    .poll(async () => {
      body = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as typeof body;
      return { version: body!.version, greeting: body!.greeting };
    }, wait)
    .toEqual(expect_);
  return { pid: body!.pid, reloads: body!.reloads };
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

const activate = (v: string, envText: string, reloadOnSighup = false) =>
  activateNative(conn, SVC, base, {
    identity: releases[v]!.identity,
    version: v,
    envText,
    manager,
    reloadOnSighup,
  });

describe('native driver over ssh', () => {
  it('stages once, activates, and a repeated activation changes nothing', async () => {
    expect(await detectNative(conn, SVC, base, manager)).toMatchObject({ present: false, running: false });
    const r1 = releases['v0.1.0']!;
    expect((await stageNative(conn, SVC, base, r1.path, r1.identity)).action).toBe('staged');
    expect((await stageNative(conn, SVC, base, r1.path, r1.identity)).action).toBe('skipped');
    // Already on the host: nothing is fetched or verified on the worker again (one remote test).
    let fetched = 0;
    const fetchLocal = () => Promise.resolve({ path: r1.path, identity: r1.identity }).finally(() => fetched++);
    expect((await stageNativeIfAbsent(conn, SVC, base, r1.identity, fetchLocal)).action).toBe('skipped');
    expect(fetched).toBe(0);
    expect(readFileSync(join(base, SVC, 'releases', r1.identity.slice(7), 'VERSION'), 'utf8')).toBe('v0.1.0\n');

    expect(await activate('v0.1.0', env('hello'))).toMatchObject({ action: 'restarted', previous: null });
    const first = await served({ version: 'v0.1.0', greeting: 'hello' });
    const d = await detectNative(conn, SVC, base, manager);
    expect(d).toMatchObject({
      present: true,
      identity: r1.identity,
      version: 'v0.1.0',
      configHash: configHash(env('hello')),
      running: true,
      pid: first.pid,
      previous: null,
      pending: false,
    });
    expect(readFileSync(join(base, SVC, 'env'), 'utf8')).toBe(env('hello'));

    expect((await activate('v0.1.0', env('hello'))).action).toBe('none');
    expect((await served({ version: 'v0.1.0', greeting: 'hello' })).pid).toBe(first.pid);
  });

  it('restarts for a config change, or reloads by SIGHUP when the service supports it', async () => {
    const before = await served({ version: 'v0.1.0', greeting: 'hello' });
    expect((await activate('v0.1.0', env('bonjour'))).action).toBe('restarted');
    const restarted = await served({ version: 'v0.1.0', greeting: 'bonjour' });
    expect(restarted.pid).not.toBe(before.pid);

    const r = await activate('v0.1.0', env('hallo'), true);
    expect(r.action).toBe('reloaded');
    expect(r.previous).toMatchObject({ config_hash: configHash(env('bonjour')) });
    const reloaded = await served({ version: 'v0.1.0', greeting: 'hallo' });
    expect(reloaded).toEqual({ pid: restarted.pid, reloads: 1 });
  });

  it('upgrades to a new release and rolls back to the previous release and config', async () => {
    const r2 = releases['v0.2.0']!;
    const before = await served({ version: 'v0.1.0', greeting: 'hallo' });
    const was = await detectNative(conn, SVC, base, manager);
    let fetched = 0;
    const fetchLocal = () => Promise.resolve({ path: r2.path, identity: r2.identity }).finally(() => fetched++);
    expect((await stageNativeIfAbsent(conn, SVC, base, r2.identity, fetchLocal)).action).toBe('staged');
    expect(fetched).toBe(1);
    const up = await activate('v0.2.0', env('hej'), true); // new release ⇒ restart even with SIGHUP support
    expect(up).toMatchObject({ action: 'restarted', previous: { identity: releases['v0.1.0']!.identity } });
    const upgraded = await served({ version: 'v0.2.0', greeting: 'hej' });
    expect(upgraded.pid).not.toBe(before.pid);

    const to = { identity: was.identity!, configHash: was.configHash! };
    const back = await rollbackNative(conn, SVC, base, manager, to);
    expect(back).toMatchObject({ action: 'rolled-back', identity: releases['v0.1.0']!.identity, version: 'v0.1.0' });
    const rolled = await served({ version: 'v0.1.0', greeting: 'hallo' });
    expect(rolled.pid).not.toBe(upgraded.pid);
    expect(await detectNative(conn, SVC, base, manager)).toMatchObject({
      identity: was.identity,
      configHash: was.configHash,
      previous: null,
      pid: rolled.pid,
    });

    // A retried rollback converges to the same place without touching the process.
    expect((await rollbackNative(conn, SVC, base, manager, to)).action).toBe('none');
    expect((await served({ version: 'v0.1.0', greeting: 'hallo' })).pid).toBe(rolled.pid);
    const none = await failureOf(rollbackNative(conn, SVC, base, manager));
    expect(none.type).toBe(FailureType.RollbackUnavailable);
    expect(none.message).toContain('records no previous release');
  });

  it('finishes an activation interrupted between the switch and the restart', async () => {
    await activate('v0.2.0', env('hej'));
    const running = await served({ version: 'v0.2.0', greeting: 'hej' });
    // What a crash right after writing installed.json leaves behind: the mark, with the old process running.
    writeFileSync(join(base, SVC, '.fw-pending'), 'restart');
    expect((await detectNative(conn, SVC, base, manager)).pending).toBe(true);
    expect((await activate('v0.2.0', env('hej'))).action).toBe('restarted');
    expect((await served({ version: 'v0.2.0', greeting: 'hej' })).pid).not.toBe(running.pid);
    expect(existsSync(join(base, SVC, '.fw-pending'))).toBe(false);
  });

  it('activates with ONE remote script after the one read, and no command line carries the env file', async () => {
    const before = await served({ version: 'v0.2.0', greeting: 'hej' });
    // Step by step this was 7 commands: read, keep the previous env file, mark, write the env file, record,
    // restart, clear the mark.
    const { ran, result } = await counted(() => activate('v0.2.0', env('s3cr3t-greeting')));
    expect(result.action).toBe('restarted');
    expect(ran).toHaveLength(2);
    expect(ran[1]).toBe('sh -s');
    expect(ran.join('\n')).not.toContain('s3cr3t');
    const after = await served({ version: 'v0.2.0', greeting: 's3cr3t-greeting' });
    expect(after.pid).not.toBe(before.pid);
    // Converged: the read and the status, as before.
    const again = await counted(() => activate('v0.2.0', env('s3cr3t-greeting')));
    expect(again.result.action).toBe('none');
    expect(again.ran).toHaveLength(2);
    expect((await served({ version: 'v0.2.0', greeting: 's3cr3t-greeting' })).pid).toBe(after.pid);
  });

  it('reports a failed restart by name with its stderr, leaves what the steps left, and a retry converges', async () => {
    const running = await served({ version: 'v0.2.0', greeting: 's3cr3t-greeting' });
    const r1 = releases['v0.1.0']!;
    const hex1 = r1.identity.slice('sha256:'.length);
    const broken: ServiceManager = {
      ...(manager as Extract<ServiceManager, { type: 'command' }>),
      restart: 'echo "cannot restart {service}" >&2; exit 7',
    };
    const f = await failureOf(
      activateNative(conn, SVC, base, {
        identity: r1.identity,
        version: 'v0.1.0',
        envText: env('hush'),
        manager: broken,
        reloadOnSighup: false,
      }),
    );
    expect(f.type).toBe(FailureType.HostCommandFailed);
    expect(f.message).toContain(`restart ${SVC} failed (exit 7): cannot restart ${SVC}`);
    expect(f.message).not.toContain('hush');
    // Every step before the restart ran, the mark stays for the retry, the old process still runs.
    const dir = join(base, SVC);
    expect(readFileSync(join(dir, '.fw-pending'), 'utf8')).toBe('restart');
    expect(readFileSync(join(dir, 'env'), 'utf8')).toBe(env('hush'));
    expect(readlinkSync(join(dir, 'current'))).toBe(`releases/${hex1}`);
    expect(JSON.parse(readFileSync(join(dir, 'installed.json'), 'utf8'))).toMatchObject({
      identity: r1.identity,
      previous: { identity: releases['v0.2.0']!.identity },
    });
    expect((await served({ version: 'v0.2.0', greeting: 's3cr3t-greeting' })).pid).toBe(running.pid);

    // The retried activity finishes the job (one restart, the mark cleared, the previous record kept) …
    const retry = await counted(() => activate('v0.1.0', env('hush')));
    expect(retry.result).toMatchObject({ action: 'restarted', previous: { identity: releases['v0.2.0']!.identity } });
    expect(retry.ran).toHaveLength(2);
    const restarted = await served({ version: 'v0.1.0', greeting: 'hush' });
    expect(restarted.pid).not.toBe(running.pid);
    expect(existsSync(join(dir, '.fw-pending'))).toBe(false);
    // … and running it once more changes nothing: no second restart.
    expect((await activate('v0.1.0', env('hush'))).action).toBe('none');
    expect((await served({ version: 'v0.1.0', greeting: 'hush' })).pid).toBe(restarted.pid);

    // Rollback is the same shape: the read, then one script.
    const back = await counted(() => rollbackNative(conn, SVC, base, manager));
    expect(back.result).toMatchObject({ action: 'rolled-back', identity: releases['v0.2.0']!.identity });
    expect(back.ran).toHaveLength(2);
    expect((await served({ version: 'v0.2.0', greeting: 's3cr3t-greeting' })).pid).not.toBe(restarted.pid);
  });

  it('refuses to activate a release that was never staged', async () => {
    const f = await failureOf(
      activateNative(conn, SVC, base, {
        identity: `sha256:${'0'.repeat(64)}`,
        version: 'v9.9.9',
        envText: env('x'),
        manager,
        reloadOnSighup: false,
      }),
    );
    expect(f.type).toBe(FailureType.NotStaged);
    expect(f.nonRetryable).toBe(true);
  });

  it('refuses an unsafe or mislabelled tarball before creating anything on the host', async () => {
    const victim = join(work, 'victim.txt');
    writeFileSync(victim, 'x');
    const evil = join(work, 'evil.tar.gz');
    execFileSync('tar', ['-czPf', evil, victim]); // -P keeps the absolute member name
    const evilId = `sha256:${createHash('sha256').update(readFileSync(evil)).digest('hex')}`;
    const f = await failureOf(stageNative(conn, 'evil-svc', base, evil, evilId));
    expect(f.type).toBe(FailureType.UnsafeArtifact);
    expect(f.message).toContain('absolute path');
    const g = await failureOf(stageNative(conn, 'evil-svc', base, releases['v0.1.0']!.path, evilId));
    expect(g.type).toBe(FailureType.ChecksumMismatch);
    expect(existsSync(join(base, 'evil-svc'))).toBe(false);
  });
});
