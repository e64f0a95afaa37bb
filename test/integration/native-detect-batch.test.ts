// detectNativeBatch (all native services of a host in one remote command) must report exactly what detectNative
// reports service by service, over a real sshd: installed and running, absent, interrupted activation, a malformed
// installed.json (an error, not "absent"), and a status command that cannot run (an error for every service).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectNative, detectNativeBatch } from '../../src/activities/hosts/native';
import { connectSsh, type SshConnection } from '../../src/activities/ssh/client';
import type { ServiceManager } from '../../src/contracts/cluster';
import { configHash, renderEnvFile } from '../../src/domain/hosts/commands';
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
});
afterAll(async () => {
  await conn?.close();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('detectNativeBatch', () => {
  it('reports per service exactly what detectNative reports (running, absent, pending, malformed)', async () => {
    const svcs = ['alpha', 'beta', 'gamma', 'delta', ...Array.from({ length: 40 }, (_, i) => `many-${i}`)];
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
    expect(batch.slice(4).filter((d) => !(d instanceof Error) && d.running)).toHaveLength(20);
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
