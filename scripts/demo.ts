// `npm run demo`: brings up the local Temporal dev server (Web UI), the network-namespace lab (three hosts,
// registry, release repository, PostgreSQL) at v0.1.0 and a worker, then walks the seed's recommended upgrade
// flow to v0.2.0 and a bad release that rolls back, printing every command and its real output. Leaves Temporal
// and the lab up for exploring; `npm run demo -- --down` removes both (by the pids and names they recorded).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { HOSTS } from '../lab/config';
import { labDown, labUp, type LabState } from '../lab/lab';
import { insertInvoices } from '../lab/purser-invoices';
import { acquireLabForTest, releaseLabForTest } from '../lab/lock';
import { ensureAll } from './deps';
import { locateOrInstallTemporal, PROJECT_ROOT } from '../temporal-dev/locate';
import { freePort, isPortFree, startDevServer, waitForTemporal } from '../temporal-dev/server';
import {
  ensureDetachedPostgresServer,
  stopDetachedPostgresServer,
  temporalKind,
} from '../temporal-dev/postgres-server';

const STATE_DIR = join(PROJECT_ROOT, '.data', 'demo');
const STATE_FILE = join(STATE_DIR, 'state.json');
const PG_TEMPORAL_DIR = join(STATE_DIR, 'temporal-postgres');
const CLI = join(PROJECT_ROOT, 'bin', 'frameworks');

interface DemoState {
  pid?: number;
  address: string;
  uiUrl?: string;
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
  if (temporalKind() === 'postgres') {
    // FW_TEMPORAL=postgres: the production-shaped server instead (built once, PostgreSQL, separate Web UI).
    const port = (await isPortFree(7233)) ? 7233 : await freePort();
    const uiPort = (await isPortFree(port + 1000)) ? port + 1000 : await freePort();
    const s = await ensureDetachedPostgresServer(PG_TEMPORAL_DIR, { port, uiPort, log: (l) => console.log(`  ${l}`) });
    return { address: s.address, ...(s.uiUrl ? { uiUrl: s.uiUrl } : {}) };
  }
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
  writeFileSync(STATE_FILE, JSON.stringify(state));
  return state;
}

async function down(): Promise<void> {
  // The lab first (it removes only what it created, by pid and by name), then the demo's Temporal server.
  const report = await labDown({ log: (l) => console.log(`  ${l}`) });
  console.log(report.leftovers.length === 0 ? 'Lab removed.' : `Lab left behind: ${report.leftovers.join(', ')}`);
  await stopDetachedPostgresServer(PG_TEMPORAL_DIR, (l) => console.log(l));
  if (!existsSync(STATE_FILE)) {
    console.log('No recorded Temporal dev server to stop.');
    return;
  }
  const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as DemoState;
  if (alive(state.pid)) {
    process.kill(state.pid!, 'SIGTERM');
    console.log(`Stopped the demo's Temporal dev server (pid ${state.pid}).`);
  }
  rmSync(STATE_FILE, { force: true });
}

/** Runs one CLI command with its real output; an unexpected exit code stops the demo. */
function runCli(args: string[], env: NodeJS.ProcessEnv, expectExit: number | number[]): void {
  console.log(`\n$ frameworks ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: 'inherit', env });
  const ok = Array.isArray(expectExit) ? expectExit : [expectExit];
  if (r.status === null || !ok.includes(r.status)) {
    throw new Error(`\`frameworks ${args.join(' ')}\` exited ${r.status}, expected ${ok.join(' or ')}`);
  }
}

