// Detection of a native replica, and `cluster rollback`'s host check, in ONE remote command (issue 12): over a REAL
// sshd whose sessions record every command they run (a ForceCommand wrapper, as in native-driver.test.ts), the
// activity bodies `detectOnHost` and `inspectRollbackHosts` are counted and their results compared with what the
// reads run one command each (uname, the probe, the status command: how detection read a replica before) give.
// Before: detectOnHost ran 3 commands (uname -m, probe, status) and inspectRollbackHosts 2 per replica, one
// replica after another on the host's session; now 1 and 1 per host. Two cluster hosts share this one sshd (and so
// one service root), with the `command` service manager; a stand-in `systemctl` first on the sessions' PATH
// covers the systemd reads (MainPID, the unit chain of a service without installed.json, a provisioner install).
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClusterConfig, type LoadedCluster } from '../../src/activities/cluster-config';
import { observed } from '../../src/activities/hosts/native-steps';
import { inspectRollbackHosts } from '../../src/activities/hosts/rollback';
import { closeHostSessions } from '../../src/activities/hosts/ssh-session';
import { detectOnHost, detectServicesOnHosts, notDetected } from '../../src/activities/hosts/upgrade';
import { connectSsh, exec, type SshConnection } from '../../src/activities/ssh/client';
import type { ServiceManager } from '../../src/contracts/cluster';
import type { HostDetection } from '../../src/contracts/upgrade';
import { configHash, probeNativeCommand, statusCommand } from '../../src/domain/hosts/commands';
import { FIXTURES, writeFwCluster } from '../helpers/fixtures';
import { startSshd, type TestSshd } from '../helpers/sshd';

const HEX = 'ab'.repeat(32);
const OLD = 'cd'.repeat(32);
const HOSTS = ['h1', 'h2'];
/** Every state a replica can be read in: running, stopped mid-activation, absent, malformed, two more running. */
const SERVICES = ['quartermaster', 'commodore', 'purser', 'foghorn', 'bridge', 'caddy'];

let work: string;
let base: string;
let sshd: TestSshd;
let conn: SshConnection;
let cluster: LoadedCluster;
let systemd: LoadedCluster;
let manager: ServiceManager;

