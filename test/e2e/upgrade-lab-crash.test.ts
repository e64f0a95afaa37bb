// Crashes during a real upgrade on the lab (the upgrade issue's acceptance), on a lab variant (lab/variants.ts:
// cluster `lab-crash` over the lab's hosts, with its own release repository holding one extra release):
//   1. the CLI is SIGKILLed mid-deploy → the run completes anyway; `runs watch` reports it; hosts at target;
//   2. the worker is SIGKILLed while a service is in its health wait (a slow-starting build answering 503) and
//      restarted → the run resumes and completes; the service that was waiting keeps its pid (no second
//      restart), the service upgraded before the kill is not touched again, the one after is upgraded once;
//   3. no secret used by the lab (database URL with a canary password, the hosts' secrets files, the SSH private
//      key) appears anywhere in the histories of these runs, fetched back from the server.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTS, labPaths, SERVICES } from '../../lab/config';
import { labDown, labUp, type LabState } from '../../lab/lab';
import { nativePaths } from '../../lab/layout';
import { sshTry } from '../../lab/ssh';
import {
  buildVariantNative,
  catalogReleases,
  copyRelease,
  createVariant,
  editYaml,
  type Variant,
} from '../../lab/variants';
import { frameworksAsync, startFrameworks, type CliResult } from '../helpers/cli';
import { acquireLabForTest, releaseLabForTest } from '../../lab/lock';
import { releaseIdentity, snapshot, type Snapshot } from '../helpers/lab-hosts';
import { temporalAddress } from '../helpers/servers';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';
import { fetchHistories, secretHits } from './upgrade-lab-history';

const CLUSTER = 'lab-crash';
const CHANGE_ID = `fw/${CLUSTER}/change`;
/** The slow release: purser starts answering /health 200 only this long after it starts. */
const SLOW_MS = 15_000;
const CANARY = `canary-${Math.random().toString(36).slice(2)}-pw`;

let state: LabState;
let variant: Variant;
let worker: WorkerProcess | undefined;
let env: NodeJS.ProcessEnv;
let client: Client;
const paths = () => labPaths(state.root);

function cli(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return frameworksAsync(['cluster', ...args, '--manifest', variant.cluster], { ...env, ...extra }, 240_000);
}
const text = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;
const h1 = HOSTS.find((h) => h.name === 'h1')!.address;

/** systemd's view of a native service on h1: its MainPID and every start its journal recorded. */
function supervised(svc: string): { pid: string; starts: string[] } {
  const unit = `frameworks-${svc}`;
  const r = sshTry(
    paths(),
    h1,
    `systemctl show --property=MainPID --value ${unit}; echo @@; journalctl -u ${unit} -o short-iso-precise --no-pager`,
  );
  const [pid, journal] = r.stdout.split('@@\n');
  return { pid: pid!.trim(), starts: journal!.split('\n').filter((l) => / listening on :/.test(l)) };
}

async function health(port: number): Promise<{ status: number; version?: string }> {
  try {
    const res = await fetch(`http://${h1}:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    const body = (await res.json()) as { version?: string };
    return { status: res.status, ...(body.version ? { version: body.version } : {}) };
  } catch {
    return { status: 0 };
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function expectAt(s: Snapshot, version: string, repo: string): void {
  for (const [key, r] of Object.entries(s)) {
    expect(r.identity, key).toBe(releaseIdentity(repo, version, key.split('@')[0]!));
    expect(r.health, key).toBe(200);
  }
}

beforeAll(async () => {
  await acquireLabForTest();
  state = await labUp({ fresh: true, log: (l) => console.error(`[lab] ${l}`) });
  variant = createVariant(paths(), { name: CLUSTER, dir: mkdtempSync(join(tmpdir(), 'fw-lab-crash-')) });
  // The lab's PostgreSQL trusts local connections, so a password in the URL is never checked but still is a
  // secret the worker holds: the canary the history scan looks for.
  const dbUrl = /FRAMEWORKS_DATABASE_URL=(\S+)/.exec(readFileSync(state.envFile!, 'utf8'))![1]!;
  env = {
    TEMPORAL_ADDRESS: temporalAddress(),
    FRAMEWORKS_DATABASE_URL: dbUrl.replace('postgres://postgres@', `postgres://postgres:${CANARY}@`),
  };
  worker = await spawnWorker(variant.cluster, env);
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  const expand = await cli(['migrate', '--phase', 'expand', '--to-version', 'v0.2.0', '--yes']);
  expect(expand.code, text(expand)).toBe(0);
}, 300_000);

afterAll(async () => {
  try {
    await worker?.kill('SIGTERM');
    await client?.connection.close();
    await labDown();
    if (variant) rmSync(variant.dir, { recursive: true, force: true });
  } finally {
    releaseLabForTest();
  }
}, 180_000);