async function startWorker(
  env: NodeJS.ProcessEnv,
  manifest: string,
  metrics: string,
): Promise<ReturnType<typeof spawn>> {
  const logFile = join(STATE_DIR, 'worker.log');
  const worker = spawn(process.execPath, [CLI, 'worker', '--manifest', manifest, '--metrics', metrics], {
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
  console.log(`its Prometheus metrics: http://${metrics}/metrics`);
  return worker;
}

/** What `curl …/metrics` shows: every orchestrator counter, and how many SDK samples sit beside them. */
async function showMetrics(address: string): Promise<void> {
  console.log(`\n$ curl -s http://${address}/metrics | grep -E '^(frameworks|temporal)_'`);
  const lines = (await (await fetch(`http://${address}/metrics`)).text()).split('\n');
  for (const line of lines.filter((l) => l.startsWith('frameworks_')).sort()) console.log(line);
  const sdk = lines.filter((l) => l.startsWith('temporal_'));
  const completed = sdk.filter((l) => l.startsWith('temporal_workflow_completed{'));
  for (const line of completed) console.log(line);
  console.log(`… and ${sdk.length - completed.length} more temporal_* samples (task slots, polls, latencies)`);
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
  // A fresh Debian machine: install the packages the lab needs first (as root), or say what to run.
  ensureAll((l) => console.log(l));
  mkdirSync(STATE_DIR, { recursive: true }); // worker log, release cache, Temporal's db file
  say('1. Temporal dev server (durable runs + Web UI)');
  const temporal = await ensureTemporal();
  console.log(`Temporal at ${temporal.address}; Web UI ${temporal.uiUrl ?? '(from TEMPORAL_ADDRESS)'}`);

  say('2. The lab cluster: three hosts (h1 boots real systemd; h2, h3 have their own sshd and dockerd), a registry,');
  console.log('   a release repository with v0.1.0, v0.2.0, v0.2.1 (bad foghorn) and v0.3.0-rc1, PostgreSQL; v0.1.0');
  console.log("   installed as the FrameWorks provisioner installs it (h1's natives are adopted on the first upgrade)");
  // Tests bring the same lab up and down: take their lock while the demo drives it.
  await acquireLabForTest();
  let lab: LabState;
  try {
    lab = await labUp({ fresh: true, log: (l) => console.log(`   ${l}`) });
  } catch (err) {
    releaseLabForTest();
    throw err;
  }
  const dbUrl = /FRAMEWORKS_DATABASE_URL=(\S+)/.exec(readFileSync(lab.envFile!, 'utf8'))![1]!;
  const manifest = lab.clusterFile!;
  console.log(`cluster.yaml ${manifest}; hosts ${HOSTS.map((h) => `${h.name} ${h.address}`).join(', ')}`);
  const ui = temporal.uiUrl;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    FRAMEWORKS_DATABASE_URL: dbUrl,
    FRAMEWORKS_MANIFEST: manifest,
    ...(ui ? { FRAMEWORKS_TEMPORAL_UI_URL: ui } : {}),
    FRAMEWORKS_CACHE_DIR: join(STATE_DIR, 'cache'),
    // Health waits short enough for a demo (production: every 5 s, 90 s deadline).
    FRAMEWORKS_HEALTH_INTERVAL: '500 milliseconds',
    FRAMEWORKS_HEALTH_DEADLINE: '6 seconds',
  };
  const svc = 'purser.invoice-line-items';

  say('3. A worker for cluster "lab" near the hosts; it alone holds the database URL and the SSH key');
  const metrics = `127.0.0.1:${await freePort()}`;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  try {
    worker = await startWorker(env, manifest, metrics);
  } catch (err) {
    releaseLabForTest();
    throw err;
  }
  try {
    say('4. The databases as v0.1.0 left them: its schema, and 20,000 invoices written by v0.1.0 binaries');
    runCli(['cluster', 'migrate', '--phase', 'expand', '--to-version', 'v0.1.0', '--yes'], env, 0);
    await seedInvoices(dbUrl, 20_000);
    console.log('(seeded 20,000 purser invoices with their line items in the old JSONB column)');

    say('5. Status: what runs where (content identity read over SSH), health, and what is available');
    runCli(['cluster', 'status'], env, [0, 3]);

    say('6. What would upgrading to v0.2.0 do? (order, pinned identities, migrations by phase, gates)');
    runCli(['cluster', 'upgrade', 'plan', '--version', 'v0.2.0'], env, 0);

    say('7. Expand migrations first (additive: old and new binaries both work) — preview, then apply');
    runCli(['cluster', 'migrate', '--phase', 'expand', '--to-version', 'v0.2.0', '--dry-run'], env, 0);
    runCli(['cluster', 'migrate', '--phase', 'expand', '--to-version', 'v0.2.0', '--yes'], env, 0);

    say('8. Upgrade every service: dry-run (gates + detection, nothing changes), then for real');
    runCli(['cluster', 'upgrade', '--all', '--version', 'v0.2.0', '--dry-run'], env, 0);
    runCli(['cluster', 'upgrade', '--all', '--version', 'v0.2.0', '--yes'], env, 0);

    say('9. Contract is refused: the required data migration has not completed (gates fail closed)');
    runCli(['cluster', 'migrate', '--phase', 'contract', '--to-version', 'v0.2.0', '--yes'], env, 1);

    say('10. The data migration: list, dry-run, start detached, pause (acknowledged), status, resume, reattach');
    runCli(['cluster', 'data-migrate', 'list', '--to-version', 'v0.2.0'], env, 0);
    runCli(['cluster', 'data-migrate', 'run', svc, '--batch-size', '500', '--dry-run'], env, 0);
    runCli(['cluster', 'data-migrate', 'run', svc, '--batch-size', '200', '--detach'], env, 0);
    runCli(['cluster', 'data-migrate', 'pause', svc], env, 0);
    runCli(['cluster', 'data-migrate', 'status', svc], env, 0);
    runCli(['cluster', 'data-migrate', 'resume', svc], env, 0);
    runCli(['cluster', 'data-migrate', 'run', svc], env, 0);

    say('11. Verify: counts and totals of the old and new shapes; finalized invoices untouched');
    runCli(['cluster', 'data-migrate', 'verify', svc], env, 0);

    say('12. Postdeploy, then contract (drops the old JSONB column; needs --yes)');
    runCli(['cluster', 'migrate', '--phase', 'postdeploy', '--to-version', 'v0.2.0', '--yes'], env, 0);
    runCli(['cluster', 'migrate', '--phase', 'contract', '--to-version', 'v0.2.0', '--yes'], env, 0);

    say('13. Status and doctor on the upgraded cluster');
    runCli(['cluster', 'status'], env, [0, 3]);
    runCli(['cluster', 'doctor'], env, [0, 3]);

    say('14. A bad release: v0.2.1 ships a foghorn that never becomes healthy — it is rolled back automatically');
    runCli(['cluster', 'upgrade', '--all', '--version', 'v0.2.1', '--yes'], env, 1);
    runCli(['cluster', 'status'], env, [0, 3]);

    say('15. Every run of this cluster, from Temporal visibility');
    runCli(['cluster', 'runs', 'list'], env, 0);

    say("16. The worker's Prometheus metrics: the SDK's temporal_* and the orchestrator's frameworks_* counters");
    await showMetrics(metrics);
  } finally {
    worker.kill('SIGTERM');
    releaseLabForTest();
  }

  say('Done');
  if (ui) {
    console.log(
      `Every run above is in the Web UI: ${ui}/namespaces/default/workflows?query=${encodeURIComponent('FwCluster="lab"')}`,
    );
  }
  console.log(
    'The lab stays up for exploring (`frameworks dev lab status`; ssh command in `npx tsx lab/cli.ts status`).',
  );
  console.log(
    'One run for the whole flow next time: frameworks cluster release --version v0.2.0 --manifest ' + manifest,
  );
  console.log('Tear everything down with: npm run demo -- --down   (stops the lab, Temporal and the worker)');
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
