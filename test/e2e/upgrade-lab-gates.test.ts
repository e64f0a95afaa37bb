// Every remaining gate of SPEC §6 refusing `upgrade --all --yes` on the REAL lab before any host changes: CLI
// floor, required stop, digest missing from the registry, no artifact for a host's (detected) arch, undeclared
// database ownership, a missing expand migration, an edited migration, undeclared target. Each case edits ONE thing in a variant's copy of the lab's release
// repository or catalog (lab/variants.ts: cluster `lab-gates` over the same hosts, its own worker), runs the real
// CLI, and then reads the hosts back: same identity, same pid / container id, same start time on every replica.
// A control case first shows the unedited variant passes every gate (dry-run), so each refusal below is caused by
// its edit and nothing else; each case also checks that its gate is the ONLY one refusing.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { labPaths } from '../../lab/config';
import { labDown, labUp, type LabState } from '../../lab/lab';
import { catalogReleases, createVariant, editYaml, releaseFile, resetVariant, type Variant } from '../../lab/variants';
import { frameworksAsync, type CliResult } from '../helpers/cli';
import { acquireLabForTest, releaseLabForTest } from '../../lab/lock';
import { snapshot, type Snapshot } from '../helpers/lab-hosts';
import { temporalAddress } from '../helpers/servers';
import { Client, Connection } from '@temporalio/client';
import { fetchHistories, secretHits } from './upgrade-lab-history';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

let state: LabState;
let variant: Variant;
let worker: WorkerProcess | undefined;
let env: NodeJS.ProcessEnv;
let initial: Snapshot;
const CANARY = `canary-${Math.random().toString(36).slice(2)}-pw`;
const paths = () => labPaths(state.root);

function cli(args: string[]): Promise<CliResult> {
  return frameworksAsync(['cluster', ...args, '--manifest', variant.cluster], env, 180_000);
}
const text = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;
const refusals = (r: CliResult): string[] => [...r.stdout.matchAll(/^\[gate\] (.+?): REFUSE — /gm)].map((m) => m[1]!);

type Doc = Record<string, unknown>;
type Entry = Record<string, unknown>;
const list = (doc: Doc, key: string) => doc[key] as Entry[];

beforeAll(async () => {
  await acquireLabForTest();
  state = await labUp({ log: (l) => console.error(`[lab] ${l}`) });
  variant = createVariant(paths(), {
    name: 'lab-gates',
    dir: mkdtempSync(join(tmpdir(), 'fw-lab-gates-')),
    detectArch: true,
  });
  const dbUrl = /FRAMEWORKS_DATABASE_URL=(\S+)/.exec(readFileSync(state.envFile!, 'utf8'))![1]!;
  // A canary password the lab's PostgreSQL (trust auth) never checks: a secret the worker holds, scanned for below.
  env = {
    TEMPORAL_ADDRESS: temporalAddress(),
    FRAMEWORKS_DATABASE_URL: dbUrl.replace('postgres://postgres@', `postgres://postgres:${CANARY}@`),
  };
  worker = await spawnWorker(variant.cluster, env);
  // The schema gate passes for v0.2.0 once its expand migrations are in the ledgers (same databases as `lab`).
  const expand = await cli(['migrate', '--phase', 'expand', '--to-version', 'v0.2.0', '--yes']);
  expect(expand.code, text(expand)).toBe(0);
  initial = await snapshot(paths());
}, 300_000);

afterAll(async () => {
  try {
    await worker?.kill('SIGTERM');
    // The lab was only read (every run refused); the next lab user still gets a fresh one from its own up.
    await labDown();
    if (variant) rmSync(variant.dir, { recursive: true, force: true });
  } finally {
    releaseLabForTest();
  }
}, 180_000);

beforeEach(() => resetVariant(paths(), variant));

/** Runs `upgrade --all --version <v> --yes`; expects exactly `gate` to refuse and every replica unchanged. */
async function expectRefusedBy(gate: string, version = 'v0.2.0'): Promise<CliResult> {
  const r = await cli(['upgrade', '--all', '--version', version, '--yes']);
  expect(r.code, text(r)).toBe(1);
  expect(refusals(r), text(r)).toEqual([gate]);
  expect(text(r)).toContain('refused before any host changed');
  expect(r.stdout).not.toMatch(/^ {2}\S+ \S+: (upgraded|upgrading|failed|rolled-back)$/m);
  const after = await snapshot(paths());
  const pick = (s: Snapshot) =>
    Object.fromEntries(Object.entries(s).map(([k, x]) => [k, [x.identity, x.instance, x.startedAt, x.configHash]]));
  expect(pick(after)).toEqual(pick(initial));
  return r;
}

