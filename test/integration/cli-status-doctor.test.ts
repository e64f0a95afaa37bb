// `frameworks cluster status`, `doctor` and `set-channel` as an operator runs them: real CLI processes, a real
// worker (in this process), the suite's Temporal dev server and PostgreSQL, and a real sshd on 127.0.0.1 as the
// cluster's one host. The doctor cluster is built to show every verdict at once: an edited migration, a missing
// expand migration, pending contract migrations, a paused (blocked) required data migration, a service nobody
// listens for (probed through SSH) next to a healthy one; then a cluster without a worker, and no Temporal.
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStateTables } from '../../src/activities/data-migrations/state';
import { DoctorReportSchema, type DoctorCheck, type DoctorReport } from '../../src/contracts/doctor';
import { StatusReportSchema } from '../../src/contracts/status';
import { frameworksAsync, type CliResult } from '../helpers/cli';
import { FIXTURES, writeFixtureCluster, writeFwCluster } from '../helpers/fixtures';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { databaseUrl, freshDatabase, temporalAddress } from '../helpers/servers';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const URL_ENV = 'FW_TEST_DOCTOR_URL';
const DBS = { quartermaster: 'doc_edit', commodore: 'doc_missing', foghorn: 'doc_contract', purser: 'doc_data' };
let sshd: TestSshd;
let workers: RunningWorkers;
let http: Server;
let work: string;
let manifest: string;
let idle: string;
let migrations: string;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return frameworksAsync(['cluster', ...args], {
    TEMPORAL_ADDRESS: temporalAddress(),
    [URL_ENV]: databaseUrl(),
    ...env,
  });
}
const text = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;

function write(rel: string, body: string): void {
  mkdirSync(dirname(join(migrations, rel)), { recursive: true });
  writeFileSync(join(migrations, rel), body);
}

/** The doctor test cluster in FrameWorks format, in its own folder; quartermaster's port has no listener. */
function clusterFiles(name: string, catalogDir: string): string {
  return writeFwCluster(join(work, name), {
    name,
    channel: 'rc',
    hosts: { h1: { address: '127.0.0.1', port: sshd.port, user: sshd.user, arch: 'linux-amd64' } },
    services: { quartermaster: { mode: 'native', hosts: ['h1'] }, commodore: { mode: 'native', hosts: ['h1'] } },
    databases: { names: Object.values(DBS), urlEnv: URL_ENV },
    identityFile: join(work, 'id'),
    knownHosts: join(work, 'known_hosts'),
    catalogDir,
    migrationsDir: migrations,
  });
}

beforeAll(async () => {
  process.env[URL_ENV] = databaseUrl();
  work = mkdtempSync(join(tmpdir(), 'fw-doctor-'));
  // Detection reads <root>/<svc>/installed.json on the host (this machine, through sshd): nothing installed here.
  process.env.FRAMEWORKS_SERVICE_ROOT = join(work, 'opt');
  sshd = await startSshd();
  writeFileSync(join(work, 'id'), sshd.privateKey, { mode: 0o600 });
  chmodSync(join(work, 'id'), 0o600);
  writeFileSync(join(work, 'known_hosts'), `${sshd.knownHostsLine}\n`);

  const healthyPort = await freePort();
  const deadPort = await freePort();
  http = createHttpServer((req, res) => {
    res.writeHead(req.url === '/health' ? 200 : 404).end('ok');
  });
  await new Promise<void>((r) => http.listen(healthyPort, '127.0.0.1', r));

  // The fixture catalog, with each service owning one of this test's databases and the two ports rewired.
  const catalogDir = join(work, 'catalog');
  cpSync(join(FIXTURES, 'catalog'), catalogDir, { recursive: true });
  let releases = readFileSync(join(catalogDir, 'releases.yaml'), 'utf8');
  let services = readFileSync(join(catalogDir, 'services.yaml'), 'utf8');
  for (const [svc, db] of Object.entries(DBS)) {
    releases = releases.replace(new RegExp(`^(\\s+${svc}): ${svc}$`, 'm'), `$1: ${db}`);
    services = services.replace(new RegExp(`^(\\s+database): ${svc}$`, 'm'), `$1: ${db}`);
  }
  services = services.replace('port: 18001', `port: ${deadPort}`).replace('port: 18002', `port: ${healthyPort}`);
  writeFileSync(join(catalogDir, 'releases.yaml'), releases);
  writeFileSync(join(catalogDir, 'services.yaml'), services);

  migrations = join(work, 'migrations');
  for (const db of Object.values(DBS)) {
    await freshDatabase(db);
    write(`${db}/v0.1.0/expand/001_t.sql`, 'CREATE TABLE t (id int);\n');
  }
  write(`${DBS.foghorn}/v0.2.0/contract/001_drop_t.sql`, 'DROP TABLE t;\n');

  manifest = clusterFiles('cli-doctor', catalogDir);
  idle = clusterFiles('cli-doctor-idle', catalogDir);
  workers = await startWorkers([manifest]);

  // Real history: the v0.1.0 expand migrations applied by the CLI; then the tree changes under the ledger.
  const applied = await cli([
    'migrate',
    '--manifest',
    manifest,
    '--phase',
    'expand',
    '--to-version',
    'v0.2.0',
    '--yes',
  ]);
  expect(applied.code, text(applied)).toBe(0);
  appendFileSync(join(migrations, `${DBS.quartermaster}/v0.1.0/expand/001_t.sql`), '-- edited after it was applied\n');
  write(`${DBS.commodore}/v0.2.0/expand/001_n.sql`, 'CREATE TABLE n (id int);\n');
  const c = new pg.Client({ connectionString: `${databaseUrl()}/${DBS.purser}` });
  await c.connect();
  try {
    await ensureStateTables(c);
    await c.query(
      "INSERT INTO _data_migrations (id, release_version, status) VALUES ('invoice-line-items', 'v0.2.0', 'paused')",
    );
  } finally {
    await c.end();
  }
}, 180_000);

