// `npm run demo`: brings up the local Temporal dev server (Web UI) and a worker, then walks the operator flow
// that works in this build, printing every command and its real output. Leaves Temporal running for exploring;
// `npm run demo -- --down` stops it (by the pid the demo recorded).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  writeFileSync(STATE_FILE, JSON.stringify(state));
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

async function main(): Promise<void> {
  if (process.argv.includes('--down')) return down();
  say('1. Temporal dev server (durable runs + Web UI)');
  const temporal = await ensureTemporal();
  console.log(`Temporal at ${temporal.address}; Web UI ${temporal.uiUrl ?? '(from TEMPORAL_ADDRESS)'}`);
  const ui = temporal.uiUrl;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    ...(ui ? { FRAMEWORKS_TEMPORAL_UI_URL: ui } : {}),
    FRAMEWORKS_CACHE_DIR: join(STATE_DIR, 'cache'),
  };

  say('2. A worker for cluster "lab" (test/fixtures/cluster/cluster.yaml)');
  const worker = await startWorker(env);
  try {
    say('3. What would upgrading to v0.2.0 do? (a read-only workflow on the worker)');
    runCli(['cluster', 'upgrade', 'plan', '--manifest', MANIFEST, '--version', 'v0.2.0'], env, 0);

    say('4. The rc channel: resolved through channels/rc.yaml and pinned to a concrete version');
    runCli(['cluster', 'upgrade', 'plan', '--manifest', MANIFEST, '--version', 'rc'], env, 0);

    say('5. Bad input is refused before any run starts (non-canonical version)');
    runCli(['cluster', 'upgrade', 'plan', '--manifest', MANIFEST, '--version', 'v0.02.0'], env, 1);
  } finally {
    worker.kill('SIGTERM');
  }

  say('Done');
  if (ui) {
    console.log(
      `Every run above is in the Web UI: ${ui}/namespaces/default/workflows?query=${encodeURIComponent('FwCluster="lab"')}`,
    );
  }
  console.log('Coming next (see the open issues): migrate with the checksum ledger, data-migrate with pause/resume,');
  console.log('upgrade --all on a lab of network-namespace hosts with rollback, then status, doctor and release.');
  console.log('The Temporal dev server keeps running for exploring; stop it with: npm run demo -- --down');
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
