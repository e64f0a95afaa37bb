// A worker that stopped (SIGTERM) or crashed (SIGKILL) a moment ago: Temporal still lists its poller for minutes
// and its last poll is seconds old, yet `status` and `data-migrate status` must answer within seconds with what
// they can read (runs from visibility, the finished migration's result from its history) and the command that
// starts a worker — not wait a minute and fail with "Failed to query Workflow". The worker is a real process.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusReportSchema } from '../../src/contracts/status';
import { FwState } from '../../src/temporal/search-attributes';
import { frameworksAsync, type CliResult } from '../helpers/cli';
import { writePurserCluster } from '../helpers/fixtures';
import { seedPurser } from '../../lab/purser-seed';
import { databaseUrl, temporalAddress } from '../helpers/servers';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const URL_ENV = 'FW_TEST_DEADW_URL';
const DB = 'cli_deadw_purser';
const REF = 'purser.invoice-line-items';
// A functional bound, not a benchmark. The answer itself costs a CLI start, a few RPCs and the 5 s pickup wait;
// 25 s leaves room for a 2-core machine shared by many processes (load average ~16 when this was written), and
// the old behaviour never answered at all before the 40 s kill below (it waited on the run's result for minutes).
const ANSWER_WITHIN_MS = 25_000;
let manifest: string;
let worker: WorkerProcess | undefined;
const env = (): NodeJS.ProcessEnv => ({ TEMPORAL_ADDRESS: temporalAddress(), [URL_ENV]: databaseUrl() });

async function timed(args: string[]): Promise<CliResult & { ms: number }> {
  const t0 = Date.now();
  // The process is killed at 40 s so the old behaviour fails this test instead of hanging it.
  const r = await frameworksAsync(['cluster', ...args, '--manifest', manifest], env(), 40_000);
  return { ...r, ms: Date.now() - t0 };
}

beforeAll(async () => {
  await seedPurser(databaseUrl(), DB, 2_000);
  manifest = writePurserCluster('cli-deadw', DB, URL_ENV);
  worker = await spawnWorker(manifest, env());
  const run = await timed(['data-migrate', 'run', REF, '--batch-size', '500']);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
}, 180_000);

afterAll(async () => {
  await worker?.kill('SIGKILL');
});

it('a finished read-only run does not stay FwState=running in visibility', async () => {
  const r = await timed(['data-migrate', 'status', REF, '--json']);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  try {
    let states: (string | undefined)[] = [];
    // Visibility is eventually consistent: poll briefly for the closed control runs of this cluster.
    for (let i = 0; i < 50; i++) {
      states = [];
      for await (const wf of client.workflow.list({
        query: `FwCluster = "cli-deadw" AND FwOperation = "data-status" AND ExecutionStatus = "Completed"`,
      }))
        states.push(wf.typedSearchAttributes.get(FwState));
      if (states.length > 0 && states.every((x) => x === 'completed')) break;
      await new Promise((done) => setTimeout(done, 200));
    }
    expect(states.length).toBeGreaterThan(0);
    expect(states).toEqual(states.map(() => 'completed'));
  } finally {
    await client.connection.close();
  }
}, 60_000);

describe.each(['SIGTERM', 'SIGKILL'] as const)('the worker stopped with %s', (signal) => {
  let live: Record<string, unknown>;

  beforeAll(async () => {
    if (!worker) worker = await spawnWorker(manifest, env());
    // With the worker alive, the report the operator reads for comparison (same keys expected without it).
    const r = await timed(['data-migrate', 'status', REF, '--json']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    live = JSON.parse(r.stdout) as Record<string, unknown>;
    await worker.kill(signal);
    worker = undefined;
  }, 120_000);

  it('cluster status answers within seconds: no host status, the runs it can read, the worker command', async () => {
    const r = await timed(['status', '--json']);
    expect(r.ms, r.stderr).toBeLessThan(ANSWER_WITHIN_MS);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(3);
    const rep = StatusReportSchema.parse(JSON.parse(r.stdout));
    expect(rep.worker.polling).toBe(false);
    expect(rep.status).toBeNull();
    expect(rep.attention.join('\n')).toContain(`frameworks worker --manifest ${manifest}`);
    expect(rep.runs.recent.some((x) => x.workflowId === `fw/cli-deadw/data/${REF}` && x.status === 'COMPLETED')).toBe(
      true,
    );

    const text = await timed(['status']);
    expect(text.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(text.stdout).toContain(`frameworks worker --manifest ${manifest}`);
  }, 60_000);

  it('data-migrate status answers within seconds with the finished run and the worker command', async () => {
    const r = await timed(['data-migrate', 'status', REF, '--json']);
    expect(r.ms, r.stderr).toBeLessThan(ANSWER_WITHIN_MS);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(3);
    const rep = JSON.parse(r.stdout) as {
      worker: { polling: boolean };
      run: { status: string } | null;
      progress: { state: string; totals: { scanned: number } } | null;
      job: unknown;
      attention: string[];
    };
    expect(Object.keys(rep).sort()).toEqual(Object.keys(live).sort());
    expect(rep.worker.polling).toBe(false);
    expect(rep.run?.status).toBe('COMPLETED');
    expect(rep.progress).toMatchObject({ state: 'completed', totals: { scanned: 2_000 } });
    expect(rep.job).toBeNull();
    expect(rep.attention.join('\n')).toContain(`frameworks worker --manifest ${manifest}`);

    const text = await timed(['data-migrate', 'status', REF]);
    expect(text.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(text.stdout).toContain(`${REF} completed: 2,000 of ~2,000 rows scanned`);
    expect(text.stdout).toContain(`frameworks worker --manifest ${manifest}`);
  }, 60_000);

  it('upgrade plan (a read-only run) says at once that no worker took it, with the worker command', async () => {
    const r = await timed(['upgrade', 'plan', '--version', 'v0.2.0']);
    expect(r.ms, r.stderr).toBeLessThan(ANSWER_WITHIN_MS);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`frameworks worker --manifest ${manifest}`);
  }, 60_000);
});
