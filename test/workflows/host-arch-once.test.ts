// Reference §9 item 11: a host's architecture is read ONCE per host per run, not once per service. A real
// clusterUpgrade on the suite's Temporal dev server, with the real detection activities (detectServices before the
// gates and before the deploy, detectServiceOnHost in every serviceUpgrade child) over two real sshds — h1 and h2 —
// each running two native services. Every command a session runs goes through a ForceCommand wrapper that records
// it, so the test counts the `uname -m` each host was asked for. Only the steps that would change a host (stage,
// activate, health, finalize) and the database reads of the gates are stubbed: the release fixtures' artifacts are
// not downloadable, and the subject here is how often detection asks a host for its architecture.
// Before, each detection read it again: per host 2 + one per service (4 here); now 1.
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
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_MIGRATIONS_DIR } from '../../lab/config';
import { discoverMigrations } from '../../src/config/migrations';
import type { LedgerRow } from '../../src/contracts/migrations';
import { parseReleaseManifest } from '../../src/contracts/release';
import type { ClusterUpgradeProgress } from '../../src/contracts/upgrade';
import { configHash, renderEnvFile } from '../../src/domain/hosts/commands';
import { shellCommand } from '../../src/domain/hosts/shell-quote';
import { getServiceInfo } from '../../src/domain/release';
import { taskQueueFor } from '../../src/temporal/ids';
import { FIXTURES, writeFwCluster } from '../helpers/fixtures';
import { temporalAddress } from '../helpers/servers';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-host-arch-once';
const HOSTS = ['h1', 'h2'] as const;
const SERVICES = ['quartermaster', 'purser'] as const;
const UNAME = shellCommand(['uname', '-m']);

let work: string;
let base: string;
const sshds: Record<string, TestSshd> = {};
let workers: RunningWorkers;
let client: Client;

/** The sha256 of the linux-amd64 tarball `version` pins for `svc` (what an installed replica reports). */
function pinned(version: string, svc: string): string {
  const m = parseReleaseManifest(
    readFileSync(join(FIXTURES, 'release-repo', 'releases', `${version}.yaml`), 'utf8'),
    version,
  );
  return getServiceInfo(m, svc)!.binaries.find((b) => b.arch === 'linux-amd64')!.checksum!;
}

/** `svc` installed at v0.1.0 and running, in the native layout (the hosts share this machine's service root). */
function install(svc: string): void {
  const identity = pinned('v0.1.0', svc);
  const hex = identity.slice('sha256:'.length);
  const dir = join(base, svc);
  mkdirSync(join(dir, 'releases', hex), { recursive: true });
  symlinkSync(`releases/${hex}`, join(dir, 'current'));
  const env = renderEnvFile({ SERVICE: svc });
  writeFileSync(join(dir, 'env'), env);
  writeFileSync(
    join(dir, 'installed.json'),
    JSON.stringify({ identity, version: 'v0.1.0', config_hash: configHash(env), previous: null }),
  );
  writeFileSync(join(dir, 'RUNNING'), '');
}

/** Every command sessions of this host's sshd ran (NUL-separated records of SSH_ORIGINAL_COMMAND). */
function commandsOn(host: string): string[] {
  const log = join(work, `${host}.commands`);
  return existsSync(log) ? readFileSync(log, 'utf8').split('\0').slice(0, -1) : [];
}

const SHIPPED = discoverMigrations(LAB_MIGRATIONS_DIR).items;
const ledgerOf = (database: string): LedgerRow[] =>
  SHIPPED.filter((m) => m.database === database).map((m) => ({
    version: m.version,
    phase: m.phase,
    seq: m.seq,
    filename: m.filename,
    checksum: m.checksum,
    transactional: m.transactional,
  }));

