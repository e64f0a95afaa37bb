// Issue 14 on the REAL lab, installed the way the FrameWorks provisioner installs v0.1.0: on h1 (real systemd) the
// natives as binary at /opt/frameworks/<svc>/<svc>, /etc/frameworks/<svc>.env, frameworks-<svc>.service (no
// installed.json); on h2/h3 the docker services as compose stacks in /opt/frameworks/<svc> (docker-compose.yml, .env,
// container frameworks-<svc>), brought up with the host's docker-compose. In order, on one lab (variant lab-adopt):
//   1. `status` shows every replica with version, identity (tarball checksum proven from the binary's bytes; image
//      digest) and health, all up to date against v0.1.0;
//   2. `upgrade --all` to the release that is installed is a true skip: nothing adopted, staged or restarted;
//   3. a bad image (v0.1.2: foghorn answers 500) rolls the compose stack back to byte-identical files and container
//      config, its volume kept, and `docker-compose ps` lists it running; nothing else was touched;
//   4. a bad purser (v0.1.1) rolls the adopted native back to what the provisioner left (binary bytes, unit file, env
//      file); quartermaster, whose bytes v0.1.1 carries, is skipped (same pid, not adopted);
//   5. `upgrade --all` to v0.2.0 adopts and upgrades every service; systemd and compose still see them; a rerun
//      changes nothing (pids and container ids unchanged).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostSpec, labPaths, SERVICES } from '../../lab/config';
import { labDown, labUp, type LabState } from '../../lab/lab';
import { nativePaths } from '../../lab/layout';
import { acquireLabForTest, releaseLabForTest } from '../../lab/lock';
import { provisionerPaths } from '../../lab/provisioner';
import { sshTry } from '../../lab/ssh';
import {
  buildVariantNative,
  catalogReleases,
  copyRelease,
  createVariant,
  editYaml,
  releaseFile,
  type Variant,
} from '../../lab/variants';
import { parse } from 'yaml';
import { frameworksAsync, type CliResult } from '../helpers/cli';
import { releaseIdentity, snapshot, type Snapshot } from '../helpers/lab-hosts';
import { composeHostPsCommand, composePaths, parseComposePs } from '../../src/domain/hosts/compose';
import { shellCommand } from '../../src/domain/hosts/shell-quote';
import { StatusReportSchema } from '../../src/contracts/status';
import { temporalAddress } from '../helpers/servers';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

let state: LabState;
let variant: Variant;
let worker: WorkerProcess | undefined;
let env: NodeJS.ProcessEnv;
const paths = () => labPaths(state.root);
const h1 = hostSpec('h1').address;
const text = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;

function cli(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return frameworksAsync(['cluster', ...args, '--manifest', variant.cluster], { ...env, ...extra }, 240_000);
}