describe('upgrade gates on the lab (variant lab-gates)', () => {
  it('control: the unedited variant passes every gate for v0.2.0 (dry-run, nothing changes)', async () => {
    const r = await cli(['upgrade', '--all', '--version', 'v0.2.0', '--dry-run']);
    expect(r.code, text(r)).toBe(0);
    expect(refusals(r)).toEqual([]);
    expect(r.stdout).toMatch(/\[gate\] artifact for every host architecture: ok/);
    expect(r.stdout).toContain('would upgrade purser on h1 from v0.1.0 to v0.2.0');
    expect((await snapshot(paths()))['purser@h1']!.instance).toBe(initial['purser@h1']!.instance);
  }, 120_000);

  it('CLI floor: the release requires an orchestrator newer than this one', async () => {
    editYaml(releaseFile(variant, 'v0.2.0'), (m) => (m.min_cli_version = 'v9.0.0'));
    const r = await expectRefusedBy('orchestrator version floor v9.0.0');
    expect(r.stdout).toMatch(/older than the release's required minimum|v9\.0\.0/);
  }, 120_000);

  it('required stop: the catalog declares v0.1.5 a required stop between v0.1.0 (running) and v0.2.0', async () => {
    editYaml(catalogReleases(variant), (c) => {
      const releases = list(c, 'releases');
      releases.splice(1, 0, { version: 'v0.1.5', required_stop: true });
    });
    const r = await expectRefusedBy('required stops');
    // The refusal names how the running release was established (content identity, or label as a fallback).
    expect(r.stdout).toMatch(
      /runs v0\.1\.0 \((by content identity|by version label)[^)]*\) and v0\.2\.0 would jump over the required stop v0\.1\.5/,
    );
    expect(r.stdout).toContain('fix: frameworks cluster upgrade --all --version v0.1.5');
  }, 120_000);

  it('digest missing from the registry: commodore is pinned to a digest the registry does not have', async () => {
    const missing = `sha256:${'0123456789abcdef'.repeat(4)}`;
    editYaml(releaseFile(variant, 'v0.2.0'), (m) => {
      const commodore = list(m, 'services').find((s) => s.name === 'commodore')!;
      commodore.digest = missing;
    });
    const r = await expectRefusedBy('image digests in the registry');
    expect(r.stdout).toContain(missing);
  }, 120_000);

  it("no artifact for a host's architecture: purser ships only linux-arm64; h1 is detected as linux-amd64", async () => {
    editYaml(releaseFile(variant, 'v0.2.0'), (m) => {
      const purser = list(m, 'native_binaries').find((s) => s.name === 'purser')!;
      for (const a of purser.artifacts as Entry[]) {
        a.arch = 'linux-arm64';
        a.url = String(a.url).replace('linux-amd64', 'linux-arm64');
      }
    });
    const r = await expectRefusedBy('artifact for every host architecture');
    expect(r.stdout).toMatch(/purser: no artifact for linux-amd64 \(host h1\)/);
  }, 120_000);

  it('undeclared database ownership: purser owns a database but the catalog has no service_databases entry', async () => {
    editYaml(catalogReleases(variant), (c) => delete (c.service_databases as Record<string, string>).purser);
    // The catalog itself is then inconsistent, so it is refused as it loads, naming the missing entry.
    const r = await expectRefusedBy('release catalog loads');
    expect(r.stdout).toMatch(
      /"purser" owns database purser but the release catalog declares no service_databases entry/,
    );
  }, 120_000);

  it('missing expand migration: v0.2.0 gains an expand migration the ledger does not have', async () => {
    writeFileSync(
      join(variant.migrations, 'purser', 'v0.2.0', 'expand', '090_gate_probe.sql'),
      'CREATE TABLE IF NOT EXISTS gate_probe (id bigint PRIMARY KEY);\n',
    );
    const r = await expectRefusedBy('schema gate');
    expect(r.stdout).toMatch(/090_gate_probe\.sql/);
  }, 120_000);

  it('edited migration: an applied v0.1.0 expand file no longer matches its ledger checksum', async () => {
    const dir = join(variant.migrations, 'purser', 'v0.1.0', 'expand');
    const file = join(
      dir,
      readdirSync(dir)
        .filter((f) => f.endsWith('.sql'))
        .sort()[0]!,
    );
    writeFileSync(file, `${readFileSync(file, 'utf8')}-- edited after it was applied\n`);
    const r = await expectRefusedBy('schema gate');
    expect(r.stdout).toMatch(/checksum/i);
  }, 120_000);

  it('undeclared target: the catalog does not declare v0.2.0, which the release repository serves', async () => {
    editYaml(catalogReleases(variant), (c) => {
      // A floor may only name a declared release (catalog validation), so v0.3.0's floor on v0.2.0 goes with it.
      c.releases = list(c, 'releases')
        .filter((r) => r.version !== 'v0.2.0')
        .map((r) => {
          delete r.compatible_from;
          return r;
        });
    });
    const r = await expectRefusedBy('target declared in catalog');
    expect(r.stdout).toMatch(/v0\.2\.0 is not declared in the release catalog/);
  }, 120_000);

  it('a second upgrade, or a migrate, while one runs is refused by the change lock, naming the running run', async () => {
    // An unapproved upgrade holds the lock while it waits for approval: deterministic, and nothing changes.
    const first = await cli(['upgrade', '--all', '--version', 'v0.2.0', '--detach']);
    expect(first.code, text(first)).toBe(0);
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    try {
      const handle = client.workflow.getHandle(`fw/${variant.name}/change`);
      const { runId } = await handle.describe();
      for (const second of [
        ['upgrade', '--all', '--version', 'v0.2.0', '--yes'],
        ['migrate', '--phase', 'expand', '--to-version', 'v0.2.0', '--yes'],
      ]) {
        const r = await cli(second);
        expect(r.code, text(r)).toBe(1);
        expect(r.stderr).toContain('another change is already running on this cluster: upgrade-all (clusterUpgrade)');
        expect(r.stderr).toContain(runId);
        expect(r.stderr).toContain(`frameworks cluster runs watch fw/${variant.name}/change`);
      }
      // With --manifest, another cluster's run id is refused rather than cancelled.
      const wrong = await cli(['runs', 'cancel', 'fw/lab/change']);
      expect(wrong.code, text(wrong)).toBe(1);
      expect(wrong.stderr).toContain(`fw/lab/change is not a run of cluster ${variant.name}`);
      const cancel = await cli(['runs', 'cancel', `fw/${variant.name}/change`]);
      expect(cancel.code, text(cancel)).toBe(0);
      expect((await handle.describe()).runId).toBe(runId); // the refused attempts started nothing
    } finally {
      await client.connection.close();
    }
    const after = await snapshot(paths());
    const pick = (s: Snapshot) => Object.fromEntries(Object.entries(s).map(([k, x]) => [k, [x.identity, x.instance]]));
    expect(pick(after)).toEqual(pick(initial));
  }, 180_000);

  it('no lab secret appears in the histories of these refused runs', async () => {
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    try {
      const runs = await fetchHistories(client, `fw/${variant.name}/`);
      // migrate expand, the dry-run, the eight refused upgrades and the one that held the lock.
      expect(runs.filter((r) => r.type === 'clusterUpgrade').length).toBe(10);
      // The scan reads decoded payloads (this refusal is only inside the base64 result payload) …
      expect(runs.map((r) => r.text).join('\n')).toContain('would jump over the required stop v0.1.5');
      const secrets: Record<string, string> = {
        'FRAMEWORKS_DATABASE_URL (worker env)': env.FRAMEWORKS_DATABASE_URL!,
        'database password': CANARY,
        'ssh private key': readFileSync(paths().clientKey, 'utf8')
          .split('\n')
          .filter((l) => l && !l.startsWith('-----'))
          .join(''),
      };
      // … and finds no secret.
      expect(secretHits(runs, secrets)).toEqual([]);
    } finally {
      await client.connection.close();
    }
  });
});