function install(svc: string, opts: { running?: boolean; pending?: string; installed?: string } = {}): void {
  const dir = join(base, svc);
  mkdirSync(join(dir, 'releases', HEX), { recursive: true });
  mkdirSync(join(dir, 'releases', OLD), { recursive: true });
  symlinkSync(`releases/${HEX}`, join(dir, 'current'));
  const env = `SERVICE=${svc}\n`;
  writeFileSync(join(dir, 'env'), env);
  const record = { identity: `sha256:${HEX}`, version: 'v1.2.3', config_hash: configHash(env), previous: null };
  writeFileSync(join(dir, 'installed.json'), opts.installed ?? JSON.stringify(record));
  if (opts.running) writeFileSync(join(dir, 'RUNNING'), '');
  if (opts.pending) writeFileSync(join(dir, '.fw-pending'), opts.pending);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fw-detect-once-'));
  base = join(work, 'opt');
  const bin = join(work, 'bin');
  const units = join(work, 'units');
  for (const d of [base, bin, units]) mkdirSync(d, { recursive: true });
  process.env.FRAMEWORKS_SERVICE_ROOT = base;
  install('quartermaster', { running: true });
  install('commodore', { pending: 'restart' });
  install('foghorn', { installed: '{"identity": ' });
  install('bridge', { running: true });
  install('caddy', { running: true });
  // purser: a provisioner install for the systemd cluster (its unit runs <dir>/purser, which reports its version).
  mkdirSync(join(base, 'purser'));
  writeFileSync(join(base, 'purser', 'purser'), '#!/bin/sh\necho \'{"version":"v0.0.9"}\'\n');
  chmodSync(join(base, 'purser', 'purser'), 0o755);
  writeFileSync(join(units, 'frameworks-purser.exec'), join(base, 'purser', 'purser'));
  writeFileSync(join(units, 'frameworks-quartermaster.active'), '');
  writeFileSync(
    join(bin, 'systemctl'),
    [
      '#!/bin/sh',
      `f=${units}`,
      'case $1 in',
      '  is-active) [ -e "$f/$3.active" ];;',
      '  show) case $2 in --property=MainPID) echo 4242;;',
      '    *) u=$4; if [ -e "$f/$u.exec" ]; then echo LoadState=loaded; echo ActiveState=active; echo SubState=running;',
      '       echo MainPID=77; echo "ExecStart={ path=$(cat "$f/$u.exec") ; }"; else echo LoadState=not-found; fi;; esac;;',
      '  *) exit 1;;',
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'systemctl'), 0o755);
  const wrapper = join(work, 'record-command');
  writeFileSync(
    wrapper,
    '#!/bin/sh\nprintf \'%s\\0\' "$SSH_ORIGINAL_COMMAND" >> "$1"\nexec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n',
  );
  chmodSync(wrapper, 0o755);
  sshd = await startSshd({
    extraConfig: [`ForceCommand ${wrapper} ${join(work, 'commands')}`, `SetEnv PATH=${bin}:/usr/bin:/bin`],
  });
  writeFileSync(join(work, 'id'), sshd.privateKey, { mode: 0o600 });
  writeFileSync(join(work, 'known_hosts'), `${sshd.knownHostsLine}\n`);
  const spec = (name: string, serviceManager: string) => ({
    name,
    hosts: Object.fromEntries(HOSTS.map((h) => [h, { address: '127.0.0.1', port: sshd.port, user: sshd.user }])),
    services: Object.fromEntries(SERVICES.map((s) => [s, { mode: 'native' as const, hosts: HOSTS }])),
    identityFile: join(work, 'id'),
    knownHosts: join(work, 'known_hosts'),
    catalogDir: join(FIXTURES, 'catalog'),
    serviceManager,
  });
  const status = `test -e ${base}/{service}/RUNNING`;
  manager = { type: 'command', restart: 'true {service}', stop: 'true {service}', status };
  cluster = await loadClusterConfig(
    writeFwCluster(
      join(work, 'cmd'),
      spec('detect-once', `{ type: command, restart: 'true {service}', stop: 'true {service}', status: '${status}' }`),
    ),
  );
  systemd = await loadClusterConfig(writeFwCluster(join(work, 'systemd'), spec('detect-once-systemd', 'systemd')));
  conn = await connectSsh({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: sshd.privateKey,
    knownHosts: sshd.knownHostsLine,
  });
});
afterAll(async () => {
  await closeHostSessions();
  await conn?.close();
  await sshd?.stop();
  delete process.env.FRAMEWORKS_SERVICE_ROOT;
  if (work) rmSync(work, { recursive: true, force: true });
});

function commands(): string[] {
  const log = join(work, 'commands');
  return existsSync(log) ? readFileSync(log, 'utf8').split('\0').slice(0, -1) : [];
}

async function counted<T>(fn: () => Promise<T>): Promise<{ ran: string[]; result: T }> {
  const from = commands().length;
  const result = await fn();
  return { ran: commands().slice(from), result };
}

/** A replica as the reads run one command each see it (how detectOnHost read it before, minus the counting). */
async function oneByOne(host: string, svc: string): Promise<HostDetection> {
  const uname = await exec(conn, ['uname', '-m'], { timeoutMs: 15_000 });
  const arch = uname.code === 0 && uname.stdout.trim() === 'x86_64' ? 'linux-amd64' : null;
  try {
    const probe = await exec(conn, probeNativeCommand(svc, base), { timeoutMs: 30_000 });
    expect(probe.code, svc).toBe(0);
    const st = observed(`${sshd.user}@127.0.0.1:${sshd.port}`, svc, base, probe.stdout);
    const status = await exec(conn, statusCommand(manager, svc), { timeoutMs: 30_000 });
    const i = st.installed;
    return {
      host,
      present: i !== null,
      identity: i?.identity ?? null,
      version: i?.version ?? null,
      configHash: i?.config_hash ?? null,
      running: status.code === 0,
      arch,
    };
  } catch (err) {
    return notDetected(host, err);
  }
}

