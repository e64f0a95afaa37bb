// detectNativeBatch (all native services of a host in one remote command) must report exactly what detectNative
// reports service by service, over a real sshd: installed and running, absent, interrupted activation, a malformed
// installed.json (an error, not "absent"), and a status command that cannot run (an error for every service).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectNative, detectNativeBatch } from '../../src/activities/hosts/native';
import { connectSsh, exec, type SshConnection } from '../../src/activities/ssh/client';
import type { ServiceManager } from '../../src/contracts/cluster';
import {
  configHash,
  parseNativeProbe,
  probeNativeCommand,
  renderEnvFile,
  statusCommand,
} from '../../src/domain/hosts/commands';
import { parseNativeBatchProbe, probeNativeBatchCommand } from '../../src/domain/hosts/probe-batch';
import { startSshd, type TestSshd } from '../helpers/sshd';

let sshd: TestSshd;
let conn: SshConnection;
let work: string;
let base: string;
let manager: Extract<ServiceManager, { type: 'command' }>;

const HEX = 'ab'.repeat(32);

function install(svc: string, opts: { running?: boolean; pending?: string; installed?: string } = {}): void {
  const dir = join(base, svc);
  mkdirSync(join(dir, 'releases', HEX), { recursive: true });
  mkdirSync(join(dir, 'releases', 'cd'.repeat(32)), { recursive: true });
  symlinkSync(`releases/${HEX}`, join(dir, 'current'));
  const env = renderEnvFile({ SERVICE: svc });
  writeFileSync(join(dir, 'env'), env);
  writeFileSync(
    join(dir, 'installed.json'),
    opts.installed ??
      JSON.stringify({
        identity: `sha256:${HEX}`,
        version: 'v1.2.3',
        config_hash: configHash(env),
        previous: { identity: `sha256:${'cd'.repeat(32)}`, version: 'v1.2.2', config_hash: configHash('') },
      }),
  );
  if (opts.running) writeFileSync(join(dir, 'RUNNING'), '');
  if (opts.pending) writeFileSync(join(dir, '.fw-pending'), opts.pending);
}

async function one(svc: string, m: ServiceManager): Promise<unknown> {
  return detectNative(conn, svc, base, m).catch((e: unknown) => e);
}