describe('crashes during an upgrade on the lab (variant lab-crash)', () => {
  let atV020: Snapshot;

  it('the CLI SIGKILLed mid-deploy: the run completes; runs watch reports it; every host at v0.2.0', async () => {
    const child = startFrameworks(
      ['cluster', 'upgrade', '--all', '--version', 'v0.2.0', '--yes', '--manifest', variant.cluster],
      { ...env, FRAMEWORKS_HEALTH_INTERVAL: '500 milliseconds', FRAMEWORKS_HEALTH_DEADLINE: '20 seconds' },
    );
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    // Mid-deploy: the first service is upgraded (a host changed) and the sequence has more to do.
    await until('the first upgraded service', () => (/^ {2}✓ \S+: upgraded$/m.test(out) ? true : undefined));
    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    expect(out).not.toMatch(/service\(s\) at v0\.2\.0/);
    const d = await client.workflow.getHandle(CHANGE_ID).describe();
    expect(d.status.name).toBe('RUNNING');

    const watch = await frameworksAsync(['cluster', 'runs', 'watch', CHANGE_ID], env, 240_000);
    expect(watch.code, text(watch)).toBe(0);
    expect(watch.stdout).toContain(`${CHANGE_ID} completed`);
    const result = (await client.workflow.getHandle(CHANGE_ID).result()) as { state: string; target: string };
    expect(result).toMatchObject({ state: 'completed', target: 'v0.2.0' });
    atV020 = await snapshot(paths());
    expectAt(atV020, 'v0.2.0', variant.releases);
  }, 300_000);

  it('the worker SIGKILLed during a real health wait: the run resumes; nothing already healthy restarts again', async () => {
    // v0.2.2 (variant only): quartermaster and purser rebuilt; purser is a slow starter (503 for SLOW_MS).
    const qm = buildVariantNative(variant, 'quartermaster', 'v0.2.2');
    const slow = buildVariantNative(variant, 'purser', 'v0.2.2', { healthyAfterMs: SLOW_MS });
    copyRelease(variant, 'v0.2.0', 'v0.2.2', (m) => {
      const services = m.services as Record<string, unknown>[];
      for (const s of services) if (['quartermaster', 'purser'].includes(String(s.name))) s.service_version = 'v0.2.2';
      const natives = m.native_binaries as { name: string; artifacts: Record<string, unknown>[] }[];
      for (const n of natives) {
        const a = n.name === 'purser' ? slow : qm;
        n.artifacts = [
          { arch: 'linux-amd64', file: a.file, url: a.url, checksum: a.checksum, size_bytes: a.size_bytes },
        ];
      }
    });
    editYaml(catalogReleases(variant), (c) =>
      (c.releases as Record<string, unknown>[]).push({ version: 'v0.2.2', min_cli_version: 'v0.2.0' }),
    );
    const before = { qm: supervised('quartermaster'), purser: supervised('purser') };
    const purserChild = client.workflow.getHandle(`${CHANGE_ID}/purser`);
    const earlierChild = (await purserChild.describe()).runId;

    // v0.2.0's postdeploy and data migration are not the subject here: their gates are bypassed (and say so).
    const start = await cli(
      [
        'upgrade',
        '--all',
        '--version',
        'v0.2.2',
        '--yes',
        '--detach',
        '--skip-migration-check',
        '--skip-data-migration-check',
      ],
      { FRAMEWORKS_HEALTH_INTERVAL: '1 second', FRAMEWORKS_HEALTH_DEADLINE: '90 seconds' },
    );
    expect(start.code, text(start)).toBe(0);

    // In the health wait: purser's child has probed (unhealthy) and sleeps on a durable timer, and the new purser
    // (its own version answers) is not healthy yet.
    const purserPort = SERVICES.find((s) => s.name === 'purser')!.port;
    const typesOf = async (runId?: string) =>
      ((await client.workflow.getHandle(`${CHANGE_ID}/purser`, runId).fetchHistory()).events ?? []).map(
        (e) => temporal.api.enums.v1.EventType[e.eventType!],
      );
    const runId = await until('purser in its health wait', async () => {
      const d = await purserChild.describe().catch(() => undefined);
      if (!d || d.runId === earlierChild) return undefined;
      return (await typesOf(d.runId)).includes('EVENT_TYPE_TIMER_STARTED') ? d.runId : undefined;
    });
    expect(await health(purserPort)).toEqual({ status: 503, version: 'v0.2.2' });
    const during = { qm: supervised('quartermaster'), purser: supervised('purser') };
    await worker!.kill('SIGKILL');
    expect((await health(purserPort)).status).toBe(503); // still waiting when the worker died
    // quartermaster was upgraded and found healthy before the kill …
    expect(during.qm.pid).not.toBe(before.qm.pid);
    expect(during.qm.starts.length).toBe(before.qm.starts.length + 1);
    expect(during.purser.starts.length).toBe(before.purser.starts.length + 1);
    await new Promise((r) => setTimeout(r, 1_000));
    worker = await spawnWorker(variant.cluster, env);

    const watch = await frameworksAsync(['cluster', 'runs', 'watch', CHANGE_ID], env, 240_000);
    expect(watch.code, text(watch)).toBe(0);
    const result = (await client.workflow.getHandle(CHANGE_ID).result()) as {
      state: string;
      services: { service: string; status: string }[];
    };
    expect(result.state).toBe('completed');
    expect(Object.fromEntries(result.services.map((s) => [s.service, s.status]))).toEqual({
      quartermaster: 'upgraded',
      commodore: 'skipped',
      purser: 'upgraded',
      foghorn: 'skipped',
      bridge: 'skipped',
    });

    const after = { qm: supervised('quartermaster'), purser: supervised('purser') };
    // … and neither was restarted again after the worker came back: same pids, no extra start in the logs.
    expect(after.purser.pid).toBe(during.purser.pid);
    expect(after.purser.starts).toEqual(during.purser.starts);
    expect(after.qm.pid).toBe(during.qm.pid);
    expect(after.qm.starts).toEqual(during.qm.starts);
    const s = await snapshot(paths());
    expect(s['purser@h1']).toMatchObject({ identity: slow.checksum, version: 'v0.2.2', health: 200 });
    expect(s['quartermaster@h1']).toMatchObject({ identity: qm.checksum, version: 'v0.2.2', health: 200 });
    for (const k of ['commodore@h2', 'commodore@h3', 'foghorn@h2', 'bridge@h3']) {
      expect(s[k]!.instance, k).toBe(atV020[k]!.instance);
    }
    // The history shows the wait spanning the crash: failed probes before the healthy one, on durable timers.
    // The same child run went on under the restarted worker: its workflow tasks were taken by two workers, and
    // probes failed before the one that passed.
    const history = await client.workflow.getHandle(`${CHANGE_ID}/purser`, runId).fetchHistory();
    const workers = new Set(
      (history.events ?? []).flatMap((e) =>
        e.workflowTaskStartedEventAttributes?.identity ? [e.workflowTaskStartedEventAttributes.identity] : [],
      ),
    );
    expect(workers.size).toBeGreaterThanOrEqual(2);
    expect((await typesOf(runId)).filter((t) => t === 'EVENT_TYPE_TIMER_STARTED').length).toBeGreaterThan(1);
  }, 300_000);

  it('no lab secret appears in any history of these runs (fetched from the server, payloads decoded)', async () => {
    const runs = await fetchHistories(client, `fw/${CLUSTER}/`);
    // migrate expand, the two upgrades, and their per-service children.
    expect(runs.filter((r) => r.type === 'clusterUpgrade').length).toBe(2);
    // A child per service that needed a change (v0.2.0: all but the carried bridge; v0.2.2: quartermaster and
    // purser); services already at target are settled by the parent's batch detection without one.
    expect(runs.filter((r) => r.type === 'serviceUpgrade').length).toBe(6);
    expect(runs.some((r) => r.type === 'schemaMigrate')).toBe(true);
    // The scan sees decoded payloads: what the runs legitimately carry is found …
    const all = runs.map((r) => r.text).join('\n');
    expect(all).toContain(
      readFileSync(join(variant.releases, 'releases', 'v0.2.2.yaml'), 'utf8').match(/sha256:[0-9a-f]{64}/)![0],
    );

    const secrets: Record<string, string> = {
      'FRAMEWORKS_DATABASE_URL (worker env)': env.FRAMEWORKS_DATABASE_URL!,
      'database password': CANARY,
      'ssh private key': readFileSync(paths().clientKey, 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('-----'))
        .join(''),
    };
    for (const svc of SERVICES.filter((x) => x.mode === 'native')) {
      const text = sshTry(paths(), h1, `cat ${nativePaths(svc.name).secrets}`).stdout;
      for (const line of text.split('\n').filter(Boolean)) {
        secrets[`${nativePaths(svc.name).secrets} ${line.split('=')[0]}`] = line.slice(line.indexOf('=') + 1);
      }
    }
    expect(Object.keys(secrets).length).toBeGreaterThanOrEqual(5);
    // … and no secret is.
    expect(secretHits(runs, secrets)).toEqual([]);
  }, 120_000);
});