function onHost(host: 'h1' | 'h2' | 'h3', command: string): string {
  const r = sshTry(paths(), hostSpec(host).address, command);
  if (r.code !== 0) throw new Error(`${host}: ${command}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}
const onH1 = (command: string): string => onHost('h1', command);

/** The stack's containers as the host's own compose lists them in the service folder (v1 table or v2 JSON). */
function composePs(host: 'h2' | 'h3', svc: string): { name: string; running: boolean }[] {
  const out = onHost(host, shellCommand(composeHostPsCommand(svc))).trim();
  if (out.startsWith('[') || out.startsWith('{')) {
    return parseComposePs(out).map((c) => ({ name: c.name, running: c.state === 'running' }));
  }
  // v1: a header, a dashed line, then `<name>  <command>  <state>  <ports>` per container.
  const rows = out.split('\n').slice(out.split('\n').findIndex((l) => /^-+$/.test(l)) + 1);
  return rows
    .filter((l) => l.trim() !== '')
    .map((l) => ({ name: l.split(/\s+/)[0]!, running: /\s{2}Up(\s|$)/.test(l) }));
}

/** Everything of a compose stack the provisioner's tools look at, and the container's configuration. */
function stackFacts(host: 'h2' | 'h3', svc: string) {
  const p = composePaths(svc);
  const [c] = JSON.parse(onHost(host, `docker inspect ${p.container}`)) as {
    Id: string;
    Image: string;
    Config: Record<string, unknown>;
    HostConfig: Record<string, unknown>;
    Mounts: { Type: string; Name?: string; Destination: string }[];
    NetworkSettings: { Networks: Record<string, unknown> };
    State: { Running: boolean };
  }[];
  // Config.Hostname defaults to the container id's prefix, which a recreated container cannot keep.
  const { Hostname: _hostname, ...config } = c!.Config;
  return {
    composeFile: onHost(host, `cat ${p.composeFile}`),
    envFile: onHost(host, `cat ${p.env}`),
    envOwnerMode: onHost(host, `stat -c '%U:%G %a' ${p.env}`).trim(),
    config,
    hostConfig: c!.HostConfig,
    mounts: c!.Mounts.map((m) => ({ type: m.Type, name: m.Name, destination: m.Destination })),
    networks: Object.keys(c!.NetworkSettings.Networks).sort(),
    image: c!.Image,
    running: c!.State.Running,
    id: c!.Id,
  };
}

/** The replica keys (`<svc>@<host>`) of the lab, e.g. to compare process instances across runs. */
const instances = (s: Snapshot) => Object.fromEntries(Object.entries(s).map(([k, r]) => [k, r.instance]));
const dockerStacks = SERVICES.filter((s) => s.mode === 'docker').flatMap((s) =>
  s.hosts.map((h) => ({ svc: s.name, host: h as 'h2' | 'h3' })),
);

/** Everything of a native service the provisioner's tools look at, read on h1 over SSH. */
function provisionerFacts(svc: string) {
  const p = provisionerPaths(svc);
  const exec = onH1(`systemctl show --property=ExecStart --value ${p.unit}`);
  const execPath = /path=(\S+)/.exec(exec)?.[1] ?? '';
  return {
    /** SHA-256 of what ExecStart runs (after adoption the path is a link into current/). */
    execStartSha256: onH1(`sha256sum < ${execPath} | cut -c1-64`).trim(),
    execPath,
    unitFile: onH1(`cat ${p.unitFile}`),
    envFile: onH1(`cat ${p.env}`),
    envOwnerMode: onH1(`stat -c '%U:%G %a' ${p.env}`).trim(),
    active: sshTry(paths(), h1, `systemctl is-active ${p.unit}`).stdout.trim(),
    mainPid: onH1(`systemctl show --property=MainPID --value ${p.unit}`).trim(),
  };
}

beforeAll(async () => {
  await acquireLabForTest();
  state = await labUp({ fresh: true, log: (l) => console.error(`[lab] ${l}`) });
  variant = createVariant(paths(), { name: 'lab-adopt', dir: mkdtempSync(join(tmpdir(), 'fw-lab-adopt-')) });
  const dbUrl = /FRAMEWORKS_DATABASE_URL=(\S+)/.exec(readFileSync(state.envFile!, 'utf8'))![1]!;
  env = { TEMPORAL_ADDRESS: temporalAddress(), FRAMEWORKS_DATABASE_URL: dbUrl };
  worker = await spawnWorker(variant.cluster, env);
  const expand = await cli(['migrate', '--phase', 'expand', '--to-version', 'v0.2.0', '--yes']);
  expect(expand.code, text(expand)).toBe(0);
}, 300_000);

afterAll(async () => {
  try {
    await worker?.kill('SIGTERM');
    await labDown();
    if (variant) rmSync(variant.dir, { recursive: true, force: true });
  } finally {
    releaseLabForTest();
  }
}, 180_000);

describe('a lab installed in the FrameWorks provisioner layout (variant lab-adopt)', () => {
  it('status shows every replica with version, identity and health: all up to date against v0.1.0', async () => {
    const r = await cli(['status', '--version', 'v0.1.0', '--json']);
    expect(r.code, text(r)).toBe(0);
    const replicas = StatusReportSchema.parse(JSON.parse(r.stdout)).status!.replicas;
    expect(replicas).toHaveLength(SERVICES.reduce((n, s) => n + s.hosts.length, 0));
    for (const x of replicas) {
      // Native: the v0.1.0 tarball, proven from the installed binary's bytes; docker: the stack's image digest.
      expect(x, `${x.service}@${x.host}`).toMatchObject({
        deployed: { version: 'v0.1.0', identity: releaseIdentity(variant.releases, 'v0.1.0', x.service) },
        running: true,
        health: 'healthy',
        state: 'up to date',
        upgradeAvailable: false,
      });
    }
  }, 120_000);

  it('upgrade --all to the release already installed changes nothing: no adoption, no staging, no restart', async () => {
    const before = await snapshot(paths());
    const stacks = dockerStacks.map(({ svc, host }) => stackFacts(host, svc));
    const r = await cli(['upgrade', '--all', '--version', 'v0.1.0', '--yes']);
    expect(r.code, text(r)).toBe(0);
    for (const svc of SERVICES) expect(r.stdout).toMatch(new RegExp(`^ {2}= ${svc.name}: skipped$`, 'm'));
    const after = await snapshot(paths());
    expect(instances(after)).toEqual(instances(before));
    expect(after).toEqual(before);
    for (const svc of ['quartermaster', 'purser']) {
      expect(after[`${svc}@h1`]!.layout).toBe('provisioner');
      onH1(`test ! -e ${nativePaths(svc).installed} && test ! -e ${nativePaths(svc).releases}`);
    }
    expect(dockerStacks.map(({ svc, host }) => stackFacts(host, svc))).toEqual(stacks);
  }, 300_000);
});

describe('first upgrades of hosts the FrameWorks provisioner installed (variant lab-adopt)', () => {
  it('a failing first upgrade rolls the adopted purser back to byte-identical binary, unit and env file', async () => {
    const bad = buildVariantNative(variant, 'purser', 'v0.1.1', { healthStatus: 500 });
    copyRelease(variant, 'v0.1.0', 'v0.1.1', (m) => {
      for (const s of m.services as Record<string, unknown>[]) if (s.name === 'purser') s.service_version = 'v0.1.1';
      for (const n of m.native_binaries as { name: string; artifacts: Record<string, unknown>[] }[]) {
        if (n.name !== 'purser') continue;
        n.artifacts = [
          { arch: 'linux-amd64', file: bad.file, url: bad.url, checksum: bad.checksum, size_bytes: bad.size_bytes },
        ];
      }
    });
    editYaml(catalogReleases(variant), (c) =>
      (c.releases as Record<string, unknown>[]).push({ version: 'v0.1.1', min_cli_version: 'v0.2.0' }),
    );
    const before = { purser: provisionerFacts('purser'), quartermaster: provisionerFacts('quartermaster') };
    expect(before.purser.execPath).toBe(provisionerPaths('purser').binary);
    expect(before.purser.active).toBe('active');
    const initial = await snapshot(paths());
    expect(initial['purser@h1']!.layout).toBe('provisioner');

    const r = await cli(['upgrade', '--all', '--version', 'v0.1.1', '--yes'], {
      FRAMEWORKS_HEALTH_INTERVAL: '500 milliseconds',
      FRAMEWORKS_HEALTH_DEADLINE: '3 seconds',
    });
    expect(r.code, text(r)).toBe(1);
    expect(r.stderr).toMatch(/upgrade failed on h1, rolled back to v0\.1\.0: health check failed on h1/);
    expect(r.stdout).toMatch(/^ {2}↩ purser: rolled-back$/m);

    // purser: exactly what the provisioner left, and systemd runs it (a restarted process: the bad one ran meanwhile).
    const after = provisionerFacts('purser');
    expect(after).toMatchObject({
      execStartSha256: before.purser.execStartSha256,
      execPath: before.purser.execPath,
      unitFile: before.purser.unitFile,
      envFile: before.purser.envFile,
      envOwnerMode: before.purser.envOwnerMode,
      active: 'active',
    });
    expect(after.mainPid).not.toBe(before.purser.mainPid);
    onH1(`test -x ${after.execPath}`);
    const s = await snapshot(paths());
    // Adopted as the v0.1.0 release its bytes were proven to come from (the tarball's identity).
    expect(s['purser@h1']).toMatchObject({
      identity: releaseIdentity(variant.releases, 'v0.1.0', 'purser'),
      version: 'v0.1.0',
      health: 200,
    });

    // quartermaster: v0.1.1 carries the very tarball whose executable the provisioner installed, so it is at the
    // target already: skipped, not adopted, not restarted.
    expect(r.stdout).toMatch(/^ {2}= quartermaster: skipped$/m);
    const qm = provisionerFacts('quartermaster');
    expect(qm).toEqual(before.quartermaster);
    onH1(`test ! -e ${nativePaths('quartermaster').installed}`);
    expect(s['quartermaster@h1']).toMatchObject({
      instance: initial['quartermaster@h1']!.instance,
      layout: 'provisioner',
      health: 200,
    });
  }, 300_000);

  it('a bad image rolls the compose stack back to byte-identical files and container config, volume kept', async () => {
    const bad = parse(readFileSync(releaseFile(variant, 'v0.2.1'), 'utf8')) as {
      services: { name: string; image: string; digest: string }[];
    };
    const badFoghorn = bad.services.find((x) => x.name === 'foghorn')!;
    copyRelease(variant, 'v0.1.0', 'v0.1.2', (m) => {
      for (const x of m.services as Record<string, unknown>[]) {
        if (x.name !== 'foghorn') continue;
        Object.assign(x, { service_version: 'v0.2.1', image: badFoghorn.image, digest: badFoghorn.digest });
      }
    });
    editYaml(catalogReleases(variant), (c) =>
      (c.releases as Record<string, unknown>[]).push({ version: 'v0.1.2', min_cli_version: 'v0.2.0' }),
    );
    onHost('h2', 'docker exec frameworks-foghorn sh -c "echo kept > /var/lib/foghorn/marker"');
    const before = stackFacts('h2', 'foghorn');
    const others = await snapshot(paths());

    const r = await cli(['upgrade', '--all', '--version', 'v0.1.2', '--yes'], {
      FRAMEWORKS_HEALTH_INTERVAL: '500 milliseconds',
      FRAMEWORKS_HEALTH_DEADLINE: '3 seconds',
    });
    expect(r.code, text(r)).toBe(1);
    expect(r.stderr).toMatch(/upgrade failed on h2, rolled back to v0\.1\.0: health check failed on h2/);
    expect(r.stdout).toMatch(/^ {2}↩ foghorn: rolled-back$/m);

    // The compose files byte for byte, the container's configuration (all but the id-derived hostname), its mounts
    // and networks, and the image; the container itself was recreated (by compose, twice).
    const after = stackFacts('h2', 'foghorn');
    expect({ ...after, id: '' }).toEqual({ ...before, id: '' });
    expect(after.id).not.toBe(before.id);
    expect(onHost('h2', 'docker exec frameworks-foghorn cat /var/lib/foghorn/marker').trim()).toBe('kept');
    onHost('h2', `test ! -e ${composePaths('foghorn').dir}/.frameworks-previous`);
    expect(composePs('h2', 'foghorn')).toEqual([{ name: 'frameworks-foghorn', running: true }]);
    const s = await snapshot(paths());
    expect(s['foghorn@h2']).toMatchObject({ identity: others['foghorn@h2']!.identity, version: 'v0.1.0', health: 200 });
    // Nothing else was touched: every other replica is the same process.
    const unchanged = (x: Snapshot) =>
      Object.fromEntries(Object.entries(instances(x)).filter(([k]) => k !== 'foghorn@h2'));
    expect(unchanged(s)).toEqual(unchanged(others));
  }, 300_000);

  it('upgrade --all to v0.2.0 adopts and upgrades every service; the provisioner views work; a rerun changes nothing', async () => {
    const before = await snapshot(paths());
    const r = await cli(['upgrade', '--all', '--version', 'v0.2.0', '--yes']);
    expect(r.code, text(r)).toBe(0);
    const after = await snapshot(paths());
    for (const [key, x] of Object.entries(after)) {
      const svc = key.split('@')[0]!;
      expect(x, key).toMatchObject({ identity: releaseIdentity(variant.releases, 'v0.2.0', svc), health: 200 });
    }
    // bridge is carried in v0.2.0 (the same image): not recreated.
    expect(after['bridge@h3']!.instance).toBe(before['bridge@h3']!.instance);
    expect(after['foghorn@h2']!.instance).not.toBe(before['foghorn@h2']!.instance);
    for (const svc of ['quartermaster', 'purser']) {
      const f = provisionerFacts(svc);
      expect(f.active).toBe('active');
      expect(f.execPath).toBe(provisionerPaths(svc).binary);
      onH1(`test -x ${f.execPath}`);
      expect(after[`${svc}@h1`]!.layout).toBe('installed');
    }
    for (const { svc, host } of dockerStacks) {
      expect(composePs(host, svc), `${svc}@${host}`).toEqual([{ name: `frameworks-${svc}`, running: true }]);
      expect(onHost(host, `cat ${composePaths(svc).composeFile}`)).toContain(
        `@${releaseIdentity(variant.releases, 'v0.2.0', svc)}`,
      );
    }
    expect(onHost('h2', 'docker exec frameworks-foghorn cat /var/lib/foghorn/marker').trim()).toBe('kept');

    const again = await cli(['upgrade', '--all', '--version', 'v0.2.0', '--yes']);
    expect(again.code, text(again)).toBe(0);
    for (const svc of SERVICES) expect(again.stdout).toMatch(new RegExp(`^ {2}= ${svc.name}: skipped$`, 'm'));
    expect(await snapshot(paths())).toEqual(after);
  }, 420_000);
});
