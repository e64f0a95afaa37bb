// `npm run temporal` — the local Temporal dev server in the foreground, with a db file so runs survive restarts
// and the Web UI on :8233. `tsx temporal-dev/cli.ts where` prints which server/binary would be used;
// `install` installs the CLI into .tools/ without starting anything.
//
// The production-shaped server (postgres-server.ts): `build-server` builds it once into .tools/temporal-server/;
// `start --server postgres` runs it (PostgreSQL persistence + visibility, separate Web UI server) in the
// foreground, `--detach` leaves it running, and `stop --server postgres` stops a detached one by its pids.
import { join } from 'node:path';
import { locateOrInstallTemporal, PROJECT_ROOT } from './locate';
import {
  buildServer,
  ensureDetachedPostgresServer,
  findServerBuild,
  SERVER_TOOLS_DIR,
  startPostgresServer,
  stopDetachedPostgresServer,
} from './postgres-server';
import { startDevServer } from './server';

const POSTGRES_STATE_DIR = join(PROJECT_ROOT, '.data', 'temporal-postgres');
const USAGE =
  'usage: npm run temporal [-- start|where|install]\n' +
  '       npx tsx temporal-dev/cli.ts build-server [--check]\n' +
  '       npx tsx temporal-dev/cli.ts start --server postgres [--detach]\n' +
  '       npx tsx temporal-dev/cli.ts stop --server postgres';

const log = (line: string): void => console.error(line);

function ports(): { port: number; uiPort: number } {
  const port = Number(process.env.TEMPORAL_PORT ?? 7233);
  return { port, uiPort: Number(process.env.TEMPORAL_UI_PORT ?? port + 1000) };
}

function waitForSignal(stop: () => Promise<void>): void {
  console.log('Press Ctrl-C to stop.');
  const shutdown = (): void => {
    void stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

async function postgres(cmd: string, detach: boolean): Promise<void> {
  if (cmd === 'stop') {
    if (!(await stopDetachedPostgresServer(POSTGRES_STATE_DIR, log))) console.log('No detached server recorded.');
    return;
  }
  const ip = process.env.TEMPORAL_IP ?? '127.0.0.1';
  if (detach) {
    const s = await ensureDetachedPostgresServer(POSTGRES_STATE_DIR, { ip, ...ports(), log });
    console.log(`Temporal server ready: gRPC ${s.address}, Web UI ${s.uiUrl ?? '(none)'}, metrics ${s.metricsUrl}`);
    console.log(`PostgreSQL ${s.pgUrl} (databases temporal, temporal_visibility); pids ${s.pids.join(', ')}`);
    console.log('Stop it with: npx tsx temporal-dev/cli.ts stop --server postgres');
    return;
  }
  // Foreground: our own PostgreSQL in .data/ (runs survive restarts) unless DATABASE_URL names one.
  const { ensurePostgres, reachableDataDir } = await import('../lab/postgres');
  const pg = await ensurePostgres({ dataDir: reachableDataDir(join(POSTGRES_STATE_DIR, 'pg'), 'fw-temporal-pg-fg') });
  try {
    const server = await startPostgresServer({
      pgUrl: pg.url,
      stateDir: join(POSTGRES_STATE_DIR, 'config'),
      ip,
      ...ports(),
      log,
    });
    console.log(
      `Temporal server ready: gRPC ${server.address}, Web UI ${server.uiUrl ?? '(none)'}, metrics ${server.metricsUrl}`,
    );
    waitForSignal(async () => {
      await server.stop();
      await pg.stop();
    });
  } catch (err) {
    await pg.stop();
    throw err;
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const serverIdx = args.indexOf('--server');
  const kind = serverIdx >= 0 ? args[serverIdx + 1] : 'dev';
  const cmd = args.find((a, i) => !a.startsWith('-') && (serverIdx < 0 || i !== serverIdx + 1)) ?? 'start';
  if (kind !== 'dev' && kind !== 'postgres') {
    console.error(`--server ${kind ?? ''}: expected dev or postgres\n${USAGE}`);
    process.exit(2);
  }
  if (cmd === 'where' || cmd === 'install') {
    const source = locateOrInstallTemporal(log);
    console.log(source.type === 'binary' ? source.path : source.type === 'address' ? source.address : 'sdk-download');
    return;
  }
  if (cmd === 'build-server' && args.includes('--check')) {
    // For scripts (.ci/run): exit 0 when the build is there, 1 when not; builds nothing.
    const found = findServerBuild();
    console.log(found ? `built: ${SERVER_TOOLS_DIR}` : `not built: npx tsx temporal-dev/cli.ts build-server`);
    process.exit(found ? 0 : 1);
  }
  if (cmd === 'build-server') {
    const started = Date.now();
    const already = findServerBuild() !== undefined;
    const build = buildServer(log);
    console.log(
      already
        ? `Already built in ${SERVER_TOOLS_DIR}`
        : `Built in ${Math.round((Date.now() - started) / 1000)} s into ${SERVER_TOOLS_DIR}`,
    );
    console.log(`server ${build.server}\nsql tool ${build.sqlTool}\nui-server ${build.uiServer}`);
    return;
  }
  if (kind === 'postgres' && (cmd === 'start' || cmd === 'stop')) {
    await postgres(cmd, args.includes('--detach'));
    return;
  }
  if (cmd !== 'start') {
    console.error(USAGE);
    process.exit(2);
  }
  const source = locateOrInstallTemporal(log);
  if (source.type === 'address') {
    console.log(`TEMPORAL_ADDRESS=${source.address} is set: using that server, not starting one.`);
    return;
  }
  const { port, uiPort } = ports();
  const dbFile = process.env.TEMPORAL_DB_FILE ?? join(PROJECT_ROOT, '.data', 'temporal', 'dev.db');
  const server = await startDevServer(source, { ip: process.env.TEMPORAL_IP ?? '127.0.0.1', port, uiPort, dbFile });
  console.log(
    `Temporal dev server ready: gRPC ${server.address}, Web UI ${server.uiUrl ?? '(headless)'}, db ${dbFile}`,
  );
  console.log('Search attributes registered: FwCluster FwOperation FwTargetVersion FwServices FwState FwOperator');
  waitForSignal(() => server.stop());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
