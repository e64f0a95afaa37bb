// Issue 15 items 2 and 3 on the lab (variant lab-chaos), against a Temporal dev server of this file's own (SQLite
// file, fixed port) so it can be SIGKILLed without touching the suite's server:
//   1. two workers on one task queue; the one that runs the first activation SIGKILLs itself right after the
//      host changed and before reporting it (kill-point activateServiceOnHost:after, src/worker/chaos.ts). The
//      other finishes the run: the lost attempt times out by heartbeat and is retried on the survivor, which finds
//      the replica already at target and changes nothing (one host change per replica, from the histories and
//      from systemd's journal); every replica ends at v0.2.0 and healthy; commodore's two replicas were never
//      down together.
//   2. the Temporal server SIGKILLed mid-upgrade (a slow-starting purser in its health wait) and started again on
//      the same database file and port: the CLI following the run says it lost contact and how to reattach, then
//      reconnects and reports the end; the run completes with each changed replica started exactly once.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labPaths } from '../../lab/config';
import { labDown, labUp, type LabState } from '../../lab/lab';
import { acquireLabForTest, releaseLabForTest } from '../../lab/lock';
import {
  buildVariantNative,
  catalogReleases,
  copyRelease,
  createVariant,
  editYaml,
  type Variant,
} from '../../lab/variants';
import { activityLog, hostChanges, nativeStarts, replicaOf, watchReplicasDown } from '../../lab/chaos-checks';
import { frameworksAsync, startFrameworks, type CliResult } from '../helpers/cli';
import { releaseIdentity, snapshot } from '../helpers/lab-hosts';
import { restartableServer, type RestartableServer } from '../helpers/restartable-server';
import { waitFor } from '../helpers/wait';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const CLUSTER = 'lab-chaos';
const CHANGE_ID = `fw/${CLUSTER}/change`;
let state: LabState;
let variant: Variant;
let server: RestartableServer;
let dir: string;
let env: NodeJS.ProcessEnv;
const workers: WorkerProcess[] = [];
const paths = () => labPaths(state.root);
const text = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}, ms = 300_000): Promise<CliResult> =>
  frameworksAsync(['cluster', ...args, '--manifest', variant.cluster], { ...env, ...extra }, ms);

beforeAll(async () => {
  await acquireLabForTest();
  state = await labUp({ fresh: true, log: (l) => console.error(`[lab] ${l}`) });
  dir = mkdtempSync(join(tmpdir(), 'fw-lab-chaos-'));
  variant = createVariant(paths(), { name: CLUSTER, dir: join(dir, 'variant') });
  server = await restartableServer(join(dir, 'temporal.db'));
  const dbUrl = /FRAMEWORKS_DATABASE_URL=(\S+)/.exec(readFileSync(state.envFile!, 'utf8'))![1]!;
  env = { TEMPORAL_ADDRESS: server.address, FRAMEWORKS_DATABASE_URL: dbUrl, FRAMEWORKS_CACHE_DIR: join(dir, 'c') };
}, 300_000);

afterAll(async () => {
  try {
    for (const w of workers) await w.kill('SIGTERM');
    await server?.stop();
    await labDown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  } finally {
    releaseLabForTest();
  }
}, 180_000);

