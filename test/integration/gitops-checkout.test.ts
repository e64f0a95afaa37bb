// An operator's FrameWorks gitops checkout, used as it is (issue 10's acceptance): the release repository found by
// walking up from clusters/<env>/cluster.yaml, a SOPS-encrypted hosts file and env files decrypted by the worker
// with the age key, hosts reached through the operator's ssh_config aliases, the Yugabyte node reached through an
// SSH tunnel with DATABASE_PASSWORD from the encrypted env file — and `upgrade plan`, `status`, `doctor` and
// `migrate --dry-run` driven with nothing else than the SSH key, known_hosts, the age key and a migrations source.
//
// The tree is test/fixtures/gitops (channels, releases, config, secrets: unmodified) plus a cluster written here
// whose hosts file is encrypted here with the fixture's test-only age key: every host is this machine's test sshd
// (external_ip 127.0.0.1, an ssh_config alias gives the port), so no packet leaves loopback.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSopsBinary } from '../../src/config/sops';
import { closeTunnels } from '../../src/activities/postgres/tunnel';
import { frameworksAsync, type CliResult } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';
import { databaseUrl, sql, temporalAddress } from '../helpers/servers';
import { startSshd, type TestSshd } from '../helpers/sshd';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const SRC = join(FIXTURES, 'gitops');
const AGE_KEY = join(SRC, 'test-age-key.txt');
const DBS = { quartermaster: 'gitops_quartermaster', commodore: 'gitops_commodore' };

let sshd: TestSshd;
let work: string;
let root: string;
let manifest: string;
let workers: RunningWorkers | undefined;
const saved: Record<string, string | undefined> = {};

function recipient(): string {
  const m = /public key: (age1[0-9a-z]+)/.exec(readFileSync(AGE_KEY, 'utf8'));
  if (!m) throw new Error('no public key in the test age key');
  return m[1]!;
}

/** The plaintext YAML encrypted to the fixture's age recipient by the real sops binary. */
async function sopsEncryptYaml(plain: string): Promise<string> {
  const bin = await findSopsBinary();
  if (!bin) throw new Error('sops is not installed: npx tsx scripts/deps.ts install builds it into .tools/bin');
  const file = join(work, 'plain-hosts.yaml');
  writeFileSync(file, plain);
  try {
    return execFileSync(bin, ['-e', '--age', recipient(), file], { encoding: 'utf8' });
  } finally {
    rmSync(file, { force: true });
  }
}

