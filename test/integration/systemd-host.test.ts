// The native upgrade path against a REAL systemd (issue 14): a Debian host booted by systemd-nspawn (lab/nspawn.ts;
// the rootfs is built once into .data/nspawn, ~40 s, then reused) reached over real SSH with a pinned host key.
// Own layout: restart, SIGHUP reload (same MainPID), `systemctl show` state, Restart=always after SIGKILL, journal
// lines of a failing unit. Provisioner layout (lab/provisioner.ts): detection by unit and binary, adoption on the
// first upgrade, rollback of a failed first upgrade to byte-identical binary/unit/env, resumable steps.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeHealth } from '../../src/activities/hosts/health';
import { activateNative, nativeDiagnostics, rollbackNative, stageNative } from '../../src/activities/hosts/native';
import {
  activateNativeAdopting,
  adoptNative,
  detectNativeAny,
  rollbackNativeAny,
} from '../../src/activities/hosts/provisioner';
import { connectSsh, exec, type SshConnection } from '../../src/activities/ssh/client';
import { FailureType } from '../../src/errors';
import type { ServiceManager } from '../../src/contracts/cluster';
import {
  configHash,
  copyFileAtomicCommand,
  nativePaths,
  renderEnvFile,
  renderInstalledJson,
  switchSymlinkCommand,
  writeFileAtomicCommand,
} from '../../src/domain/hosts/commands';
import { adoptCopyReleaseCommand, parseShowChain, systemdShowChainCommand } from '../../src/domain/hosts/provisioner';
import { nativeProgram } from '../../lab/fixtures/native-program';
import {
  bootNspawnHost,
  createPointToPoint,
  deletePointToPoint,
  ensureRootfs,
  stopNspawnHost,
  type NspawnHost,
  type PointToPoint,
} from '../../lab/nspawn';
import { provisionerEnvFile, provisionerPaths, provisionerUnit } from '../../lab/provisioner';
import { installProvisionerNative } from '../../lab/systemd-hosts';
import { waitFor } from '../../lab/proc';
import { generateEd25519 } from '../helpers/sshd';

const SYSTEMD: ServiceManager = { type: 'systemd' };
const OWN = 'quartermaster';
const PORTS = { quartermaster: 18001, purser: 18003, foghorn: 18004 } as const;

let work: string;
let net: PointToPoint | undefined;
let host: NspawnHost | undefined;
let conn: SshConnection;

