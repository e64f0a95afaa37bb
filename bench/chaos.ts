// The kill-point matrix (issue 15 item 1): `npx tsx bench/chaos.ts [--only <type:point>,…] [--points before,after,wft]`
// (`--render`: rewrite chaos.md from chaos.json; `--keep`: add this run's points to the saved matrix).
//
// The scenario is one `frameworks cluster release --version v0.2.0` on a fresh lab (v0.1.0 with 3,000 invoices):
// release → schemaMigrate (expand, postdeploy) → clusterUpgrade → serviceUpgrade (native on h1, docker on h2/h3)
// → dataMigration. A baseline run without chaos records every activity type those workflows schedule, read from
// the histories (not a hand list); then, for each type × point (before / after / wft, src/worker/chaos.ts), a fresh
// lab runs the scenario on a worker armed with that kill-point; when the worker dies it is restarted (the
// once-file keeps the restarted one from dying again) and at the end the invariants are checked:
//   final run state completed · every replica at exactly v0.2.0's identity and healthy · never two of a service's
//   replicas down at once · one ledger row per migration · backfill totals equal direct aggregates · no
//   duplicate host change (activate results in the histories, systemd starts of native services).
// Each lab run holds /work/lab-e2e.lock (flock) only for itself, so other lab users get turns between runs; each
// runs its own Temporal dev server. Results: bench/results/chaos.json and bench/results/chaos.md (the matrix).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { labPaths } from '../lab/config';
import { labDown, labUp } from '../lab/lab';
import { insertInvoices } from '../lab/purser-invoices';
import { CHAOS_POINTS } from '../src/worker/chaos';
import { locateOrInstallTemporal } from '../temporal-dev/locate';
import { startDevServer } from '../temporal-dev/server';
import {
  activityLog,
  hostChanges,
  nativeStarts,
  pinnedIdentity,
  replicaStates,
  runCli,
  startLabWorker,
  watchReplicasDown,
  type LabWorker,
} from '../lab/chaos-checks';

const ROOT = resolve(__dirname, '..');
const RESULTS = join(ROOT, 'bench', 'results');
const LOCK = process.env.FW_LAB_LOCK ?? '/work/lab-e2e.lock';
const CHANGE_ID = 'fw/lab/change';
const INVOICES = 3_000;
const RUN_TIMEOUT_MS = Number(process.env.CHAOS_RUN_TIMEOUT_MS ?? 15 * 60_000);
const log = (line: string): void => console.error(`[chaos] ${line}`);

export interface PointResult {
  point: string;
  /** killed: the kill-point was reached and the worker died there; not-reached: no such call in the run. */
  kill: 'killed' | 'not-reached' | 'baseline';
  outcome: 'ok' | 'violated' | 'error';
  violations: string[];
  workerRestarts: number;
  seconds: number;
  /** The code the point ran (`git rev-parse --short HEAD`, `+changes` with uncommitted src/ or lab/ changes). */
  code?: string;
  /** What the dying worker wrote into the once-file: `<pid> <type>:<point> (<attempt or workflow>) <time>`. */
  killedAt?: string;
  activityTypes?: string[];
  /** The subset of activityTypes run as local activities (recorded as markers, no task-queue round trip). */
  localActivityTypes?: string[];
}

async function query<T extends pg.QueryResultRow>(url: string, db: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: `${url}/${db}` });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