describe('chaos on the lab (variant lab-chaos, own Temporal server)', () => {
  it('two workers; the one running an activation is SIGKILLed after the host changed: the other finishes, no duplicate change', async () => {
    const once = join(dir, 'chaos-once');
    const chaosEnv = {
      ...env,
      FRAMEWORKS_CHAOS: 'activateServiceOnHost:after',
      FRAMEWORKS_CHAOS_LAB: '1',
      FRAMEWORKS_CHAOS_ONCE: once,
    };
    // Each worker its own cache: nothing local is shared between them (as on two machines).
    workers.push(await spawnWorker(variant.cluster, { ...chaosEnv, FRAMEWORKS_CACHE_DIR: join(dir, 'cA') }));
    workers.push(await spawnWorker(variant.cluster, { ...chaosEnv, FRAMEWORKS_CACHE_DIR: join(dir, 'cB') }));
    const expand = await cli(['migrate', '--phase', 'expand', '--to-version', 'v0.2.0', '--yes']);
    expect(expand.code, text(expand)).toBe(0);
    const startsBefore = nativeStarts(paths());
    const before = await snapshot(paths());

    const down = watchReplicasDown();
    const start = await cli(['upgrade', '--all', '--version', 'v0.2.0', '--yes', '--detach'], {
      FRAMEWORKS_HEALTH_INTERVAL: '500 milliseconds',
      FRAMEWORKS_HEALTH_DEADLINE: '30 seconds',
    });
    expect(start.code, text(start)).toBe(0);
    const dead = await waitFor('a worker to die at the kill-point', () => workers.find((w) => w.child.signalCode), {
      timeoutMs: 180_000,
    });
    expect(dead.child.signalCode).toBe('SIGKILL');
    expect(dead.output()).toContain('chaos: SIGKILL at activateServiceOnHost:after');
    expect(readFileSync(once, 'utf8')).toMatch(new RegExp(`^${dead.child.pid} `));
    const survivor = workers.find((w) => w !== dead)!;

    // The survivor alone finishes the run (the lost attempt waits out its heartbeat timeout first).
    const watch = await cli(['runs', 'watch', CHANGE_ID], {}, 600_000);
    expect(watch.code, text(watch)).toBe(0);
    expect(watch.stdout).toContain(`${CHANGE_ID} completed`);
    const overlaps = await down.stop();
    expect(survivor.child.exitCode).toBeNull();
    expect(survivor.child.signalCode).toBeNull();

    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      const result = (await client.workflow.getHandle(CHANGE_ID).result()) as { state: string };
      expect(result.state).toBe('completed');
      const log = await activityLog(client, `${CHANGE_ID}/`);
      // The killed activation: its last attempt was a retry, run by the other worker, and found nothing to do.
      const activations = log.filter((r) => r.activityType === 'activateServiceOnHost');
      const retried = activations.filter((r) => r.attempt > 1);
      expect(retried.length).toBe(1);
      expect(retried[0]!.identity.startsWith(`${survivor.child.pid}@`), retried[0]!.identity).toBe(true);
      expect(retried[0]!.result).toMatchObject({ action: 'none' });
      // One host change per replica that changed, none twice. The killed attempt's change is on the host but
      // not in the history (its result was never reported): there the replica shows only the retry's `none`, and
      // systemd's journal below shows its one start.
      const killedReplica = replicaOf(retried[0]!)!;
      const changes = hostChanges(log);
      const changed = Object.keys(before).filter((k) => !k.startsWith('bridge@'));
      expect(changed).toContain(killedReplica);
      expect(Object.keys(changes).sort()).toEqual(changed.filter((k) => k !== killedReplica).sort());
      for (const k of Object.keys(changes)) expect(changes[k], k).toBe(1);
    } finally {
      await client.connection.close();
    }
    // systemd agrees: each native service started exactly once more.
    const startsAfter = nativeStarts(paths());
    for (const [k, n] of Object.entries(startsBefore)) expect(startsAfter[k], k).toBe(n + 1);
    const s = await snapshot(paths());
    for (const [key, r] of Object.entries(s)) {
      expect(r.identity, key).toBe(releaseIdentity(variant.releases, 'v0.2.0', key.split('@')[0]!));
      expect(r.health, key).toBe(200);
    }
    expect(overlaps).toEqual([]);
  }, 900_000);

  it('Temporal SIGKILLed mid-upgrade and restarted on the same db and port: the run completes; the CLI reconnects', async () => {
    // v0.2.2 (variant only): quartermaster rebuilt, purser rebuilt as a slow starter (503 for 8 s), so the server
    // dies while purser's child waits on its health timers.
    const qm = buildVariantNative(variant, 'quartermaster', 'v0.2.2');
    const slow = buildVariantNative(variant, 'purser', 'v0.2.2', { healthyAfterMs: 8_000 });
    copyRelease(variant, 'v0.2.0', 'v0.2.2', (m) => {
      const services = m.services as Record<string, unknown>[];
      for (const s of services) if (['quartermaster', 'purser'].includes(String(s.name))) s.service_version = 'v0.2.2';
      const natives = m.native_binaries as { name: string; artifacts: Record<string, unknown>[] }[];
      for (const n of natives) {
        const a = n.name === 'purser' ? slow : qm;
        n.artifacts = [
          { arch: 'linux-amd64', file: a.file, url: a.url, checksum: a.checksum, size_bytes: a.size_bytes },
        ];
      }
    });
    editYaml(catalogReleases(variant), (c) =>
      (c.releases as Record<string, unknown>[]).push({ version: 'v0.2.2', min_cli_version: 'v0.2.0' }),
    );
    const startsBefore = nativeStarts(paths());
    const child = startFrameworks(
      [
        'cluster',
        'upgrade',
        '--all',
        '--version',
        'v0.2.2',
        '--yes',
        '--skip-migration-check',
        '--skip-data-migration-check',
        '--manifest',
        variant.cluster,
      ],
      { ...env, FRAMEWORKS_HEALTH_INTERVAL: '1 second', FRAMEWORKS_HEALTH_DEADLINE: '90 seconds' },
    );
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    // Mid-upgrade: quartermaster upgraded, purser activated and not yet healthy.
    await waitFor('quartermaster upgraded', () => /quartermaster: upgraded/.test(out), { timeoutMs: 240_000 });
    await waitFor('purser activated', () => nativeStarts(paths())['purser@h1']! > startsBefore['purser@h1']!, {
      timeoutMs: 60_000,
      intervalMs: 300,
    });
    expect(out).not.toMatch(/purser: upgraded/);
    await server.kill();
    await waitFor('the CLI to report the lost server', () => /Lost contact with Temporal/.test(err), {
      timeoutMs: 90_000,
    });
    expect(err).toContain(`Reattach later with: frameworks cluster runs watch ${CHANGE_ID}`);
    expect(child.exitCode).toBeNull();
    await server.start();

    const code = await exited;
    expect(code, `${out}\n${err}`).toBe(0);
    expect(err).toContain('Reconnected to Temporal');
    expect(`${out}\n${err}`).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(out).toMatch(/purser: upgraded/);
    for (const w of workers.filter((x) => !x.child.signalCode)) expect(w.child.exitCode, w.output()).toBeNull();

    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      const result = (await client.workflow.getHandle(CHANGE_ID).result()) as { state: string; target: string };
      expect(result).toMatchObject({ state: 'completed', target: 'v0.2.2' });
    } finally {
      await client.connection.close();
    }
    const startsAfter = nativeStarts(paths());
    expect(startsAfter['purser@h1']).toBe(startsBefore['purser@h1']! + 1);
    expect(startsAfter['quartermaster@h1']).toBe(startsBefore['quartermaster@h1']! + 1);
    const s = await snapshot(paths());
    expect(s['purser@h1']).toMatchObject({ identity: slow.checksum, version: 'v0.2.2', health: 200 });
    expect(s['quartermaster@h1']).toMatchObject({ identity: qm.checksum, version: 'v0.2.2', health: 200 });
  }, 600_000);
});
