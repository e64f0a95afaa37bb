// `npm run temporal` — the local Temporal dev server in the foreground, with a db file so runs survive restarts
// and the Web UI on :8233. `tsx temporal-dev/cli.ts where` prints which server/binary would be used;
// `install` installs the CLI into .tools/ without starting anything.
import { join } from 'node:path';
import { locateOrInstallTemporal, PROJECT_ROOT } from './locate';
import { startDevServer } from './server';

async function main(): Promise<void> {
  const cmd = process.argv[2] ?? 'start';
  const log = (line: string): void => console.error(line);
  if (cmd === 'where' || cmd === 'install') {
    const source = locateOrInstallTemporal(log);
    console.log(source.type === 'binary' ? source.path : source.type === 'address' ? source.address : 'sdk-download');
    return;
  }
  if (cmd !== 'start') {
    console.error('usage: npm run temporal [-- start|where|install]');
    process.exit(2);
  }
  const source = locateOrInstallTemporal(log);
  if (source.type === 'address') {
    console.log(`TEMPORAL_ADDRESS=${source.address} is set: using that server, not starting one.`);
    return;
  }
  const port = Number(process.env.TEMPORAL_PORT ?? 7233);
  const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? port + 1000);
  const dbFile = process.env.TEMPORAL_DB_FILE ?? join(PROJECT_ROOT, '.data', 'temporal', 'dev.db');
  const server = await startDevServer(source, { ip: process.env.TEMPORAL_IP ?? '127.0.0.1', port, uiPort, dbFile });
  console.log(
    `Temporal dev server ready: gRPC ${server.address}, Web UI ${server.uiUrl ?? '(headless)'}, db ${dbFile}`,
  );
  console.log('Search attributes registered: FwCluster FwOperation FwTargetVersion FwServices FwState FwOperator');
  console.log('Press Ctrl-C to stop.');
  const shutdown = (): void => {
    void server.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