/** One scenario run on a fresh lab; `point` undefined = the baseline. Runs inside the lab lock (see main). */
async function runOne(point: string | undefined): Promise<PointResult> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'fw-chaos-'));
  const violations: string[] = [];
  const workers: LabWorker[] = [];
  let stopServer: (() => Promise<void>) | undefined;
  let restarts = 0;
  const once = join(dir, 'chaos-once');
  try {
    const state = await labUp({ fresh: true, log: (l) => log(`lab: ${l}`) });
    const paths = labPaths(state.root);
    const dbUrl = /FRAMEWORKS_DATABASE_URL=(\S+)/.exec(readFileSync(state.envFile!, 'utf8'))![1]!;
    delete process.env.TEMPORAL_ADDRESS;
    const server = await startDevServer(locateOrInstallTemporal(log), {
      port: 0,
      dbFile: join(dir, 'temporal.db'),
      logFile: join(dir, 'temporal.log'),
      readyTimeoutMs: 60_000,
    });
    stopServer = () => server.stop();
    const env: NodeJS.ProcessEnv = {
      TEMPORAL_ADDRESS: server.address,
      FRAMEWORKS_DATABASE_URL: dbUrl,
      FRAMEWORKS_CACHE_DIR: join(dir, 'cache'),
      FRAMEWORKS_HEALTH_INTERVAL: '500 milliseconds',
      FRAMEWORKS_HEALTH_DEADLINE: '30 seconds',
    };
    const cli = (args: string[]) => runCli(['cluster', ...args, '--manifest', state.clusterFile!], env, RUN_TIMEOUT_MS);
    // The cluster as v0.1.0 left it, before chaos is armed (the setup is not the subject).
    workers.push(await startLabWorker(state.clusterFile!, env));
    const base = await cli(['migrate', '--phase', 'expand', '--to-version', 'v0.1.0', '--yes']);
    if (base.code !== 0) throw new Error(`setup expand failed:\n${base.stdout}\n${base.stderr}`);
    const c = new pg.Client({ connectionString: `${dbUrl}/purser` });
    await c.connect();
    await insertInvoices(c, INVOICES).finally(() => c.end());
    await workers[0]!.kill('SIGTERM');

    const chaosEnv = point
      ? {
          ...env,
          FRAMEWORKS_CHAOS: point,
          FRAMEWORKS_CHAOS_LAB: '1',
          FRAMEWORKS_CHAOS_ONCE: once,
        }
      : env;
    workers.push(await startLabWorker(state.clusterFile!, chaosEnv));
    const startsBefore = nativeStarts(paths);
    const down = watchReplicasDown();
    const start = await cli(['release', '--version', 'v0.2.0', '--yes', '--detach']);
    if (start.code !== 0) throw new Error(`release did not start:\n${start.stdout}\n${start.stderr}`);

    const client = new Client({
      connection: await Connection.connect({ address: server.address }),
    });
    try {
      // Supervise: a dead worker is restarted (as systemd would), until the run ends.
      let ended = false;
      const result = client.workflow
        .getHandle(CHANGE_ID)
        .result()
        .finally(() => (ended = true));
      // A failed run is a finding, read after the loop: never an unhandled rejection that kills the harness.
      result.catch(() => {});
      const deadline = Date.now() + RUN_TIMEOUT_MS;
      while (!ended) {
        const w = workers[workers.length - 1]!;
        if (w.child.exitCode !== null || w.child.signalCode !== null) {
          log(`worker ${w.child.pid} died (${w.child.signalCode ?? w.child.exitCode}); restarting`);
          restarts++;
          workers.push(await startLabWorker(state.clusterFile!, chaosEnv));
        }
        if (Date.now() > deadline) throw new Error(`run not finished in ${RUN_TIMEOUT_MS / 1000} s`);
        await new Promise((r) => setTimeout(r, 500));
      }
      const final = (await result.catch((err: unknown) => ({
        state: `failed: ${String(err)}`,
      }))) as {
        state: string;
      };
      if (final.state !== 'completed') violations.push(`run ended ${final.state}`);
      const overlaps = await down.stop();
      violations.push(...overlaps.map((o) => `replicas down together: ${o}`));

      // Hosts: every replica at v0.2.0 and healthy; one change per replica; native services started once more.
      const snap = await replicaStates(paths);
      for (const [key, r] of Object.entries(snap)) {
        const want = pinnedIdentity(state.releaseRepository!, 'v0.2.0', key.split('@')[0]!);
        if (r.identity !== want) violations.push(`${key} at ${r.identity}, not v0.2.0 (${want})`);
        if (r.health !== 200) violations.push(`${key} /health ${r.health}`);
      }
      const acts = await activityLog(client, 'fw/lab/');
      for (const [k, n] of Object.entries(hostChanges(acts))) if (n > 1) violations.push(`${k} changed ${n} times`);
      const startsAfter = nativeStarts(paths);
      for (const [k, n] of Object.entries(startsBefore)) {
        if (startsAfter[k] !== n + 1) violations.push(`${k} started ${startsAfter[k]! - n} times (want 1)`);
      }
      // Ledgers: one row per migration in every database.
      for (const db of ['quartermaster', 'commodore', 'purser', 'foghorn']) {
        const dup = await query<{ k: string }>(
          dbUrl,
          db,
          'SELECT version || phase || seq AS k FROM _migrations GROUP BY version, phase, seq HAVING count(*) > 1',
        ).catch(() => []);
        for (const d of dup) violations.push(`${db}: ledger row ${d.k} twice`);
      }
      // Data: totals equal direct aggregates; the run counted each invoice exactly once.
      const [src] = await query<{ n: number; amount: string }>(
        dbUrl,
        'purser',
        'SELECT sum(jsonb_array_length(line_items))::int AS n FROM invoices',
      );
      const [copied] = await query<{ n: number }>(dbUrl, 'purser', 'SELECT count(*)::int AS n FROM invoice_line_items');
      if (copied!.n !== src!.n) violations.push(`line items ${copied!.n} != source ${src!.n}`);
      const [scanned] = await query<{ n: number }>(
        dbUrl,
        'purser',
        'SELECT COALESCE(sum(scanned_count), 0)::int AS n FROM _data_migration_runs',
      ).catch(() => [{ n: -1 }]);
      if (scanned!.n !== INVOICES) violations.push(`data migration scanned ${scanned!.n} != ${INVOICES} invoices`);

      const types = [...new Set(acts.map((a) => a.activityType))].sort();
      const localTypes = [...new Set(acts.filter((a) => a.local).map((a) => a.activityType))].sort();
      return {
        point: point ?? 'baseline',
        kill: point ? (existsSync(once) ? 'killed' : 'not-reached') : 'baseline',
        outcome: violations.length ? 'violated' : 'ok',
        violations,
        workerRestarts: restarts,
        seconds: Math.round((Date.now() - started) / 1000),
        ...(existsSync(once) ? { killedAt: readFileSync(once, 'utf8').trim() } : {}),
        ...(point ? {} : { activityTypes: types, localActivityTypes: localTypes }),
      };
    } finally {
      await client.connection.close();
    }
  } catch (err) {
    return {
      point: point ?? 'baseline',
      kill: point ? (existsSync(once) ? 'killed' : 'not-reached') : 'baseline',
      outcome: 'error',
      violations: [...violations, err instanceof Error ? err.message : String(err)],
      workerRestarts: restarts,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    for (const w of workers) await w.kill('SIGKILL');
    await stopServer?.();
    await labDown().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs one point in a child process that holds the lab lock for that run only. */
function runLocked(point: string | undefined): Promise<PointResult> {
  return new Promise((done) => {
    const args = ['tsx', join(ROOT, 'bench', 'chaos.ts'), '--one', point ?? 'baseline'];
    const child = spawn('flock', [LOCK, 'npx', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', () => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      done(
        line
          ? { ...(JSON.parse(line.slice(7)) as PointResult), code: codeVersion() }
          : {
              point: point ?? 'baseline',
              kill: 'not-reached',
              outcome: 'error',
              violations: ['harness child printed no result'],
              workerRestarts: 0,
              seconds: 0,
            },
      );
    });
  });
}

/** The code a point runs: HEAD, marked when src/ or lab/ have uncommitted changes. */
function codeVersion(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT }).stdout.toString().trim();
  return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src', 'lab') ? '+changes' : ''}`;
}