describe('native detection in one remote command', () => {
  it('detectServiceOnHost reads a replica (and the host architecture) with ONE remote command', async () => {
    for (const svc of SERVICES) {
      const { ran, result } = await counted(() =>
        detectOnHost(cluster, { cluster: 'detect-once', service: svc, host: 'h1' }),
      );
      expect(ran, svc).toEqual(['sh -s']);
      const expected = await oneByOne('h1', svc);
      if (expected.error) {
        // The malformed installed.json: the same refusal, naming the file (the target differs only in its form).
        expect(result.error, svc).toMatch(/installed\.json is malformed/);
        expect({ ...result, error: '' }).toEqual({ ...expected, error: '' });
      } else expect(result, svc).toEqual(expected);
    }
    // The architecture the run already read is not asked for again: still one command.
    const known = await counted(() =>
      detectOnHost(cluster, { cluster: 'detect-once', service: 'quartermaster', host: 'h1', arch: 'linux-arm64' }),
    );
    expect(known.ran).toEqual(['sh -s']);
    expect(known.result).toMatchObject({ present: true, running: true, arch: 'linux-arm64' });
  });

  it('inspectRollbackHosts reads every native replica of a host with ONE remote command per host', async () => {
    const replicas = HOSTS.flatMap((host) =>
      SERVICES.map((service, i) => ({ service, host, identity: `sha256:${i % 2 === 0 ? OLD : 'ef'.repeat(32)}` })),
    );
    const { ran, result } = await counted(() => inspectRollbackHosts(cluster, replicas));
    expect(ran).toEqual(['sh -s', 'sh -s']);
    expect(result.map((f) => `${f.service}@${f.host}`)).toEqual(replicas.map((q) => `${q.service}@${q.host}`));
    for (const [k, f] of result.entries()) {
      const q = replicas[k]!;
      const d = await oneByOne(q.host, q.service);
      const release = `${base}/${q.service}/releases/${q.identity.slice(7)}`;
      if (d.error) {
        expect(f.detection.error, q.service).toMatch(/installed\.json is malformed/);
        expect(f.artifact).toEqual({ present: false, where: release });
        continue;
      }
      expect(f.detection, q.service).toEqual({ ...d, arch: null });
      // OLD is kept in every installed service's releases/; purser has no releases/ at all.
      const present = q.identity.endsWith(OLD) && q.service !== 'purser';
      expect(f.artifact, q.service).toEqual({ present, where: `${release} ${present ? 'is there' : 'is missing'}` });
    }
  });

  it('with systemd: MainPID and the unit chain in the same command; a provisioner install reads its binary after', async () => {
    const on = (service: string) => ({ cluster: 'detect-once-systemd', service, host: 'h1', arch: 'linux-amd64' });
    const installed = await counted(() => detectOnHost(systemd, on('quartermaster')));
    expect(installed.ran).toEqual(['sh -s']);
    expect(installed.result).toMatchObject({ present: true, identity: `sha256:${HEX}`, running: true });
    const provisioner = await counted(() => detectOnHost(systemd, on('purser')));
    expect(provisioner.ran).toHaveLength(2);
    expect(provisioner.ran[0]).toBe('sh -s');
    expect(provisioner.ran[1]).toContain('version --json');
    expect(provisioner.result).toMatchObject({ present: true, version: 'v0.0.9', running: true, configHash: null });
    expect(provisioner.result.identity).toMatch(/^sha256:[0-9a-f]{64}$/);
    const inspect = await counted(() =>
      inspectRollbackHosts(systemd, [
        { service: 'quartermaster', host: 'h1', identity: `sha256:${OLD}` },
        { service: 'commodore', host: 'h1', identity: `sha256:${OLD}` },
      ]),
    );
    expect(inspect.ran).toEqual(['sh -s']);
    expect(inspect.result.map((f) => [f.detection.running, f.artifact.present])).toEqual([
      [true, true],
      [false, true],
    ]);
  });

  it('detectServices reads every native replica of a host with ONE remote command after the architecture', async () => {
    for (const [c, name] of [
      [cluster, 'detect-once'],
      [systemd, 'detect-once-systemd'],
    ] as const) {
      const { ran, result } = await counted(() => detectServicesOnHosts(c, SERVICES));
      // Per host: uname -m, the one read (the batch probe or the detection script), and under systemd purser's binary.
      const perHost = name === 'detect-once' ? 2 : 3;
      expect(ran, name).toHaveLength(HOSTS.length * perHost);
      expect(
        ran.filter((r) => r === 'uname -m'),
        name,
      ).toHaveLength(HOSTS.length);
      expect(
        ran.filter((r) => r.startsWith('sh -s')),
        name,
      ).toHaveLength(HOSTS.length);
      // The same facts as detectServiceOnHost per replica (which read each on its own).
      for (const svc of SERVICES) {
        for (const [i, host] of HOSTS.entries()) {
          const alone = await detectOnHost(c, { cluster: name, service: svc, host });
          expect(result[svc]![i], `${name} ${svc}@${host}`).toEqual(alone);
        }
      }
    }
  });
});
