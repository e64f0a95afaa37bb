// Issue 14 on the REAL lab: h1 boots real systemd and has v0.1.0 installed the way the FrameWorks provisioner installs
// it (binary at /opt/frameworks/<svc>/<svc>, /etc/frameworks/<svc>.env, frameworks-<svc>.service, no installed.json).
// The FIRST upgrade of such a host adopts each native service; here it fails: release v0.1.1 (variant lab-adopt)
// carries quartermaster's v0.1.0 tarball and ships a purser whose /health answers 500. Afterwards:
//   - purser is rolled back to exactly what the provisioner left: the bytes its unit's ExecStart runs, the unit file,
//     the env file (content, owner, mode), and systemd still runs it (`systemctl is-active`, ExecStart path present);
//   - quartermaster, whose target executable has the very bytes the provisioner installed, is adopted without a
//     restart (same MainPID) and now carries the tarball's identity.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostSpec, labPaths } from '../../lab/config';
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
  type Variant,
} from '../../lab/variants';
import { frameworksAsync, type CliResult } from '../helpers/cli';
import { releaseIdentity, snapshot } from '../helpers/lab-hosts';
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

function onH1(command: string): string {
  const r = sshTry(paths(), h1, command);
  if (r.code !== 0) throw new Error(`${command}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

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

describe('first upgrade of a host the FrameWorks provisioner installed (variant lab-adopt)', () => {
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
    expect(s['purser@h1']).toMatchObject({ identity: initial['purser@h1']!.identity, version: 'v0.1.0', health: 200 });

    // quartermaster: v0.1.1 ships the tarball whose executable the provisioner installed, so it was adopted and
    // switched to that release without a restart; the provisioner's view of it is unchanged too.
    const qm = provisionerFacts('quartermaster');
    expect(qm).toEqual(before.quartermaster);
    const record = JSON.parse(onH1(`cat ${nativePaths('quartermaster').installed}`)) as Record<string, unknown>;
    expect(record).toMatchObject({
      identity: releaseIdentity(variant.releases, 'v0.1.1', 'quartermaster'),
      layout: 'adopted',
    });
    expect(s['quartermaster@h1']).toMatchObject({ instance: initial['quartermaster@h1']!.instance, health: 200 });
  }, 300_000);
});