function matrixMarkdown(results: PointResult[], types: string[], localTypes: string[], planned: string[]): string {
  const cell = (r: PointResult | undefined): string =>
    !r ? '—' : r.outcome === 'ok' ? (r.kill === 'killed' ? 'ok' : 'ok (not reached)') : `**${r.outcome}**`;
  const runs = results.filter((r) => r.kill !== 'baseline');
  const missed = planned.filter((p) => !runs.some((r) => r.point === p)).length;
  const all = types.length * CHAOS_POINTS.length;
  const bad = results.filter((r) => r.outcome !== 'ok');
  const lines = [
    '# Kill-point matrix (bench/chaos.ts)',
    '',
    `Scenario: \`frameworks cluster release --version v0.2.0\` on a fresh lab. Rendered ${new Date().toISOString()}; ` +
      'each run below names the code it ran (a partial run, `--keep`, adds to the runs before it).',
    `${runs.length} of the ${all} kill-points (${types.length} activity types × ${CHAOS_POINTS.length} points) ran in ` +
      `this result${missed ? `; ${missed} more were planned and did not run` : ''}. ` +
      '`—` = not run in this result (run the whole matrix with `npx tsx bench/chaos.ts`).',
    '',
    `| activity type | ${CHAOS_POINTS.join(' | ')} |`,
    `| --- | ${CHAOS_POINTS.map(() => '---').join(' | ')} |`,
  ];
  for (const t of types) {
    const name = localTypes.includes(t) ? `${t} (local)` : t;
    lines.push(
      `| ${name} | ${CHAOS_POINTS.map((p) => cell(results.find((r) => r.point === `${t}:${p}`))).join(' | ')} |`,
    );
  }
  lines.push('', '## Runs', '', '| run | code | kill | outcome | worker restarts | seconds | where the worker died |');
  lines.push('| --- | --- | --- | --- | ---: | ---: | --- |');
  for (const r of results) {
    const at = r.killedAt?.replace(/^\d+ /, '').replace(/ \S+$/, '') ?? '';
    const code = r.code ?? '?';
    lines.push(`| ${r.point} | ${code} | ${r.kill} | ${r.outcome} | ${r.workerRestarts} | ${r.seconds} | ${at} |`);
  }
  lines.push(
    '',
    bad.length
      ? '## Failures'
      : runs.length
        ? `Every kill-point that ran (${runs.length}) ended with the invariants holding.`
        : 'No kill-point ran.',
  );
  for (const r of bad) lines.push(`- ${r.point}: ${r.violations.join('; ')}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const oneAt = argv.indexOf('--one');
  if (oneAt >= 0) {
    const p = argv[oneAt + 1]!;
    const r = await runOne(p === 'baseline' ? undefined : p);
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
    process.exit(0);
  }
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv.includes('--render')) {
    // Rewrites chaos.md from chaos.json (no lab run).
    const saved = JSON.parse(readFileSync(join(RESULTS, 'chaos.json'), 'utf8')) as {
      activityTypes: string[];
      localActivityTypes?: string[];
      planned?: string[];
      results: PointResult[];
    };
    const md = matrixMarkdown(saved.results, saved.activityTypes, saved.localActivityTypes ?? [], saved.planned ?? []);
    writeFileSync(join(RESULTS, 'chaos.md'), md);
    process.stdout.write(md);
    return;
  }
  const points = (opt('--points') ?? CHAOS_POINTS.join(',')).split(',');
  log('baseline run (no chaos): which activity types the scenario schedules');
  const baseline = await runLocked(undefined);
  if (baseline.outcome !== 'ok' || !baseline.activityTypes) {
    log(`baseline failed: ${baseline.violations.join('; ')}`);
    process.exit(1);
  }
  const types = baseline.activityTypes;
  log(`activity types: ${types.join(', ')}`);
  const only = opt('--only')?.split(',');
  const matrix = only ?? types.flatMap((t) => points.map((p) => `${t}:${p}`));
  const results: PointResult[] = [baseline];
  // --keep: a partial run adds to the saved matrix (same activity types) instead of replacing it.
  if (argv.includes('--keep') && existsSync(join(RESULTS, 'chaos.json'))) {
    const saved = JSON.parse(readFileSync(join(RESULTS, 'chaos.json'), 'utf8')) as {
      activityTypes: string[];
      results: PointResult[];
    };
    if (saved.activityTypes.join() === types.join()) {
      results.push(...saved.results.filter((r) => r.kill !== 'baseline' && !matrix.includes(r.point)));
    }
  }
  // Written after every point, so a run cut short (or a deadline) still leaves what did run; `—` marks the rest.
  const save = (): string => {
    mkdirSync(RESULTS, { recursive: true });
    const json = {
      activityTypes: types,
      localActivityTypes: baseline.localActivityTypes,
      planned: matrix,
      results,
    };
    writeFileSync(join(RESULTS, 'chaos.json'), `${JSON.stringify(json, null, 2)}\n`);
    const md = matrixMarkdown(results, types, baseline.localActivityTypes ?? [], matrix);
    writeFileSync(join(RESULTS, 'chaos.md'), md);
    return md;
  };
  save();
  for (const p of matrix) {
    log(`── ${p}`);
    const r = await runLocked(p);
    log(`${p}: ${r.kill}, ${r.outcome} in ${r.seconds} s${r.violations.length ? `: ${r.violations.join('; ')}` : ''}`);
    results.push(r);
    save();
  }
  process.stdout.write(save());
  process.exit(results.every((r) => r.outcome === 'ok') ? 0 : 1);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
