// `frameworks cluster data-migrate …` as an operator runs it: list, dry-run, a run whose CLI is killed (the run
// continues, status shows progress, run again reattaches), pause/resume acknowledgements, verify's exit code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePurserCluster } from '../helpers/fixtures';
import { frameworksAsync, startFrameworks } from '../helpers/cli';
import { seedPurser, type PurserSeed } from '../../lab/purser-seed';
import { databaseUrl, sql, temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const URL_ENV = 'FW_TEST_CLI_DM_URL';
const DB = 'cli_dm_purser';
let workers: RunningWorkers;
let manifest: string;
let seed: PurserSeed;
const env = (): NodeJS.ProcessEnv => ({ TEMPORAL_ADDRESS: temporalAddress(), [URL_ENV]: databaseUrl() });
const cli = (args: string[]) => frameworksAsync(['cluster', 'data-migrate', ...args, '--manifest', manifest], env());

beforeAll(async () => {
  process.env[URL_ENV] = databaseUrl();
  seed = await seedPurser(databaseUrl(), DB, 60_000);
  manifest = writePurserCluster('cli-dm', DB, URL_ENV);
  workers = await startWorkers([manifest]);
});
afterAll(async () => {
  await workers?.stop();
});

describe('frameworks cluster data-migrate', () => {
  it('list shows the requirements up to the target with live status', async () => {
    const r = await cli(['list', '--to-version', 'v0.2.0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Required data migrations up to v0.2.0:');
    expect(r.stdout).toContain(
      'purser.invoice-line-items (introduced v0.2.0, required before contract) — status: pending',
    );
    const json = await cli(['list', '--to-version', 'v0.1.0', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ target_version: 'v0.1.0', requirements: [] });
  });

  it('rejects bad references and flags before anything runs, as usage errors (exit 2)', async () => {
    const bad = await cli(['run', 'invoice-line-items']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected <service>.<id>');
    const r = await cli(['run', 'purser.invoice-line-items', '--scope-value', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--scope-value needs --scope-kind');
    // The same flag, the same exit code as `release --batch-size` (it once exited 1 here and 2 there).
    const size = await cli(['run', 'purser.invoice-line-items', '--batch-size', '0']);
    expect(size.code).toBe(2);
    expect(size.stderr).toContain('--batch-size must be a whole number from 1 to 1000000');
  });

  it('dry-run prints one batch and writes nothing', async () => {
    const r = await cli(['run', 'purser.invoice-line-items', '--dry-run', '--batch-size', '100']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /invoice-line-items\/<whole-job> dry-run: scanned=100 changed=\d+ skipped=\d+ errors=0 done=false/,
    );
    expect(await sql(DB, "SELECT 1 FROM pg_tables WHERE tablename = '_data_migrations'")).toEqual([]);
  });

  it('a dry-run that fails on the worker surfaces its error: file, line and the database message (reference item 129)', async () => {
    await sql(DB, 'ALTER TABLE invoice_line_items RENAME TO invoice_line_items_away');
    try {
      const r = await cli(['run', 'purser.invoice-line-items', '--dry-run', '--batch-size', '100']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/data-migrate dry-run failed \(run fw\/cli-dm\/[^)]+\): /);
      expect(r.stderr).toMatch(
        /invoice-line-items\.sql:\d+: batch statement failed: relation "invoice_line_items" does not exist/,
      );
      expect(r.stdout).not.toContain('dry-run: scanned=');
    } finally {
      await sql(DB, 'ALTER TABLE invoice_line_items_away RENAME TO invoice_line_items');
    }
  });

  it('the CLI killed mid-run: the run continues; status shows progress; run again reattaches; pause/resume ack', async () => {
    // Small batches over 60,000 invoices keep the run going for many seconds (batches run back to back inside
    // each activity), so the kill, the two status reads and the pause all land mid-run.
    const child = startFrameworks(
      ['cluster', 'data-migrate', 'run', 'purser.invoice-line-items', '--batch-size', '25', '--manifest', manifest],
      env(),
    );
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    // Off a terminal a progress line is printed on each state change and every 5 s.
    await waitFor('a progress line', () => /running: [\d,]+ of/.test(out));
    child.kill('SIGKILL');
    expect(out).toMatch(/purser\.invoice-line-items running: [\d,]+ of ~[\d,]+ rows scanned/);

    const status = await cli(['status', 'purser.invoice-line-items', '--json']);
    expect(status.code).toBe(0);
    type Report = { progress: { state: string; totals: { scanned: number } }; run: { status: string } };
    const s1 = JSON.parse(status.stdout) as Report;
    expect(s1.progress.state).toBe('running');
    expect(s1.run.status).toBe('RUNNING');
    await new Promise((r) => setTimeout(r, 1_000));
    const s2 = JSON.parse((await cli(['status', 'purser.invoice-line-items', '--json'])).stdout) as Report;
    expect(s2.progress.totals.scanned).toBeGreaterThan(s1.progress.totals.scanned);

    const paused = await cli(['pause', 'purser.invoice-line-items']);
    expect(paused.code, `${paused.stdout}\n${paused.stderr}`).toBe(0);
    expect(paused.stdout).toContain(
      'purser.invoice-line-items paused (acknowledged by run fw/cli-dm/data/purser.invoice-line-items)',
    );
    const resumed = await cli(['resume', 'purser.invoice-line-items']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/purser\.invoice-line-items (running|completed) \(acknowledged/);

    const again = await cli(['run', 'purser.invoice-line-items']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Attaching to the running purser.invoice-line-items');
    expect(again.stdout).toContain('purser.invoice-line-items completed');
    const [agg] = await sql<{ n: number }>(DB, 'SELECT count(*)::int AS n FROM invoice_line_items');
    expect(agg!.n).toBe(seed.lineItems);

    const done = await cli(['run', 'purser.invoice-line-items']);
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('already completed');
    // Reattaching to a finished backfill states what it did; no live rate or ETA that reads as a stalled run.
    expect(done.stdout).toMatch(
      /purser\.invoice-line-items completed: [\d,]+ rows scanned, [\d,]+ changed, 0 errors\n/,
    );
    expect(done.stdout).not.toContain('rows/s');
    expect(done.stdout).not.toContain('ETA');

    // `status --json` has one shape whether the run is live or finished.
    const finished = JSON.parse((await cli(['status', 'purser.invoice-line-items', '--json'])).stdout) as Report;
    expect(Object.keys(finished).sort()).toEqual(Object.keys(s1).sort());
    expect(Object.keys(finished).sort()).toEqual(['attention', 'job', 'migration', 'progress', 'run', 'worker']);
    expect(finished.progress.state).toBe('completed');
    expect(finished.run.status).toBe('COMPLETED');
  }, 150_000);

  it('runs list shows the runs of this cluster from visibility; runs watch reattaches to a finished one', async () => {
    const list = await frameworksAsync(['cluster', 'runs', 'list', '--manifest', manifest, '--json'], env());
    expect(list.code).toBe(0);
    const runs = JSON.parse(list.stdout) as { workflowId: string; operation?: string; status: string }[];
    expect(
      runs.some((r) => r.workflowId === 'fw/cli-dm/data/purser.invoice-line-items' && r.operation === 'data-migrate'),
    ).toBe(true);
    const watch = await frameworksAsync(
      ['cluster', 'runs', 'watch', 'fw/cli-dm/data/purser.invoice-line-items'],
      env(),
    );
    expect(watch.code).toBe(0);
    expect(watch.stdout).toMatch(/purser\.invoice-line-items completed/);
  });

  it('verify prints a table of checks and exits 1 on any mismatch', async () => {
    const ok = await cli(['verify', 'purser.invoice-line-items']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('verified');
    await sql(
      DB,
      'UPDATE invoice_line_items SET amount_cents = amount_cents + 1 WHERE id = (SELECT min(id) FROM invoice_line_items)',
    );
    const bad = await cli(['verify', 'purser.invoice-line-items']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('MISMATCH');
    expect(bad.stderr).toMatch(/check\(s\) do not match/);
  });
});