afterAll(async () => {
  await workers?.stop();
  await new Promise((r) => http?.close(r));
  await sshd?.stop();
});

const byId = (r: DoctorReport, id: string): DoctorCheck => {
  const c = r.checks.find((x) => x.id === id);
  expect(c, `check ${id} in ${r.checks.map((x) => x.id).join(', ')}`).toBeDefined();
  return c!;
};

describe('frameworks cluster doctor', () => {
  let report: DoctorReport;

  it('--json validates against DoctorReportSchema and exits 3 when something needs attention', async () => {
    const r = await cli(['doctor', '--manifest', manifest, '--json']);
    expect(r.code, text(r)).toBe(3);
    report = DoctorReportSchema.parse(JSON.parse(r.stdout));
    expect(report).toMatchObject({ cluster: 'cli-doctor', status: 'unhealthy', target: 'v0.3.0-rc1' });
    expect(report.run?.workflowId).toMatch(/^fw\/cli-doctor\/doctor\/[0-9a-f-]{36}$/);
    for (const id of ['temporal', 'search-attributes', 'worker', 'catalog', 'target', 'ssh:h1'])
      expect(byId(report, id).status, id).toBe('healthy');
    for (const db of Object.values(DBS)) expect(byId(report, `postgres:${db}`).status).toBe('healthy');
  }, 120_000);

  it('an edited migration is unhealthy, naming the file and how to restore it', () => {
    const c = byId(report, `ledger:${DBS.quartermaster}`);
    expect(c.status).toBe('unhealthy');
    expect(c.message).toContain('applied migration was edited after the fact');
    expect(c.fix.join('\n')).toContain(`restore ${DBS.quartermaster}/v0.1.0/expand/001_t.sql`);
  });

  it('a missing expand migration is degraded, fixed by migrate --phase expand to the target', () => {
    const c = byId(report, `ledger:${DBS.commodore}`);
    expect(c).toMatchObject({ status: 'degraded', message: '1 migration(s) missing from ledger up to v0.3.0-rc1' });
    expect(c.details).toContain(`missing: ${DBS.commodore}/v0.2.0/expand/001_n.sql`);
    expect(c.fix).toEqual(['frameworks cluster migrate --phase expand --to-version v0.3.0-rc1']);
  });

  it('pending contract migrations are healthy with a note naming the contract command', () => {
    const c = byId(report, `ledger:${DBS.foghorn}`);
    expect(c.status).toBe('healthy');
    expect(c.message).toContain('1 contract migration(s) pending explicit cleanup');
    expect(c.notes[0]).toContain('frameworks cluster migrate --phase contract --to-version v0.3.0-rc1 --yes');
    expect(byId(report, `ledger:${DBS.purser}`).status).toBe('healthy');
  });

  it('a paused required data migration is blocked (degraded), fixed by resuming it', () => {
    const c = byId(report, 'data-migrations');
    expect(c).toMatchObject({ status: 'degraded', message: '1 required data migration(s) blocked' });
    expect(c.details[0]).toContain('purser.invoice-line-items');
    expect(c.fix).toEqual(['frameworks cluster data-migrate resume purser.invoice-line-items']);
  });

  it('a service nobody listens for is unhealthy (probed through SSH), next to a healthy one', () => {
    const dead = byId(report, 'service:quartermaster@h1');
    expect(dead.status).toBe('unhealthy');
    expect(dead.message).toMatch(/health probe failed/);
    // By host name through the ssh_config alias that reaches it (addresses are secret: this text is in history).
    expect(dead.fix[0]).toContain(`ssh -F ${join(work, 'cli-doctor', 'ssh_config')} h1 `);
    expect(dead.fix[0]).toContain('systemctl status frameworks-quartermaster');
    expect(byId(report, 'service:commodore@h1').status).toBe('healthy');
  });

  it('human output: sections, one line per check, and fix commands under Next:', async () => {
    const r = await cli(['doctor', '--manifest', manifest]);
    expect(r.code, text(r)).toBe(3);
    expect(r.stdout).toContain('Running cluster health checks');
    expect(r.stdout).toMatch(/\[FAIL\] migrations doc_edit/);
    expect(r.stdout).toMatch(/\[WARN\] migrations doc_missing/);
    expect(r.stdout).toMatch(/\[OK\] {3}migrations doc_contract/);
    expect(r.stdout).toContain('note: contract cleanup');
    expect(r.stdout).toMatch(/Next:\n(.*\n)*\s+\d\. frameworks cluster data-migrate resume purser\.invoice-line-items/);
    expect(r.stdout).toContain('UNHEALTHY:');
  }, 120_000);

  it('no worker polling the task queue: unhealthy worker check with the worker command; cluster checks skipped', async () => {
    const r = await cli(['doctor', '--manifest', idle, '--json']);
    expect(r.code, text(r)).toBe(3);
    const rep = DoctorReportSchema.parse(JSON.parse(r.stdout));
    const w = byId(rep, 'worker');
    expect(w).toMatchObject({ status: 'unhealthy', message: 'no worker polling fw-cli-doctor-idle' });
    expect(w.fix[0]).toContain(`frameworks worker --manifest ${idle}`);
    const skipped = byId(rep, 'cluster-checks');
    expect(skipped.status).toBe('skipped');
    expect(skipped.message).toContain(
      `no worker polling fw-cli-doctor-idle — start \`frameworks worker --manifest ${idle}\``,
    );
    expect(rep.checks.some((c) => c.id.startsWith('ledger:'))).toBe(false);
  }, 60_000);

  it('Temporal unreachable: unhealthy with how to start or point at one; local checks still run', async () => {
    const r = await cli(['doctor', '--manifest', manifest, '--json'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code, text(r)).toBe(3);
    const rep = DoctorReportSchema.parse(JSON.parse(r.stdout));
    expect(byId(rep, 'temporal')).toMatchObject({ status: 'unhealthy' });
    expect(byId(rep, 'temporal').fix[0]).toContain('npm run temporal');
    expect(byId(rep, 'catalog').status).toBe('healthy');
  }, 60_000);
});

describe('set-channel while a worker runs', () => {
  it('doctor follows the file and flags the worker still serving the old channel, with the restart command', async () => {
    const sc = await cli(['set-channel', 'stable', '--manifest', manifest]);
    expect(sc.code, text(sc)).toBe(0);
    try {
      const r = await cli(['doctor', '--manifest', manifest, '--json']);
      expect(r.code, text(r)).toBe(3);
      const rep = DoctorReportSchema.parse(JSON.parse(r.stdout));
      expect(rep.target).toBe('v0.2.0');
      const c = byId(rep, 'worker-channel');
      expect(c).toMatchObject({ status: 'degraded', message: `the worker serves channel rc, ${manifest} says stable` });
      expect(c.fix[0]).toContain(`frameworks worker --manifest ${manifest}`);
    } finally {
      expect((await cli(['set-channel', 'rc', '--manifest', manifest])).code).toBe(0);
    }
  }, 120_000);
});

describe('frameworks cluster status', () => {
  it('--json validates against StatusReportSchema; nothing installed ⇒ exit 3; recent runs carry Web UI links', async () => {
    const r = await cli(['status', '--manifest', manifest, '--json', '--version', 'v0.2.0']);
    expect(r.code, text(r)).toBe(3);
    const rep = StatusReportSchema.parse(JSON.parse(r.stdout));
    expect(rep.worker).toMatchObject({ taskQueue: 'fw-cli-doctor', polling: true });
    expect(typeof rep.worker.lastPollAt).toBe('string');
    expect(rep.run?.workflowId).toMatch(/^fw\/cli-doctor\/status\//);
    expect(rep.status?.target).toMatchObject({ platformVersion: 'v0.2.0', version: 'v0.2.0' });
    expect(rep.status?.replicas.map((x) => [x.service, x.host, x.state, x.available.version])).toEqual([
      ['commodore', 'h1', 'not installed', 'v0.2.0'],
      ['quartermaster', 'h1', 'not installed', 'v0.2.0'],
    ]);
    expect(rep.attention).toContain('quartermaster@h1: not installed');
    const doctorRun = rep.runs.recent.find((x) => x.workflowId.startsWith('fw/cli-doctor/doctor/'));
    expect(doctorRun).toMatchObject({ operation: 'doctor', status: 'COMPLETED' });
    expect(doctorRun?.webUi).toContain('/workflows/fw%2Fcli-doctor%2Fdoctor%2F');
  }, 120_000);

  it('human output: the table, runs, and what to do next', async () => {
    const r = await cli(['status', '--manifest', manifest]);
    expect(r.code, text(r)).toBe(3);
    expect(r.stdout).toMatch(/SERVICE\s+│?\s*HOST/);
    expect(r.stdout).toContain('not installed');
    expect(r.stdout).toContain('Recent runs:');
    expect(r.stdout).toContain('frameworks cluster doctor');
  }, 120_000);

  it('without a worker: exit 3, polling false, no host status, and the command that starts one', async () => {
    const r = await cli(['status', '--manifest', idle, '--json']);
    expect(r.code, text(r)).toBe(3);
    const rep = StatusReportSchema.parse(JSON.parse(r.stdout));
    expect(rep).toMatchObject({ worker: { polling: false }, status: null, needsAttention: true });
    expect(rep.attention[0]).toContain(`frameworks worker --manifest ${idle}`);
  }, 60_000);

  it('a bad --version is refused before anything runs (exit 1, named)', async () => {
    const r = await cli(['status', '--manifest', manifest, '--version', 'banana']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--version');
  });
});

describe('frameworks cluster set-channel', () => {
  it('rc then stable leaves cluster.yaml byte-identical except the channel line; comments survive', async () => {
    const path = writeFixtureCluster({ name: 'cli-set-channel' });
    const original = readFileSync(path, 'utf8');
    const rc = await cli(['set-channel', 'rc', '--manifest', path]);
    expect(rc.code, text(rc)).toBe(0);
    expect(rc.stdout).toContain(`Channel updated in ${path}: stable -> rc`);
    expect(rc.stderr).toContain('pre-production');
    // The next steps name the release commands (reference item 26), numbered, after a "Next:" heading.
    const next = rc.stdout.slice(rc.stdout.indexOf('Next:'));
    expect(next).toMatch(/^Next:\n {2}1\. frameworks worker --manifest \S+\n/);
    expect(next).toMatch(/\n {2}2\. frameworks cluster upgrade plan\n/);
    expect(next).toMatch(/\n {2}3\. frameworks cluster release --dry-run\n/);
    const patched = readFileSync(path, 'utf8');
    const changed = original
      .split('\n')
      .flatMap((l, i) => (l === patched.split('\n')[i] ? [] : [[l, patched.split('\n')[i]]]));
    expect(changed).toEqual([['channel: stable', 'channel: rc']]);
    expect(patched.split('\n').length).toBe(original.split('\n').length);
    expect(patched).toContain('# A complete FrameWorks cluster manifest');

    const again = await cli(['set-channel', 'rc', '--manifest', path]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Already on channel: rc');

    const back = await cli(['set-channel', 'stable', '--manifest', path]);
    expect(back.code, text(back)).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(original);

    const bad = await cli(['set-channel', 'beta', '--manifest', path]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid channel "beta": must be one of [stable rc]');
    expect(readFileSync(path, 'utf8')).toBe(original);
  }, 60_000);
});