/* eslint-disable @typescript-eslint/require-await */
const stubs: Record<string, (...args: never[]) => Promise<unknown>> = {
  stageServiceOnHost: async () => ({ action: 'staged' }),
  activateServiceOnHost: async () => ({ action: 'restarted' }),
  probeServiceHealth: async () => ({ healthy: true }),
  finalizeServiceOnHost: async () => undefined,
  rollbackServiceOnHost: async () => ({ action: 'rolled-back' }),
  // Every shipped migration applied, every required data migration completed: the gates pass.
  readDatabaseStates: async (i: { databases: string[] }) =>
    i.databases.map((database) => ({
      database,
      ledger: { state: 'ok', database, tableExists: true, rows: ledgerOf(database) },
      marker: { state: 'ok', marker: '' },
    })),
  readDataMigrationStates: async (i: { requirements: { key: string }[] }) =>
    Object.fromEntries(i.requirements.map((r) => [r.key, { kind: 'status', status: 'completed' }])),
};
/* eslint-enable @typescript-eslint/require-await */

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fw-arch-once-'));
  base = join(work, 'opt');
  process.env.FRAMEWORKS_SERVICE_ROOT = base;
  for (const svc of SERVICES) install(svc);
  // Records the command, then runs it as sshd would have (the login shell's rc files never reach the record).
  const wrapper = join(work, 'record-command');
  writeFileSync(
    wrapper,
    '#!/bin/sh\nprintf \'%s\\0\' "$SSH_ORIGINAL_COMMAND" >> "$1"\nexec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n',
  );
  chmodSync(wrapper, 0o755);
  for (const h of HOSTS) {
    sshds[h] = await startSshd({ extraConfig: [`ForceCommand ${wrapper} ${join(work, `${h}.commands`)}`] });
  }
  const first = sshds.h1!;
  writeFileSync(join(work, 'id'), first.privateKey, { mode: 0o600 });
  writeFileSync(join(work, 'known_hosts'), HOSTS.map((h) => sshds[h]!.knownHostsLine).join('\n') + '\n');
  // One client key for both sshds: the second authorizes the first's key too.
  for (const h of HOSTS.slice(1)) {
    const pub = readFileSync(join(first.dir, 'client_ed25519.pub'), 'utf8');
    writeFileSync(join(sshds[h]!.dir, 'authorized_keys'), pub, { mode: 0o600 });
  }
  const manifest = writeFwCluster(join(work, CLUSTER), {
    name: CLUSTER,
    hosts: Object.fromEntries(HOSTS.map((h) => [h, { address: '127.0.0.1', port: sshds[h]!.port, user: first.user }])),
    services: Object.fromEntries(SERVICES.map((s) => [s, { mode: 'native' as const, hosts: [...HOSTS] }])),
    identityFile: join(work, 'id'),
    knownHosts: join(work, 'known_hosts'),
    catalogDir: join(FIXTURES, 'catalog'),
    migrationsDir: LAB_MIGRATIONS_DIR,
    serviceManager: `{ type: command, restart: 'true {service}', stop: 'true {service}', status: 'test -e ${base}/{service}/RUNNING' }`,
  });
  workers = await startWorkers([manifest], stubs);
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
}, 120_000);

afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
  for (const s of Object.values(sshds)) await s.stop();
  delete process.env.FRAMEWORKS_SERVICE_ROOT;
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('host architecture detection (reference item 11)', () => {
  it('an upgrade of two native services on two hosts reads each host architecture once', async () => {
    const handle = await client.workflow.start('clusterUpgrade', {
      taskQueue: taskQueueFor(CLUSTER),
      workflowId: `fw/${CLUSTER}/change`,
      args: [
        {
          cluster: CLUSTER,
          services: 'all',
          selector: 'v0.2.0',
          cliVersion: 'v0.3.0',
          approved: true,
          healthInterval: '200 milliseconds',
          healthDeadline: '2 seconds',
        },
      ],
    });
    const r = (await handle.result()) as ClusterUpgradeProgress;
    expect(r.state, JSON.stringify(r.checks)).toBe('completed');
    // Both services went through a child on both hosts: three detections of every host (before the gates,
    // before the deploy, and each child's own) happened.
    for (const svc of SERVICES) {
      const s = r.services.find((x) => x.service === svc)!;
      expect(s.status, svc).toBe('upgraded');
      expect(s.result?.hosts.map((h) => [h.host, h.action])).toEqual(HOSTS.map((h) => [h, 'upgraded']));
    }
    for (const h of HOSTS) {
      const commands = commandsOn(h);
      expect(commands.length, `commands run on ${h}`).toBeGreaterThan(1);
      expect(
        commands.filter((c) => c === UNAME),
        `uname -m on ${h}`,
      ).toHaveLength(1);
    }
  }, 180_000);
});
