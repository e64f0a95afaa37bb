// `npm run demo`: brings up the local Temporal dev server (Web UI) and a worker, then walks the operator flow
// that works in this build, printing every command and its real output. Leaves Temporal running for exploring;
// `npm run demo -- --down` stops it (by the pid the demo recorded).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ensurePostgres, reachableDataDir } from '../lab/postgres';
import { insertInvoices } from '../lab/purser-invoices';
import { locateOrInstallTemporal, PROJECT_ROOT } from '../temporal-dev/locate';
import { freePort, isPortFree, startDevServer, waitForTemporal } from '../temporal-dev/server';

const STATE_DIR = join(PROJECT_ROOT, '.data', 'demo');
const STATE_FILE = join(STATE_DIR, 'state.json');
const MANIFEST = join(PROJECT_ROOT, 'test', 'fixtures', 'cluster', 'cluster.yaml');
const CLI = join(PROJECT_ROOT, 'bin', 'frameworks');

interface DemoState {
  pid?: number;
  address: string;
  uiUrl?: string;
  pgUrl?: string;
  pgPid?: number;
}

const say = (text: string): void => console.log(`\n\x1b[1m▶ ${text}\x1b[0m`);

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function ensureTemporal(): Promise<DemoState> {
  if (process.env.TEMPORAL_ADDRESS) return { address: process.env.TEMPORAL_ADDRESS };
  if (existsSync(STATE_FILE)) {
    const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as DemoState;
    if (alive(state.pid)) {
      await waitForTemporal(state.address, 15_000);
      console.log(`Reusing the demo's Temporal dev server (pid ${state.pid}) at ${state.address}`);
      return state;
    }
  }
  const source = locateOrInstallTemporal((l) => console.log(`  ${l}`));
  const port = (await isPortFree(7233)) ? 7233 : await freePort();
  const uiPort = (await isPortFree(port + 1000)) ? port + 1000 : await freePort();
  mkdirSync(STATE_DIR, { recursive: true });
  const server = await startDevServer(source, {
    port,
    uiPort,
    dbFile: join(STATE_DIR, 'temporal.db'),
    logFile: join(STATE_DIR, 'temporal.log'),
    detached: true,
    readyTimeoutMs: 60_000,
  });
  const state: DemoState = {
    ...(server.pid ? { pid: server.pid } : {}),
    address: server.address,
    ...(server.uiUrl ? { uiUrl: server.uiUrl } : {}),
  };
  // Merge: the PostgreSQL of an earlier run may still be recorded (and running).
  const before = existsSync(STATE_FILE) ? (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as Partial<DemoState>) : {};
  writeFileSync(STATE_FILE, JSON.stringify({ ...before, ...state }));
  return state;
}

function down(): void {
  if (!existsSync(STATE_FILE)) {
    console.log('Nothing to stop: the demo has no recorded Temporal dev server.');
    return;
  }
  const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as DemoState;
  if (alive(state.pid)) {
    process.kill(state.pid!, 'SIGTERM');
    console.log(`Stopped the demo's Temporal dev server (pid ${state.pid}).`);
  }
  if (alive(state.pgPid)) {
    process.kill(state.pgPid!, 'SIGINT');
    console.log(`Stopped the demo's PostgreSQL (pid ${state.pgPid}).`);
  }
  rmSync(STATE_FILE, { force: true });
}

function runCli(args: string[], env: NodeJS.ProcessEnv, expectExit: number): void {
  console.log(`\n$ frameworks ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: 'inherit', env });
  if (r.status !== expectExit) {
    throw new Error(`\`frameworks ${args.join(' ')}\` exited ${r.status}, expected ${expectExit}`);
  }
}

async function startWorker(env: NodeJS.ProcessEnv): Promise<ReturnType<typeof spawn>> {
  const logFile = join(STATE_DIR, 'worker.log');
  const worker = spawn(process.execPath, [CLI, 'worker', '--manifest', MANIFEST], {
    env,
    stdio: ['ignore', 'pipe', openSync(logFile, 'a')],
  });
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready after 60 s; see ${logFile}`)), 60_000);
    let buf = '';
    worker.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      if (buf.includes('worker ready')) {
        clearTimeout(timer);
        resolveReady();
      }
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}; see ${logFile}`));
    });
  });
  console.log(`worker ready (pid ${worker.pid}), serving task queue fw-lab; logs in ${logFile}`);
  return worker;
}