const cli = (args: string[]): Promise<CliResult> =>
  frameworksAsync(['cluster', ...args, '--manifest', manifest], { TEMPORAL_ADDRESS: temporalAddress() });

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'fw-gitops-'));
  root = join(work, 'gitops');
  for (const part of ['channels', 'releases', 'config', 'secrets', '.sops.yaml']) {
    cpSync(join(SRC, part), join(root, part), { recursive: true });
  }
  const pgPort = Number(new URL(databaseUrl()).port);
  for (const db of Object.values(DBS)) {
    await sql('postgres', `DROP DATABASE IF EXISTS ${db}`);
    await sql('postgres', `CREATE DATABASE ${db}`);
  }
  await sql(
    'postgres',
    `DO $$ BEGIN CREATE ROLE yugabyte LOGIN SUPERUSER; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
  );

  const dir = join(root, 'clusters', 'gitops-local');
  mkdirSync(dir, { recursive: true });
  manifest = join(dir, 'cluster.yaml');
  writeFileSync(
    manifest,
    [
      '# A FrameWorks cluster manifest as an operator keeps it; nothing orchestrator-specific in it.',
      'version: v1',
      'type: cluster',
      'profile: staging',
      'channel: stable',
      'env_files: [../../config/staging.env, ../../secrets/staging.env]',
      'hosts_file: hosts.enc.yaml',
      'hosts:',
      '  ctl-1: { cluster: core, roles: [services], labels: { region: eu-west } }',
      '  db-1: { cluster: core, roles: [infrastructure], labels: { region: eu-west } }',
      'clusters:',
      '  core: { name: Core, type: central, default: true }',
      'infrastructure:',
      '  postgres:',
      '    enabled: true',
      '    engine: yugabyte',
      '    mode: native',
      `    port: ${pgPort}`,
      '    nodes: [{ host: db-1, id: 1 }]',
      `    databases: [{ name: ${DBS.quartermaster} }, { name: ${DBS.commodore} }]`,
      'services:',
      '  quartermaster: { enabled: true, mode: native, host: ctl-1 }',
      '  commodore: { enabled: true, mode: native, host: ctl-1 }',
      '',
    ].join('\n'),
  );
  const hosts = `hosts:\n  ctl-1: { external_ip: 127.0.0.1, user: ${sshd.user} }\n  db-1: { external_ip: 127.0.0.1, user: ${sshd.user} }\n`;
  const encrypted = await sopsEncryptYaml(hosts);
  expect(encrypted).toContain('ENC[AES256_GCM,');
  expect(encrypted).not.toContain('127.0.0.1');
  writeFileSync(join(dir, 'hosts.enc.yaml'), encrypted);
  // The operator's own SSH setup: key, pinned host keys, and aliases for a port other than 22.
  writeFileSync(join(work, 'id'), sshd.privateKey, { mode: 0o600 });
  writeFileSync(join(work, 'known_hosts'), `${sshd.knownHostsLine}\n`);
  writeFileSync(
    join(work, 'ssh_config'),
    ['ctl-1', 'db-1'].map((h) => `Host ${h}\n  HostName 127.0.0.1\n  Port ${sshd.port}\n`).join(''),
  );
  // The one orchestrator setting FrameWorks has no key for here: where the migrations live (database folders
  // named after this cluster's databases). Above the shipped catalog's schema floor (v0.3.0): releases below it
  // are folded into the baseline and refused by the below-floor guard on a cluster that never ran them.
  const migrations = join(work, 'migrations');
  for (const db of Object.values(DBS)) {
    mkdirSync(join(migrations, db, 'v0.3.0', 'expand'), { recursive: true });
    writeFileSync(join(migrations, db, 'v0.3.0', 'expand', '001_regions.sql'), 'CREATE TABLE regions (id int);\n');
  }
  writeFileSync(
    join(dir, 'orchestrator.yaml'),
    `ssh: { config: ${join(work, 'ssh_config')} }\nmigrations_dir: ${migrations}\n`,
  );
  for (const [k, v] of Object.entries({
    SOPS_AGE_KEY_FILE: AGE_KEY,
    FRAMEWORKS_SSH_KEY: join(work, 'id'),
    FRAMEWORKS_KNOWN_HOSTS: join(work, 'known_hosts'),
  })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  workers = await startWorkers([manifest]);
});

afterAll(async () => {
  await workers?.stop();
  await closeTunnels();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('an unmodified FrameWorks gitops checkout', () => {
  it('upgrade plan: the release found by walking up, real digests, transitions and rollback-disabled; refuses only for stated reasons', async () => {
    const r = await cli(['upgrade', 'plan', '--version', 'v0.2.50', '--json']);
    const plan = JSON.parse(r.stdout) as {
      cluster: string;
      platformVersion: string;
      release: { repository: string };
      targets: { service: string; image?: string; digest?: string; artifacts: { url?: string; checksum?: string }[] }[];
      checks: { id: string; status: string; detail: string }[];
    };
    expect(plan.cluster).toBe('gitops-local');
    expect(plan.platformVersion).toBe('v0.2.50');
    expect(plan.release.repository).toBe(root);
    const release = readFileSync(join(root, 'releases', 'v0.2.50.yaml'), 'utf8');
    const qm = plan.targets.find((t) => t.service === 'quartermaster')!;
    expect(qm.artifacts.length).toBeGreaterThan(0);
    for (const a of qm.artifacts) {
      expect(release).toContain(a.url!);
      expect(release).toContain(a.checksum!);
    }
    const refused = plan.checks.filter((c) => c.status === 'refuse');
    // v0.2.50 requires a transition this orchestrator does not implement: that, and only that, refuses.
    expect(refused.map((c) => c.id)).toEqual(['required-transitions']);
    expect(refused[0]!.detail).toContain('storage-descriptor-adoption');
    expect(r.code).toBe(1);
  });

  it('status: every replica read over SSH through the aliases, with the encrypted hosts file decrypted by the worker', async () => {
    const r = await cli(['status', '--version', 'v0.2.44', '--json']);
    const report = JSON.parse(r.stdout) as {
      cluster: string;
      worker: { polling: boolean };
      status: { replicas: { service: string; host: string }[] } | null;
    };
    expect(report.cluster).toBe('gitops-local');
    expect(report.worker.polling).toBe(true);
    expect(report.status!.replicas.map((x) => `${x.service}@${x.host}`).sort()).toEqual([
      'commodore@ctl-1',
      'quartermaster@ctl-1',
    ]);
    // No address or user of the secret hosts file is printed.
    // (The Web UI links are Temporal's own address, not a host's.)
    expect(r.stdout.split('\n').filter((l) => l.includes('127.0.0.1') && !l.includes('"webUi"'))).toEqual([]);
    expect(r.stdout).not.toContain(`"${sshd.user}@`);
  });

  it('doctor: SSH to every host with the pinned key, the Yugabyte ledgers through the tunnel', async () => {
    const r = await cli(['doctor', '--version', 'v0.2.44', '--json']);
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; message: string }[] };
    const byId = (id: string) => report.checks.find((c) => c.id === id);
    expect(byId('ssh:ctl-1')?.status).toBe('healthy');
    expect(byId('ssh:db-1')?.status).toBe('healthy');
    const ledger = report.checks.filter((c) => c.id.startsWith('ledger:'));
    expect(ledger.length).toBe(2);
    for (const c of ledger) expect(c.message).not.toMatch(/cannot read/);
  });

  it('migrate --dry-run: pending expand migrations read from the ledger through the tunnel; nothing applied', async () => {
    const r = await cli(['migrate', '--phase', 'expand', '--to-version', 'v0.3.0', '--dry-run']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`${DBS.quartermaster}/v0.3.0/expand/001_regions.sql`);
    expect(r.stdout).toContain(`${DBS.commodore}/v0.3.0/expand/001_regions.sql`);
    const ledger = await sql<{ n: string }>(
      DBS.quartermaster,
      "SELECT count(*)::text AS n FROM pg_tables WHERE tablename = '_migrations'",
    );
    expect(ledger[0]!.n).toBe('0');
  });
});
