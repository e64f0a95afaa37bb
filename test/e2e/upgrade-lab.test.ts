// `frameworks cluster upgrade` against the REAL lab (SPEC §6, §10; the upgrade issue's acceptance): real
// namespaced hosts over pinned SSH, a real systemd host (h1, installed the FrameWorks provisioner's way), two dockerds, the lab registry and release repository,
// a real worker process and the real CLI. Each step reads the hosts back (installed.json, pid files, container
// ids, /health) instead of trusting the CLI's report. The steps build on each other, in this order:
//   v0.1.0 (lab up) → gates refuse (rc floor, changed host key) → dry-run → upgrade v0.2.0 → rerun is a no-op
//   → v0.2.1 refused by schema/data gates → postdeploy + data migration → v0.2.1 rolls foghorn back
//   → v0.2.1 --no-rollback leaves foghorn broken → v0.3.0-rc1 (floor v0.2.0) goes ahead with the carried bridge,
//   whose floor is judged by content identity.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLabForTest, releaseLabForTest } from '../../lab/lock';
import { hostSpec, labPaths } from '../../lab/config';
import { sshTry } from '../../lab/ssh';
import { labDown, labUp, type LabState } from '../../lab/lab';
import { frameworksAsync, type CliResult } from '../helpers/cli';
import {
  containerNames,
  releaseBinaryIdentity,
  releaseIdentity,
  releaseServiceVersion,
  snapshot,
  type Snapshot,
} from '../helpers/lab-hosts';
import { temporalAddress } from '../helpers/servers';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

let state: LabState;
let worker: WorkerProcess | undefined;
let env: NodeJS.ProcessEnv;
const paths = () => labPaths(state.root);
const repo = () => state.releaseRepository!;

// Short health waits (hidden CLI overrides, healthOverrides in src/cli/runs.ts): the bad release must fail in seconds,
// not after the 90 s production deadline. Healthy fixtures answer on the first or second probe.
const HEALTHY_WAIT = { FRAMEWORKS_HEALTH_INTERVAL: '500 milliseconds', FRAMEWORKS_HEALTH_DEADLINE: '20 seconds' };
const BAD_WAIT = { FRAMEWORKS_HEALTH_INTERVAL: '500 milliseconds', FRAMEWORKS_HEALTH_DEADLINE: '3 seconds' };

function cli(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return frameworksAsync(['cluster', ...args], { ...env, ...HEALTHY_WAIT, ...extra }, 180_000);
}
const text = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;

/** Every replica at the identity and service version release `version` pins, with the lab's config, healthy. */
function expectAtRelease(s: Snapshot, version: string, only?: string[]): void {
  for (const [key, r] of Object.entries(s)) {
    const svc = key.split('@')[0]!;
    if (only && !only.includes(svc)) continue;
    // As the provisioner left it, a native replica is its binary; once adopted and upgraded, the release tarball.
    const identity =
      r.layout === 'provisioner' ? releaseBinaryIdentity(repo(), version, svc) : releaseIdentity(repo(), version, svc);
    expect(r.identity, key).toBe(identity);
    expect(r.version, key).toBe(releaseServiceVersion(repo(), version, svc));
    expect(r.configHash, key).toBe(state.installed[svc as keyof LabState['installed']]!.configHash);
    expect(r.health, key).toBe(200);
  }
}

/** Same identity and same process on every replica (optionally only the listed services). */
function expectUnchanged(before: Snapshot, after: Snapshot, only?: string[]): void {
  const pick = (s: Snapshot) =>
    Object.fromEntries(
      Object.entries(s)
        .filter(([k]) => !only || only.includes(k.split('@')[0]!))
        .map(([k, r]) => [k, { identity: r.identity, instance: r.instance, startedAt: r.startedAt }]),
    );
  expect(pick(after)).toEqual(pick(before));
}

/** `systemctl is-active frameworks-<svc>` and the SHA-256 of what the unit's ExecStart path runs, on h1. */
function provisionerView(svc: string): { active: string; execStart: string } {
  const show = sshText(
    `systemctl is-active frameworks-${svc}; systemctl show --property=ExecStart --value frameworks-${svc}`,
  );
  const [active, exec] = show.split('\n');
  const path = /path=(\S+)/.exec(exec ?? '')?.[1] ?? '';
  const sum = sshText(`sha256sum < ${path} | cut -c1-64`).trim();
  return { active: active!.trim(), execStart: `sha256:${sum}` };
}

function sshText(command: string): string {
  return sshTry(paths(), hostSpec('h1').address, command).stdout;
}