async function ensureDatabases(): Promise<string> {
  const dataDir = reachableDataDir(join(STATE_DIR, 'pg'), 'fw-demo-pg');
  const state = existsSync(STATE_FILE) ? (JSON.parse(readFileSync(STATE_FILE, 'utf8')) as DemoState) : undefined;
  let url = state?.pgUrl;
  if (!url || !alive(state?.pgPid)) {
    const pg0 = await ensurePostgres({ dataDir, fast: true });
    url = pg0.url;
    writeFileSync(STATE_FILE, JSON.stringify({ ...(state ?? {}), pgUrl: url, ...(pg0.pid ? { pgPid: pg0.pid } : {}) }));
  }
  // Fresh, empty databases each run, so the demo always shows the same story.
  const admin = new pg.Client({ connectionString: `${url}/postgres` });
  await admin.connect();
  try {
    for (const db of ['quartermaster', 'purser', 'commodore', 'foghorn']) {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${db}`);
    }
  } finally {
    await admin.end();
  }
  return url;
}

async function seedInvoices(url: string, rows: number): Promise<void> {
  const c = new pg.Client({ connectionString: `${url}/purser` });
  await c.connect();
  try {
    await insertInvoices(c, rows);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--down')) return down();
  say('1. Temporal dev server (durable runs + Web UI) and PostgreSQL');
  const temporal = await ensureTemporal();
  console.log(`Temporal at ${temporal.address}; Web UI ${temporal.uiUrl ?? '(from TEMPORAL_ADDRESS)'}`);
  const dbUrl = await ensureDatabases();
  console.log(`PostgreSQL at ${dbUrl} with empty databases quartermaster, purser, commodore, foghorn`);
  const ui = temporal.uiUrl;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    FRAMEWORKS_DATABASE_URL: dbUrl,
    ...(ui ? { FRAMEWORKS_TEMPORAL_UI_URL: ui } : {}),
    FRAMEWORKS_CACHE_DIR: join(STATE_DIR, 'cache'),
  };
  const m = ['--manifest', MANIFEST];

  say('2. A worker for cluster "lab" (test/fixtures/cluster/cluster.yaml); it alone holds the database URL');
  const worker = await startWorker(env);
  try {
    say('3. The cluster as a v0.1.0 release left it: its schema, and 20,000 invoices written by v0.1.0 binaries');
    runCli(['cluster', 'migrate', ...m, '--phase', 'expand', '--to-version', 'v0.1.0', '--yes'], env, 0);
    await seedInvoices(dbUrl, 20_000);
    console.log('(seeded 20,000 purser invoices with their line items in the old JSONB column)');

    say('4. What would upgrading to v0.2.0 do? (a read-only workflow: order, pinned identities, migrations, gates)');
    runCli(['cluster', 'upgrade', 'plan', ...m, '--version', 'v0.2.0'], env, 0);

    say('5. Preview, then apply, the v0.2.0 expand migrations (additive; old and new binaries both work)');
    runCli(['cluster', 'migrate', ...m, '--phase', 'expand', '--to-version', 'v0.2.0', '--dry-run'], env, 0);
    runCli(['cluster', 'migrate', ...m, '--phase', 'expand', '--to-version', 'v0.2.0', '--yes'], env, 0);

    say('6. Contract is refused: the required data migration has not completed (gates fail closed)');
    runCli(['cluster', 'migrate', ...m, '--phase', 'contract', '--to-version', 'v0.2.0', '--yes'], env, 1);

    say('7. The data migration: list, start detached, pause (acknowledged), status, resume, reattach until done');
    runCli(['cluster', 'data-migrate', 'list', ...m, '--to-version', 'v0.2.0'], env, 0);
    runCli(
      ['cluster', 'data-migrate', 'run', 'purser.invoice-line-items', ...m, '--batch-size', '500', '--dry-run'],
      env,
      0,
    );
    runCli(
      ['cluster', 'data-migrate', 'run', 'purser.invoice-line-items', ...m, '--batch-size', '200', '--detach'],
      env,
      0,
    );
    runCli(['cluster', 'data-migrate', 'pause', 'purser.invoice-line-items', ...m], env, 0);
    runCli(['cluster', 'data-migrate', 'status', 'purser.invoice-line-items', ...m], env, 0);
    runCli(['cluster', 'data-migrate', 'resume', 'purser.invoice-line-items', ...m], env, 0);
    runCli(['cluster', 'data-migrate', 'run', 'purser.invoice-line-items', ...m], env, 0);

    say('8. Verify: counts and totals of the old and new shapes; finalized invoices untouched');
    runCli(['cluster', 'data-migrate', 'verify', 'purser.invoice-line-items', ...m], env, 0);

    say('9. Postdeploy, then contract (drops the old JSONB column; needs --yes)');
    runCli(['cluster', 'migrate', ...m, '--phase', 'postdeploy', '--to-version', 'v0.2.0', '--yes'], env, 0);
    runCli(['cluster', 'migrate', ...m, '--phase', 'contract', '--to-version', 'v0.2.0', '--yes'], env, 0);

    say('10. The rc channel resolves through channels/rc.yaml; bad input is refused before any run starts');
    runCli(['cluster', 'upgrade', 'plan', ...m, '--version', 'rc'], env, 0);
    runCli(['cluster', 'upgrade', 'plan', ...m, '--version', 'v0.02.0'], env, 1);

    say('11. Every run of this cluster, from Temporal visibility');
    runCli(['cluster', 'runs', 'list', ...m], env, 0);
  } finally {
    worker.kill('SIGTERM');
  }

  say('Done');
  if (ui) {
    console.log(
      `Every run above is in the Web UI: ${ui}/namespaces/default/workflows?query=${encodeURIComponent('FwCluster="lab"')}`,
    );
  }
  console.log('Service upgrades on real hosts (`upgrade --all`, rollback) run on the network-namespace lab:');
  console.log(
    '`frameworks dev lab up` builds it (test/e2e/upgrade-lab.test.ts drives it); adding it to this demo is next.',
  );
  console.log('Temporal and PostgreSQL keep running for exploring; stop them with: npm run demo -- --down');
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