interface Tarball {
  path: string;
  identity: string;
  binary: string;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A release tarball holding `<svc>` at its root (the layout contract). */
function tarball(svc: string, tag: string, program: string): Tarball {
  const dir = join(work, `${svc}-${tag}`);
  mkdirSync(dir);
  const binary = join(dir, svc);
  writeFileSync(binary, program);
  chmodSync(binary, 0o755);
  const path = join(work, `${svc}-${tag}.tar.gz`);
  execFileSync('tar', ['-czf', path, '-C', dir, svc]);
  return { path, identity: `sha256:${sha256(readFileSync(path))}`, binary };
}

const program = (svc: keyof typeof PORTS, version: string, healthStatus = 200, envFile?: string): string =>
  nativeProgram({
    service: svc,
    version,
    port: PORTS[svc],
    healthStatus,
    dataMigrations: false,
    ...(envFile ? { envFile } : {}),
  });

async function sh(script: string, stdin?: string): Promise<string> {
  const r = await exec(conn, ['sh', '-c', script], { timeoutMs: 30_000, ...(stdin ? { stdin } : {}) });
  if (r.code !== 0) throw new Error(`${script}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function mainPid(svc: string): Promise<number> {
  return Number((await sh(`systemctl show --property=MainPID --value frameworks-${svc}`)).trim());
}

interface Health {
  version: string;
  config_hash: string;
  pid: number;
}

async function health(svc: keyof typeof PORTS): Promise<Health | null> {
  // The fixture listens on 0.0.0.0, so the root namespace reaches it over the point-to-point link.
  try {
    const res = await fetch(`http://${net!.address}:${PORTS[svc]}/health`, { signal: AbortSignal.timeout(2_000) });
    return res.status === 200 ? ((await res.json()) as Health) : null;
  } catch {
    return null;
  }
}

/** Waits for /health 200 with the given version (restarts take a moment on two shared cores). */
async function served(svc: keyof typeof PORTS, version: string): Promise<Health> {
  let h: Health | null = null;
  await expect
    .poll(
      async () => {
        h = await health(svc);
        return h?.version;
      },
      { timeout: 30_000, interval: 250 },
    )
    .toBe(version);
  return h!;
}

/** Installs `svc` as the FrameWorks provisioner would, over OpenSSH (lab/systemd-hosts.ts, what `lab up` uses). */
function provision(svc: keyof typeof PORTS, bin: string, env: Record<string, string>, reload = true): void {
  const binary = readFileSync(bin);
  installProvisionerNative({
    keys: { clientKey: join(work, 'client'), knownHosts: join(work, 'known_hosts') },
    address: net!.address,
    svc,
    binary,
    envText: provisionerEnvFile(env),
    reloadOnSighup: reload,
    artifact: { checksum: `sha256:${sha256(binary)}`, url: `https://releases.example/${svc}` },
    restartSec: 1,
  });
}

/** What the provisioner's view consists of: bytes (through links) and the env file's mode and owner. */
async function provisionerView(svc: string): Promise<Record<string, string>> {
  const p = provisionerPaths(svc);
  const out = await sh(
    `sha256sum < ${p.binary}; sha256sum < ${p.unitFile}; sha256sum < ${p.env}; stat -c '%a %U:%G' ${p.env}; ` +
      `systemctl is-active ${p.unit}; test -x "$(systemctl show -P ExecStart ${p.unit} | sed -n 's/.*path=\\([^ ;]*\\).*/\\1/p')" && echo exec-ok`,
  );
  const [bin, unit, env, envStat, active, execOk] = out.trim().split('\n');
  return { bin: bin!, unit: unit!, env: env!, envStat: envStat!, active: active!, execOk: execOk! };
}

beforeAll(async () => {
  const rootfs = await ensureRootfs();
  work = mkdtempSync(join(tmpdir(), 'fw-systemd-'));
  const slot = process.pid % 64;
  const name = `fwsd${process.pid % 100000}`;
  net = createPointToPoint(name, name, slot);
  const client = generateEd25519(work, 'client');
  host = await bootNspawnHost({
    name: 'sdhost',
    rootfs: rootfs.dir,
    netns: net.netns,
    address: net.address,
    dir: join(work, 'host'),
    authorizedKeys: [client.publicLine],
  });
  writeFileSync(join(work, 'known_hosts'), `${host.knownHostsLine}\n`);
  conn = await connectSsh({
    host: net.address,
    port: 22,
    username: 'root',
    privateKey: client.privateKey,
    knownHosts: host.knownHostsLine,
  });
  await sh('systemctl is-system-running --wait || true');
}, 900_000);

afterAll(async () => {
  await conn?.close();
  if (host) await stopNspawnHost(host);
  if (net) deletePointToPoint(net);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('own layout under real systemd', () => {
  const p = nativePaths(OWN);
  const env = (level: string) => renderEnvFile({ QUARTERMASTER_LOG_LEVEL: level });
  let v1: Tarball;
  let v2: Tarball;
  let broken: Tarball;

  beforeAll(async () => {
    v1 = tarball(OWN, 'v1', program(OWN, 'v0.1.0'));
    v2 = tarball(OWN, 'v2', program(OWN, 'v0.2.0'));
    broken = tarball(
      OWN,
      'broken',
      '#!/bin/sh\necho "fatal: cannot open /var/lib/quartermaster: permission denied (DB_PASSWORD=hunter2)" >&2\nexit 2\n',
    );
    // The unit a fresh orchestrator install runs under: ExecStart through `current`, env in the service folder.
    const unit = [
      '[Service]',
      `EnvironmentFile=-${p.env}`,
      `ExecStart=${p.executable}`,
      'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=always',
      'RestartSec=1',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');
    await sh(`cat > /etc/systemd/system/frameworks-${OWN}.service && systemctl daemon-reload`, unit);
  });

  it('restarts, reloads on SIGHUP when only config changed, and reads state from systemctl show', async () => {
    expect(await detectNativeAny(conn, OWN, undefined, SYSTEMD)).toMatchObject({ present: false, layout: null });
    await stageNative(conn, OWN, undefined, v1.path, v1.identity);
    const act = (t: Tarball, version: string, level: string, reloadOnSighup = true) =>
      activateNative(conn, OWN, undefined, {
        identity: t.identity,
        version,
        envText: env(level),
        manager: SYSTEMD,
        reloadOnSighup,
      });
    expect((await act(v1, 'v0.1.0', 'info')).action).toBe('restarted');
    const first = await served(OWN, 'v0.1.0');
    const pid1 = await mainPid(OWN);
    expect(first.pid).toBe(pid1);
    const d = await detectNativeAny(conn, OWN, undefined, SYSTEMD);
    expect(d).toMatchObject({ present: true, layout: 'own', identity: v1.identity, running: true, pid: pid1 });

    expect((await act(v1, 'v0.1.0', 'debug')).action).toBe('reloaded');
    await expect.poll(async () => (await health(OWN))?.config_hash, { timeout: 15_000 }).toBe(sha256(env('debug')));
    expect(await mainPid(OWN)).toBe(pid1);

    await stageNative(conn, OWN, undefined, v2.path, v2.identity);
    expect((await act(v2, 'v0.2.0', 'debug')).action).toBe('restarted');
    const second = await served(OWN, 'v0.2.0');
    expect(second.pid).not.toBe(pid1);
    const show = parseShowChain((await exec(conn, systemdShowChainCommand(OWN), { timeoutMs: 10_000 })).stdout);
    expect(show[0]).toMatchObject({
      unit: `frameworks-${OWN}`,
      loaded: true,
      activeState: 'active',
      subState: 'running',
      running: true,
      mainPid: second.pid,
      execPath: p.executable,
    });
    expect(show[1]).toMatchObject({ unit: OWN, loaded: false });
    // Nothing changed ⇒ nothing restarted.
    expect((await act(v2, 'v0.2.0', 'debug')).action).toBe('none');
    expect(await mainPid(OWN)).toBe(second.pid);
  });

  it('a SIGKILLed service is restarted by systemd (Restart=always) and the health probe sees it recover', async () => {
    const before = await mainPid(OWN);
    await sh(`kill -KILL ${before}`);
    await expect
      .poll(async () => (await probeHealth(conn, { port: PORTS[OWN], path: '/health' }, 2_000)).healthy, {
        timeout: 30_000,
        interval: 200,
      })
      .toBe(true);
    const after = await served(OWN, 'v0.2.0');
    expect(after.pid).not.toBe(before);
    expect(await mainPid(OWN)).toBe(after.pid);
    expect(Number((await sh(`systemctl show -P NRestarts frameworks-${OWN}`)).trim())).toBeGreaterThanOrEqual(1);
  });

  it('a unit that fails to start: its last journal lines (secrets masked) explain the failure; rollback recovers', async () => {
    await stageNative(conn, OWN, undefined, broken.path, broken.identity);
    await activateNative(conn, OWN, undefined, {
      identity: broken.identity,
      version: 'v0.2.1',
      envText: env('debug'),
      manager: SYSTEMD,
      reloadOnSighup: true,
    });
    expect((await probeHealth(conn, { port: PORTS[OWN], path: '/health' }, 2_000)).healthy).toBe(false);
    let diag = '';
    await expect
      .poll(
        async () => {
          diag = await nativeDiagnostics(conn, OWN, SYSTEMD);
          return diag;
        },
        { timeout: 15_000 },
      )
      .toMatch(/fatal: cannot open \/var\/lib\/quartermaster: permission denied/);
    expect(diag).toMatch(/^frameworks-quartermaster: ActiveState=/);
    expect(diag).toContain('DB_PASSWORD=***');
    expect(diag).not.toContain('hunter2');

    const back = await rollbackNative(conn, OWN, undefined, SYSTEMD, {
      identity: v2.identity,
      configHash: sha256(env('debug')),
    });
    expect(back).toMatchObject({ action: 'rolled-back', identity: v2.identity });
    await served(OWN, 'v0.2.0');
  });

  it('a restart that systemd refuses carries the unit state and journal lines in its error', async () => {
    await sh(
      `mkdir -p /etc/systemd/system/frameworks-${OWN}.service.d && printf '[Service]\\nExecStartPre=/bin/sh -c "echo precheck failed: TOKEN=abc123 >&2; exit 3"\\n' ` +
        `> /etc/systemd/system/frameworks-${OWN}.service.d/fail.conf && systemctl daemon-reload`,
    );
    try {
      const err = await activateNative(conn, OWN, undefined, {
        identity: v1.identity,
        version: 'v0.1.0',
        envText: env('debug'),
        manager: SYSTEMD,
        reloadOnSighup: true,
      }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/restart quartermaster failed/);
      expect(err?.message).toMatch(/frameworks-quartermaster: ActiveState=\S+ SubState=/);
      expect(err?.message).toContain('precheck failed: TOKEN=***');
      expect(err?.message).not.toContain('abc123');
    } finally {
      await sh(`rm -rf /etc/systemd/system/frameworks-${OWN}.service.d && systemctl daemon-reload`);
    }
  });
});

describe('provisioner layout: detection and adoption', () => {
  const SVC = 'purser' as const;
  const pp = provisionerPaths(SVC);
  const envVars = { PURSER_RATING: 'v1', PURSER_MOTD: 'hello world' };
  let v1Bin: string;
  let good: Tarball;
  let bad: Tarball;

  beforeAll(async () => {
    v1Bin = join(work, 'purser-provisioned');
    writeFileSync(v1Bin, program(SVC, 'v0.1.0', 200, pp.env));
    good = tarball(SVC, 'good', program(SVC, 'v0.2.0', 200, pp.env));
    bad = tarball(SVC, 'bad', program(SVC, 'v0.2.1', 500, pp.env));
    provision(SVC, v1Bin, envVars);
    await waitFor(async () => (await health(SVC))?.version === 'v0.1.0', 30_000, `${SVC} v0.1.0 serving`);
  });

  it('detects the provisioner install by unit and binary: identity = SHA-256 of the binary', async () => {
    const d = await detectNativeAny(conn, SVC, undefined, SYSTEMD);
    expect(d).toMatchObject({
      present: true,
      layout: 'provisioner',
      unit: pp.unit,
      identity: `sha256:${sha256(readFileSync(v1Bin))}`,
      version: 'v0.1.0',
      configHash: sha256(provisionerEnvFile(envVars)),
      running: true,
      pid: await mainPid(SVC),
    });
  });

  it('adopts on the first upgrade; a failed first upgrade rolls back to byte-identical binary, unit and env', async () => {
    const before = await provisionerView(SVC);
    expect(before).toMatchObject({ active: 'active', execOk: 'exec-ok', envStat: '600 frameworks:frameworks' });
    const detected = await detectNativeAny(conn, SVC, undefined, SYSTEMD);
    await stageNative(conn, SVC, undefined, bad.path, bad.identity);
    const act = await activateNativeAdopting(conn, SVC, undefined, {
      identity: bad.identity,
      version: 'v0.2.1',
      envText: renderEnvFile({ PURSER_RATING: 'v2' }),
      manager: SYSTEMD,
      reloadOnSighup: true,
    });
    expect(act).toMatchObject({ adopted: true, action: 'restarted', previous: { identity: detected.identity } });
    await expect
      .poll(async () => (await probeHealth(conn, { port: PORTS[SVC], path: '/health' }, 2_000)).status, {
        timeout: 30_000,
      })
      .toBe(500);
    // The env file the unit reads was rewritten in place and kept its owner (the service reads it itself).
    expect((await sh(`stat -c '%U' ${pp.env}; cat ${pp.env}`)).split('\n').slice(0, 2)).toEqual([
      'frameworks',
      'PURSER_RATING=v2',
    ]);

    const rb = await rollbackNativeAny(conn, SVC, undefined, SYSTEMD, {
      identity: detected.identity!,
      configHash: detected.configHash!,
    });
    expect(rb).toMatchObject({ action: 'rolled-back', identity: detected.identity });
    await served(SVC, 'v0.1.0');
    expect(await provisionerView(SVC)).toEqual(before);
    // Adopted now: the binary path is a link into the pinned layout, the pre-adoption binary its release.
    expect((await sh(`readlink ${pp.binary}; readlink ${nativePaths(SVC).current}`)).trim().split('\n')).toEqual([
      `current/${SVC}`,
      `releases/${detected.identity!.slice(7)}`,
    ]);
    expect(await detectNativeAny(conn, SVC, undefined, SYSTEMD)).toMatchObject({
      layout: 'adopted',
      identity: detected.identity,
      configHash: detected.configHash,
      running: true,
    });
  });

  it('adoption twice changes nothing', async () => {
    const snap = () => sh(`cd ${pp.dir} && ls -la --time-style=full-iso . releases && cat installed.json`);
    const s1 = await snap();
    expect(await adoptNative(conn, SVC, undefined)).toEqual({ action: 'none' });
    expect(await snap()).toBe(s1);
  });

  it('a worker crash between "binary switched" and "unit restarted" is finished by the resumed activation', async () => {
    const n = nativePaths(SVC, undefined, 'adopted');
    const inst = JSON.parse(await sh(`cat ${n.installed}`)) as { identity: string; config_hash: string };
    await stageNative(conn, SVC, undefined, good.path, good.identity);
    const oldPid = await mainPid(SVC);
    const envText = renderEnvFile({ PURSER_RATING: 'v3' });
    // The activation's own steps, up to the restart (the worker dies there).
    const steps: [string[], string?][] = [
      [writeFileAtomicCommand(n.pending, '0644'), 'restart'],
      [copyFileAtomicCommand(n.env, n.envPrevious)],
      [writeFileAtomicCommand(n.env), envText],
      [switchSymlinkCommand(`releases/${good.identity.slice(7)}`, n.current)],
      [
        writeFileAtomicCommand(n.installed, '0644'),
        renderInstalledJson({
          identity: good.identity,
          version: 'v0.2.0',
          config_hash: configHash(envText),
          previous: { identity: inst.identity, version: 'v0.1.0', config_hash: inst.config_hash },
          layout: 'adopted',
        }),
      ],
    ];
    for (const [argv, stdin] of steps) {
      const r = await exec(conn, argv, { timeoutMs: 10_000, ...(stdin !== undefined ? { stdin } : {}) });
      expect(r.code, r.stderr).toBe(0);
    }
    expect((await served(SVC, 'v0.1.0')).pid).toBe(oldPid);
    expect(await detectNativeAny(conn, SVC, undefined, SYSTEMD)).toMatchObject({ pending: true });

    const resumed = await activateNativeAdopting(conn, SVC, undefined, {
      identity: good.identity,
      version: 'v0.2.0',
      envText,
      manager: SYSTEMD,
      reloadOnSighup: true,
    });
    expect(resumed).toMatchObject({ adopted: false, action: 'restarted' });
    const up = await served(SVC, 'v0.2.0');
    expect(up.config_hash).toBe(configHash(envText));
    expect(await detectNativeAny(conn, SVC, undefined, SYSTEMD)).toMatchObject({
      layout: 'adopted',
      identity: good.identity,
      pending: false,
      running: true,
    });
    expect((await provisionerView(SVC)).execOk).toBe('exec-ok');
    expect(
      (
        await activateNativeAdopting(conn, SVC, undefined, {
          identity: good.identity,
          version: 'v0.2.0',
          envText,
          manager: SYSTEMD,
          reloadOnSighup: true,
        })
      ).action,
    ).toBe('none');
    expect(await mainPid(SVC)).toBe(up.pid);
  });
});

describe('provisioner layout: an adoption interrupted before its record', () => {
  const SVC = 'foghorn' as const;
  const pp = provisionerPaths(SVC);

  it('detects the same identity midway and a re-run finishes it', async () => {
    const bin = join(work, 'foghorn-provisioned');
    writeFileSync(bin, program(SVC, 'v0.1.0', 200, pp.env));
    provision(SVC, bin, { FOGHORN_REGION: 'lab-1' }, false);
    await served(SVC, 'v0.1.0');
    const before = await detectNativeAny(conn, SVC, undefined, SYSTEMD);
    const hex = before.identity!.slice(7);
    const pid = await mainPid(SVC);
    // Adoption steps 1–3 (the worker dies before installed.json): same identity, nothing restarted.
    for (const argv of [
      adoptCopyReleaseCommand(SVC, hex),
      switchSymlinkCommand(`releases/${hex}`, nativePaths(SVC).current),
      switchSymlinkCommand(`current/${SVC}`, pp.binary),
    ]) {
      const r = await exec(conn, argv, { timeoutMs: 10_000 });
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await detectNativeAny(conn, SVC, undefined, SYSTEMD)).toMatchObject({
      layout: 'provisioner',
      identity: before.identity,
      configHash: before.configHash,
      running: true,
    });
    expect(await adoptNative(conn, SVC, undefined)).toEqual({ action: 'adopted', identity: before.identity });
    expect(await detectNativeAny(conn, SVC, undefined, SYSTEMD)).toMatchObject({
      layout: 'adopted',
      identity: before.identity,
      version: 'v0.1.0',
      configHash: before.configHash,
    });
    expect(await mainPid(SVC)).toBe(pid);
  });

  it('a release whose executable is the adopted binary, same config: switched and recorded, not restarted', async () => {
    const before = await detectNativeAny(conn, SVC, undefined, SYSTEMD);
    const pid = await mainPid(SVC);
    // The same program bytes the provisioner installed, now as a release tarball (e.g. a carried service).
    const same = tarball(SVC, 'same', program(SVC, 'v0.1.0', 200, pp.env));
    await stageNative(conn, SVC, undefined, same.path, same.identity);
    const input = {
      identity: same.identity,
      version: 'v0.1.0',
      envText: renderEnvFile({ FOGHORN_REGION: 'lab-1' }),
      manager: SYSTEMD,
      reloadOnSighup: false,
    };
    expect(await activateNativeAdopting(conn, SVC, undefined, input)).toMatchObject({
      action: 'none',
      adopted: false,
      identity: same.identity,
      previous: { identity: before.identity },
    });
    expect(await mainPid(SVC)).toBe(pid);
    expect(await detectNativeAny(conn, SVC, undefined, SYSTEMD)).toMatchObject({
      layout: 'adopted',
      identity: same.identity,
      configHash: before.configHash,
      running: true,
    });
    // From now on the usual content check applies: nothing to do.
    expect((await activateNativeAdopting(conn, SVC, undefined, input)).action).toBe('none');
    expect(await mainPid(SVC)).toBe(pid);
  });

  it('refuses to adopt a unit whose ExecStart is the provisioner path but whose env file is elsewhere', async () => {
    const unit = provisionerUnit({ svc: 'bridge', reloadOnSighup: false }).replace(
      'EnvironmentFile=/etc/frameworks/bridge.env',
      'EnvironmentFile=/srv/bridge.env',
    );
    await sh(
      `mkdir -p /opt/frameworks/bridge && cp ${pp.binary} /opt/frameworks/bridge/bridge && ` +
        `cat > /etc/systemd/system/frameworks-bridge.service && systemctl daemon-reload`,
      unit,
    );
    const err = await adoptNative(conn, 'bridge', undefined).then(
      () => null,
      (e: unknown) => e as Error & { type?: string },
    );
    expect(err?.type).toBe(FailureType.NotAdoptable);
    expect(err?.message).toMatch(/reads \/srv\/bridge\.env, not \/etc\/frameworks\/bridge\.env; nothing was changed/);
    expect((await sh('ls /opt/frameworks/bridge')).trim()).toBe('bridge');
  });
});
