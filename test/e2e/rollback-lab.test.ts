// `frameworks cluster rollback` against the REAL lab (issue 12 item 4 acceptance): real hosts over pinned SSH (h1
// a real systemd host installed the FrameWorks provisioner's way, two dockerds), a real worker process, the real
// CLI. Each step reads the hosts back (installed.json / provisioner binary, MainPID, container ids, /health):
//   v0.1.0 (lab up) → upgrade v0.2.0 → rollback --dry-run changes nothing → rollback, with the worker SIGKILLed
//   after the first service went back and restarted → every replica at its v0.1.0 identity and config, pids changed
//   only where something changed → upgrade v0.2.0 again, data migration, contract → rollback refused; the first
//   upgrade's rollback is refused too (later runs moved its replicas).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labPaths } from '../../lab/config';
import { labDown, labUp, type LabState } from '../../lab/lab';
import { acquireLabForTest, releaseLabForTest } from '../../lab/lock';
import type { ClusterRollbackProgress, RollbackHostFacts } from '../../src/contracts/rollback';
import { changeWorkflowId } from '../../src/temporal/ids';
import { frameworksAsync, type CliResult } from '../helpers/cli';
import { releaseBinaryIdentity, releaseIdentity, snapshot, type Snapshot } from '../helpers/lab-hosts';
import { SERVICES } from '../../lab/config';
import { temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

let state: LabState;
let worker: WorkerProcess | undefined;
let env: NodeJS.ProcessEnv;
let client: Client;
const paths = () => labPaths(state.root);
const CHANGE = changeWorkflowId('lab');
const WAIT = { FRAMEWORKS_HEALTH_INTERVAL: '500 milliseconds', FRAMEWORKS_HEALTH_DEADLINE: '20 seconds' };

function cli(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return frameworksAsync(['cluster', ...args], { ...env, ...WAIT, ...extra }, 240_000);
}
const text = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;

async function upgradeV020(): Promise<string> {
  const r = await cli(['upgrade', '--all', '--version', 'v0.2.0', '--yes']);
  expect(r.code, text(r)).toBe(0);
  return (await client.workflow.getHandle(CHANGE).describe()).runId;
}

/** Identity, config hash and version of every replica (what a rollback must restore). */
const states = (s: Snapshot) =>
  Object.fromEntries(
    Object.entries(s).map(([k, r]) => [
      k,
      { identity: r.identity, config: r.configHash, version: r.version, health: r.health },
    ]),
  );

/**
 * The snapshot with each provisioner install named as the run records it: a binary proven to be a release
 * tarball's executable has that tarball's identity (binary-identity.ts), and the upgrade adopts it AS that release,
 * so that is the identity the record holds and the rollback restores.
 */
const asRecorded = (s: Snapshot, version: string): Snapshot =>
  Object.fromEntries(
    Object.entries(s).map(([k, r]) => {
      const svc = k.split('@')[0]!;
      if (SERVICES.find((x) => x.name === svc)?.mode !== 'native') return [k, r];
      const proven = r.identity === releaseBinaryIdentity(paths().releases, version, svc);
      return [k, proven ? { ...r, identity: releaseIdentity(paths().releases, version, svc) } : r];
    }),
  );

beforeAll(async () => {
  await acquireLabForTest();
  state = await labUp({ fresh: true, log: (l) => console.error(`[lab] ${l}`) });
  const dbUrl = /FRAMEWORKS_DATABASE_URL=(\S+)/.exec(readFileSync(state.envFile!, 'utf8'))![1]!;
  env = { TEMPORAL_ADDRESS: temporalAddress(), FRAMEWORKS_DATABASE_URL: dbUrl, FRAMEWORKS_MANIFEST: state.clusterFile };
  worker = await spawnWorker(state.clusterFile!, env);
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  const expand = await cli(['migrate', '--phase', 'expand', '--to-version', 'v0.2.0', '--yes']);
  expect(expand.code, text(expand)).toBe(0);
}, 300_000);

afterAll(async () => {
  try {
    await worker?.kill('SIGTERM');
    await client?.connection.close();
    await labDown();
  } finally {
    releaseLabForTest();
  }
}, 180_000);

describe('cluster rollback on the lab', () => {
  let initial: Snapshot;
  let upgraded: Snapshot;
  let firstRun: string;

  it('upgrade v0.1.0 → v0.2.0; the host check finds every pre-run artifact, twice the same; a missing one named', async () => {
    initial = asRecorded(await snapshot(paths()), 'v0.1.0');
    firstRun = await upgradeV020();
    upgraded = await snapshot(paths());
    const moved = Object.keys(upgraded).filter((k) => upgraded[k]!.identity !== initial[k]!.identity);
    expect(moved.length).toBeGreaterThan(0);

    // The activity is read-only: run twice (in its own process, as the worker runs it), the same answer; every
    // pre-run identity is still on its host.
    const inspect = (replicas: { service: string; host: string; identity: string }[]): RollbackHostFacts[] =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            '-r',
            'tsx/cjs',
            join(__dirname, '..', 'helpers', 'rollback-inspect.ts'),
            state.clusterFile!,
            JSON.stringify({ cluster: 'lab', replicas }),
          ],
          { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 },
        ),
      ) as RollbackHostFacts[];
    const replicas = moved.map((k) => ({
      service: k.split('@')[0]!,
      host: k.split('@')[1]!,
      identity: initial[k]!.identity,
    }));
    const once = inspect(replicas);
    const twice = inspect(replicas);
    expect(twice).toEqual(once);
    for (const f of once) {
      const k = `${f.service}@${f.host}`;
      expect(f.artifact.present, `${k}: ${f.artifact.where} ${f.detection.error ?? ''}`).toBe(true);
      expect(f.detection.identity, k).toBe(upgraded[k]!.identity);
    }
    const bogus = `sha256:${'0'.repeat(64)}`;
    const missing = inspect([
      { service: 'quartermaster', host: 'h1', identity: bogus },
      { service: 'commodore', host: 'h2', identity: bogus },
    ]);
    expect(missing.map((m) => [m.artifact.present, m.artifact.where])).toEqual([
      [false, `/opt/frameworks/quartermaster/releases/${'0'.repeat(64)} is missing`],
      [false, `no image with digest ${bogus} on h2 (docker image prune?)`],
    ]);
  }, 300_000);

  it('rollback --dry-run shows every move and the migrations that stay applied; nothing changes', async () => {
    const r = await cli(['rollback', firstRun, '--dry-run']);
    expect(r.code, text(r)).toBe(0);
    expect(r.stdout).toMatch(/would roll back quartermaster on h1 from v0\.2\.0 to v0\.1\.0/);
    expect(r.stdout).toMatch(/would roll back commodore on h2 from v0\.2\.0 to v0\.1\.0/);
    expect(r.stdout).toMatch(/stays applied: purser v0\.2\.0\/expand\//);
    expect(r.stdout).toMatch(/safe by the expand\/contract rule/);
    expect(r.stdout).toContain('Dry-run complete');
    const now = await snapshot(paths());
    for (const k of Object.keys(now)) expect(now[k]!.instance, k).toBe(upgraded[k]!.instance);
  }, 120_000);

  it('rollback survives a worker SIGKILL; every replica back at v0.1.0 identity and config; pids changed only where moved', async () => {
    const start = await cli(['rollback', firstRun, '--yes', '--detach']);
    expect(start.code, text(start)).toBe(0);
    const run = (await client.workflow.getHandle(CHANGE).describe()).runId;
    // Kill the worker once the first service is back (its child completed) and more is to do.
    await waitFor(
      'the first reverted service',
      async () => {
        const events = (await client.workflow.getHandle(CHANGE, run).fetchHistory()).events ?? [];
        const types = events.map((e) => temporal.api.enums.v1.EventType[e.eventType!]);
        return types.includes('EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED') ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    await worker!.kill('SIGKILL');
    const atKill = await snapshot(paths());
    worker = await spawnWorker(state.clusterFile!, env);

    const watch = await frameworksAsync(['cluster', 'runs', 'watch', CHANGE], env, 240_000);
    expect(watch.code, text(watch)).toBe(0);
    const result = (await client.workflow.getHandle(CHANGE, run).result()) as ClusterRollbackProgress;
    expect(result.state).toBe('completed');
    expect(result.summary?.failed).toEqual([]);

    const after = await snapshot(paths());
    expect(states(after)).toEqual(states(initial));
    for (const k of Object.keys(after)) {
      const moved = upgraded[k]!.identity !== initial[k]!.identity;
      if (moved) expect(after[k]!.instance, `${k} restarted`).not.toBe(upgraded[k]!.instance);
      else expect(after[k]!.instance, `${k} untouched`).toBe(upgraded[k]!.instance);
      // Reverted before the kill ⇒ not reverted again after it.
      if (moved && atKill[k]!.identity === initial[k]!.identity)
        expect(after[k]!.instance, k).toBe(atKill[k]!.instance);
    }
    // Workflow tasks of the run were taken by two workers (it resumed, it did not start over).
    const history = await client.workflow.getHandle(CHANGE, run).fetchHistory();
    const identities = new Set(
      (history.events ?? []).flatMap((e) =>
        e.workflowTaskStartedEventAttributes?.identity ? [e.workflowTaskStartedEventAttributes.identity] : [],
      ),
    );
    expect(identities.size).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it('refuses after the contract of the rolled-back release ran; the first run is refused for later runs', async () => {
    const second = await upgradeV020();
    const post = await cli(['migrate', '--phase', 'postdeploy', '--to-version', 'v0.2.0', '--yes']);
    expect(post.code, text(post)).toBe(0);
    const data = await cli(['data-migrate', 'run', 'purser.invoice-line-items']);
    expect(data.code, text(data)).toBe(0);
    const contract = await cli(['migrate', '--phase', 'contract', '--to-version', 'v0.2.0', '--yes']);
    expect(contract.code, text(contract)).toBe(0);
    const before = await snapshot(paths());

    const r = await cli(['rollback', second, '--yes']);
    expect(r.code, text(r)).toBe(1);
    expect(r.stdout).toMatch(/\[gate\] no contract migration of a rolled-back release has run: REFUSE/);
    expect(r.stdout).toMatch(/contract migrations of v0\.2\.0 already ran/);
    expect(text(r)).toContain('refused before any host changed');

    const old = await cli(['rollback', firstRun, '--dry-run']);
    expect(old.code, text(old)).toBe(1);
    expect(old.stdout).toMatch(/\[gate\] no later run changed the same replicas: REFUSE/);
    expect(old.stdout).toMatch(/clusterRollback run \S+ \(started [^)]+\) moved .*quartermaster@h1/);
    const after = await snapshot(paths());
    for (const k of Object.keys(after)) expect(after[k]!.instance, k).toBe(before[k]!.instance);
  }, 300_000);
});