beforeAll(async () => {
  await acquireLabForTest();
  state = await labUp({ fresh: true, log: (l) => console.error(`[lab] ${l}`) });
  const dbUrl = /FRAMEWORKS_DATABASE_URL=(\S+)/.exec(readFileSync(state.envFile!, 'utf8'))![1]!;
  env = { TEMPORAL_ADDRESS: temporalAddress(), FRAMEWORKS_DATABASE_URL: dbUrl, FRAMEWORKS_MANIFEST: state.clusterFile };
  worker = await spawnWorker(state.clusterFile!, env);
  // The schema gate needs every expand migration up to the target in the ledgers (v0.1.0's baseline included).
  const expand = await cli(['migrate', '--phase', 'expand', '--to-version', 'v0.2.0', '--yes']);
  expect(expand.code, text(expand)).toBe(0);
}, 240_000);

afterAll(async () => {
  try {
    await worker?.kill('SIGTERM');
    await labDown();
  } finally {
    releaseLabForTest();
  }
}, 180_000);

describe('cluster upgrade on the lab', () => {
  let initial: Snapshot;
  let upgraded: Snapshot;
  /** `upgrade plan --json`'s order for v0.2.0 (v0.2.1 has the same services and dependencies). */
  let order: string[];

  it('starts at v0.1.0 as the lab installed it', async () => {
    initial = await snapshot(paths());
    expectAtRelease(initial, 'v0.1.0');
    // h1's natives are as the FrameWorks provisioner installs them: no installed.json, found by unit and binary.
    expect(initial['quartermaster@h1']!.layout).toBe('provisioner');
    expect(initial['purser@h1']!.layout).toBe('provisioner');
  });

  it('refuses --version rc before any host changes: v0.3.0-rc1 needs v0.2.0 and the cluster runs v0.1.0', async () => {
    const r = await cli(['upgrade', '--all', '--version', 'rc', '--yes']);
    expect(r.code, text(r)).toBe(1);
    expect(r.stdout).toMatch(/\[gate\] compatibility floor: REFUSE/);
    // The refusal names the evidence per replica: commodore's image is pinned only by v0.1.0's manifest …
    expect(r.stdout).toMatch(
      /commodore on h2 runs v0\.1\.0 \(by content identity, pinned by v0\.1\.0\)[^\n]*below v0\.3\.0-rc1's compatibility floor v0\.2\.0; deploy v0\.2\.0 first/,
    );
    // … while bridge, whose v0.1.0 image v0.2.0 carries, is on the v0.2.x line by content, so it is not below.
    expect(r.stdout).toMatch(/bridge on h3: v0\.2\.\d by content identity \(pinned by v0\.1\.0, v0\.2\.0[^)]*\)/);
    expect(r.stdout).not.toMatch(/bridge on h3 runs v0\.1\.0[^\n]*below/);
    expect(text(r)).toContain('refused before any host changed');
    expectUnchanged(initial, await snapshot(paths()));
  }, 120_000);

  it('refuses a changed host key before any host changes (the worker reads known_hosts when it connects)', async () => {
    // A second cluster over the SAME hosts whose known_hosts pins h1's key for h2; its own worker (task queue
    // fw-lab-badkey) serves it. Nothing may be staged or restarted anywhere, h1 included.
    const dir = mkdtempSync(join(tmpdir(), 'fw-badkey-'));
    let second: WorkerProcess | undefined;
    try {
      const lines = readFileSync(paths().knownHosts, 'utf8').trim().split('\n');
      const h1Key = lines[0]!.split(' ').slice(1).join(' ');
      writeFileSync(join(dir, 'known_hosts'), `${lines[0]}\n10.77.1.12 ${h1Key}\n${lines[2]}\n`);
      // Same FrameWorks manifest and hosts file; its own orchestrator.yaml names the cluster and the bad pins.
      const manifest = join(dir, 'cluster.yaml');
      const labDir = dirname(state.clusterFile!);
      writeFileSync(manifest, readFileSync(state.clusterFile!, 'utf8'));
      writeFileSync(join(dir, 'hosts.yaml'), readFileSync(join(labDir, 'hosts.yaml'), 'utf8'));
      writeFileSync(
        join(dir, 'orchestrator.yaml'),
        readFileSync(join(labDir, 'orchestrator.yaml'), 'utf8')
          .replace(/^cluster: lab$/m, 'cluster: lab-badkey')
          .replace(`known_hosts: ${paths().knownHosts}`, `known_hosts: ${join(dir, 'known_hosts')}`),
      );
      second = await spawnWorker(manifest, env);
      const r = await cli(['upgrade', '--all', '--version', 'v0.2.0', '--yes', '--manifest', manifest]);
      expect(r.code, text(r)).toBe(1);
      expect(r.stdout).toMatch(/\[gate\] services detected on every host: REFUSE — HOST KEY CHANGED for 10\.77\.1\.12/);
      expect(text(r)).toContain('refused before any host changed');
      expectUnchanged(initial, await snapshot(paths()));
    } finally {
      await second?.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('--dry-run prints "would upgrade …" per host, the carried bridge as a skip, and changes nothing', async () => {
    const r = await cli(['upgrade', '--all', '--version', 'v0.2.0', '--dry-run']);
    expect(r.code, text(r)).toBe(0);
    for (const line of [
      'would upgrade quartermaster on h1 from v0.1.0 to v0.2.0',
      'would upgrade commodore on h2 from v0.1.0 to v0.2.0',
      'would upgrade commodore on h3 from v0.1.0 to v0.2.0',
      'would upgrade foghorn on h2 from v0.1.0 to v0.2.0',
      'would upgrade purser on h1 from v0.1.0 to v0.2.0',
    ]) {
      expect(r.stdout).toContain(line);
    }
    expect(r.stdout).toMatch(/bridge on h3: already at v0\.1\.0 \(identity and config match\), skip/);
    expect(r.stdout).toContain('nothing changed');
    expectUnchanged(initial, await snapshot(paths()));
  }, 120_000);

  it('--all --version v0.2.0 --yes upgrades every service in plan order; the carried bridge is not restarted', async () => {
    const plan = await cli(['upgrade', 'plan', '--version', 'v0.2.0', '--json']);
    expect(plan.code, text(plan)).toBe(0);
    order = (JSON.parse(plan.stdout) as { order: string[] }).order;
    expect([...order].sort()).toEqual(['bridge', 'commodore', 'foghorn', 'purser', 'quartermaster']);

    const r = await cli(['upgrade', '--all', '--version', 'v0.2.0', '--yes']);
    expect(r.code, text(r)).toBe(0);
    // The run reports the services in the plan's order …
    const reported = [...r.stdout.matchAll(/^ {2}[✓=] (\S+): (upgraded|skipped)$/gm)].map((m) => m[1]);
    expect(reported).toEqual(order);
    expect(r.stdout).toMatch(/^ {2}= bridge: skipped$/m);

    upgraded = await snapshot(paths());
    expectAtRelease(upgraded, 'v0.2.0');
    // Adopted on this first upgrade, and the provisioner's view still works: the unit is active and its ExecStart
    // path (now a link into current/) resolves to the new release's executable.
    for (const svc of ['quartermaster', 'purser']) {
      expect(upgraded[`${svc}@h1`]!.layout, svc).toBe('installed');
      expect(provisionerView(svc), svc).toEqual({
        active: 'active',
        execStart: releaseBinaryIdentity(repo(), 'v0.2.0', svc),
      });
    }
    // … and the hosts agree: every restarted replica started after the one before it in plan order.
    const restarted = Object.entries(upgraded)
      .filter(([k]) => !k.startsWith('bridge@'))
      .sort(([a], [b]) => order.indexOf(a.split('@')[0]!) - order.indexOf(b.split('@')[0]!));
    for (const [key, rep] of restarted) expect(rep.instance, key).not.toBe(initial[key]!.instance);
    const starts = restarted.map(([, rep]) => Date.parse(rep.startedAt));
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    // Carried: same container, same start, v0.1.0 label and digest.
    expectUnchanged(initial, upgraded, ['bridge']);
    expect(upgraded['bridge@h3']!.version).toBe('v0.1.0');
    // Finalized: no `-previous` container survives a healthy host.
    expect(await containerNames(paths(), 'h2')).toEqual(['frameworks-commodore', 'frameworks-foghorn']);
    expect(await containerNames(paths(), 'h3')).toEqual(['frameworks-bridge', 'frameworks-commodore']);
  }, 180_000);

  it('running the same upgrade again changes nothing: every service skipped, same pids and containers', async () => {
    const r = await cli(['upgrade', '--all', '--version', 'v0.2.0', '--yes']);
    expect(r.code, text(r)).toBe(0);
    const statuses = [...r.stdout.matchAll(/^ {2}\S+ (\S+): (upgraded|skipped|failed)$/gm)].map((m) => m[2]);
    expect(statuses).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    expectUnchanged(upgraded, await snapshot(paths()));
  }, 120_000);

  it('refuses v0.2.1 until v0.2.0 postdeploy migrations and the required data migration are done', async () => {
    const r = await cli(['upgrade', '--all', '--version', 'v0.2.1', '--yes']);
    expect(r.code, text(r)).toBe(1);
    expect(r.stdout).toMatch(/\[gate\] schema gate: REFUSE/);
    expect(r.stdout).toMatch(/\[gate\] prior data migrations completed: REFUSE/);
    expect(text(r)).toContain('refused before any host changed');
    expectUnchanged(upgraded, await snapshot(paths()));

    const post = await cli(['migrate', '--phase', 'postdeploy', '--to-version', 'v0.2.0', '--yes']);
    expect(post.code, text(post)).toBe(0);
    const data = await cli(['data-migrate', 'run', 'purser.invoice-line-items']);
    expect(data.code, text(data)).toBe(0);
  }, 180_000);

  it('the bad release v0.2.1: foghorn fails health and is rolled back; earlier stay, later untouched; exit 1', async () => {
    const r = await cli(['upgrade', '--all', '--version', 'v0.2.1', '--yes'], BAD_WAIT);
    expect(r.code, text(r)).toBe(1);
    expect(r.stderr).toMatch(/upgrade failed on h2, rolled back to v0\.2\.0: health check failed on h2/);
    expect(r.stderr).toMatch(/HTTP 500/);
    expect(r.stderr).toMatch(/Failed: \[foghorn\]/);
    expect(r.stdout).toMatch(/^ {2}↩ foghorn: rolled-back$/m);

    const after = await snapshot(paths());
    // foghorn: back at v0.2.0's digest and config, healthy. It is the provisioner's compose stack, so compose
    // recreated the container from the kept compose file and .env (a new container id; its configuration is the
    // pre-upgrade one, compared field by field in test/e2e/provisioner-lab.test.ts).
    expect(after['foghorn@h2']).toMatchObject({
      identity: releaseIdentity(repo(), 'v0.2.0', 'foghorn'),
      version: 'v0.2.0',
      configHash: upgraded['foghorn@h2']!.configHash,
      health: 200,
    });
    expect(await containerNames(paths(), 'h2')).toEqual(['frameworks-commodore', 'frameworks-foghorn']);
    // Earlier in the order (carried into v0.2.1 unchanged, so skipped): still upgraded, same processes.
    const earlier = order.slice(0, order.indexOf('foghorn'));
    const later = order.slice(order.indexOf('foghorn') + 1);
    expectAtRelease(after, 'v0.2.0', earlier);
    expectUnchanged(upgraded, after, earlier);
    // Later: never touched.
    expectUnchanged(upgraded, after, later);
  }, 180_000);

  it('with --no-rollback the broken foghorn stays upgraded and the run fails', async () => {
    const before = await snapshot(paths());
    const r = await cli(['upgrade', '--all', '--version', 'v0.2.1', '--yes', '--no-rollback'], BAD_WAIT);
    expect(r.code, text(r)).toBe(1);
    expect(r.stderr).toMatch(/upgrade failed on h2: health check failed on h2/);
    expect(text(r)).not.toMatch(/rolled back to/);
    const after = await snapshot(paths());
    expect(after['foghorn@h2']).toMatchObject({
      identity: releaseIdentity(repo(), 'v0.2.1', 'foghorn'),
      version: 'v0.2.1',
      health: 500,
    });
    expect(after['foghorn@h2']!.instance).not.toBe(before['foghorn@h2']!.instance);
    expectUnchanged(before, after, ['quartermaster', 'commodore', 'purser', 'bridge']);
  }, 180_000);

  it('v0.3.0-rc1 (floor v0.2.0) upgrades the cluster the v0.2.x line runs, carried bridge (v0.1.0 label) included', async () => {
    const before = await snapshot(paths());
    // bridge still carries its v0.1.0 label and image: the label alone would read "below the floor".
    expect(before['bridge@h3']!.version).toBe('v0.1.0');
    const r = await cli(['upgrade', '--all', '--version', 'rc', '--yes']);
    expect(r.code, text(r)).toBe(0);
    expect(r.stdout).toMatch(/\[gate\] compatibility floor: ok/);
    expect(r.stdout).toMatch(/bridge on h3: v0\.2\.\d by content identity \(pinned by v0\.1\.0, v0\.2\.0[^)]*\)/);
    expect(r.stdout).toMatch(/^ {2}✓ bridge: upgraded$/m);
    const after = await snapshot(paths());
    expectAtRelease(after, 'v0.3.0-rc1');
  }, 240_000);
});