beforeAll(async () => {
  sshd = await startSshd();
  conn = await connectSsh({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: sshd.privateKey,
    knownHosts: sshd.knownHostsLine,
  });
  work = mkdtempSync(join(tmpdir(), 'fw-detect-batch-'));
  base = join(work, 'opt');
  manager = { type: 'command', restart: 'true', stop: 'true', status: `test -e ${base}/{service}/RUNNING` };
  install('alpha', { running: true });
  install('gamma', { pending: 'restart' });
  install('delta', { installed: '{"identity": ' });
  for (let i = 0; i < 40; i++) install(`many-${i}`, { running: i % 2 === 0 });
  // The corners of what the probe reads (each must come out of the batch exactly as the per-service probe reads it).
  install('epsilon', { installed: `{"identity":"sha256:${HEX}","version":"v1","config_hash":"x","previous":null}` });
  writeFileSync(join(base, 'epsilon', 'pid'), `${process.pid}\n\n`); // alive, trailing newlines as $(cat) drops
  writeFileSync(join(base, 'epsilon', 'env.previous'), 'OLD=1\n');
  mkdirSync(join(base, 'epsilon', 'releases', '.partial.tmp'));
  writeFileSync(join(base, 'epsilon', 'releases', 'notes'), '');
  install('zeta', { pending: 'reload\n\n' });
  writeFileSync(join(base, 'zeta', 'pid'), 'abc\n');
  rmSync(join(base, 'zeta', 'current'));
  symlinkSync(join(base, 'zeta', 'releases', 'cd'.repeat(32)), join(base, 'zeta', 'current')); // absolute target
  install('eta');
  rmSync(join(base, 'eta', 'current'));
  writeFileSync(join(base, 'eta', 'current'), 'not a link');
  writeFileSync(join(base, 'eta', 'pid'), '1\n2\n'); // two lines: not a pid
  mkdirSync(join(base, 'theta')); // a folder and nothing in it
  install('iota');
  rmSync(join(base, 'iota', 'env'));
  mkdirSync(join(base, 'iota', 'env')); // not a regular file: no hash
  rmSync(join(base, 'iota', 'current'));
  symlinkSync(`releases/${'ef'.repeat(32)}`, join(base, 'iota', 'current')); // dangling
});
afterAll(async () => {
  await conn?.close();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('detectNativeBatch', () => {
  it('reports per service exactly what detectNative reports (running, absent, pending, malformed)', async () => {
    const svcs = [
      'alpha',
      'beta',
      'gamma',
      'delta',
      'epsilon',
      'zeta',
      'eta',
      'theta',
      'iota',
      ...Array.from({ length: 40 }, (_, i) => `many-${i}`),
    ];
    const batch = await detectNativeBatch(conn, svcs, base, manager);
    expect(batch).toHaveLength(svcs.length);
    for (const [i, svc] of svcs.entries()) {
      const single = await one(svc, manager);
      if (single instanceof Error) {
        expect(batch[i], svc).toBeInstanceOf(Error);
        expect((batch[i] as Error).message, svc).toBe(single.message);
      } else {
        expect(batch[i], svc).toEqual(single);
      }
    }
    expect(batch[0]).toMatchObject({ present: true, running: true, identity: `sha256:${HEX}`, version: 'v1.2.3' });
    expect(batch[1]).toMatchObject({ present: false, running: false, identity: null });
    expect(batch[2]).toMatchObject({ present: true, running: false, pending: true });
    expect((batch[3] as Error).message).toMatch(/installed\.json is malformed/);
    expect(batch.slice(9).filter((d) => !(d instanceof Error) && d.running)).toHaveLength(20);
  });

  it('the host side reads every service with the batch probe, each exactly as the per-service probe reads it', async () => {
    const svcs = ['alpha', 'beta', 'gamma', 'epsilon', 'zeta', 'eta', 'theta', 'iota'];
    const { argv, script } = probeNativeBatchCommand(
      svcs,
      base,
      svcs.map((s) => statusCommand(manager, s)),
    );
    const r = await exec(conn, argv, { stdin: script, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const batch = parseNativeBatchProbe(r.stdout, svcs, base);
    expect(batch, r.stdout).not.toBeNull();
    for (const [i, svc] of svcs.entries()) {
      const single = await exec(conn, probeNativeCommand(svc, base), { timeoutMs: 30_000 });
      expect(parseNativeProbe(batch![i]!.probe), svc).toEqual(parseNativeProbe(single.stdout));
    }
    const probes = batch!.map((b) => parseNativeProbe(b.probe));
    expect(batch!.map((b) => b.statusRc === 0)).toEqual([true, false, false, false, false, false, false, false]);
    expect(probes[3]).toMatchObject({ pid: process.pid, currentIdentity: HEX });
    expect(probes[3]!.envPreviousSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(probes[3]!.releases.sort()).toEqual([HEX, 'cd'.repeat(32)].sort());
    expect(probes[4]).toMatchObject({ pid: null, pending: 'reload', currentIdentity: 'cd'.repeat(32) });
    expect(probes[5]).toMatchObject({ pid: null, currentIdentity: null });
    expect(probes[6]).toMatchObject({ dirExists: true, currentIdentity: null, releases: [], installedText: null });
    expect(probes[7]).toMatchObject({ envSha256: null, currentIdentity: 'ef'.repeat(32) });
  });

  it('what the batch probe cannot vouch for is probed service by service, with the same result', async () => {
    const svcs = ['alpha', 'odd'];
    install('odd', { running: true });
    mkdirSync(join(base, 'odd', 'releases', `${'12'.repeat(32)}\nx`));
    const { argv, script } = probeNativeBatchCommand(
      svcs,
      base,
      svcs.map((s) => statusCommand(manager, s)),
    );
    const r = await exec(conn, argv, { stdin: script, timeoutMs: 60_000 });
    expect(parseNativeBatchProbe(r.stdout, svcs, base)).toBeNull();
    const batch = await detectNativeBatch(conn, svcs, base, manager);
    expect(batch).toEqual([await one('alpha', manager), await one('odd', manager)]);
    expect((batch[1] as { staged: string[] }).staged).toContain('12'.repeat(32));
  });

  it('a status command that cannot run is an error for each service, as it is for detectNative', async () => {
    const broken: Extract<ServiceManager, { type: 'command' }> = {
      ...manager,
      status: '/nonexistent/fw-svc status {service}',
    };
    const [d] = await detectNativeBatch(conn, ['alpha'], base, broken);
    expect(d).toBeInstanceOf(Error);
    expect((d as Error).message).toMatch(/status of alpha/);
    expect(await one('alpha', broken)).toBeInstanceOf(Error);
  });

  it('an empty list needs no remote command', async () => {
    expect(await detectNativeBatch(conn, [], base, manager)).toEqual([]);
  });
});
