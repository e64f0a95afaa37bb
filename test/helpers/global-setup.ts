// One Temporal server (Web UI on) and one PostgreSQL per test run, handed to test files through vitest's
// provide/inject. The Temporal server is the dev server, or with FW_TEMPORAL=postgres the production-shaped one
// (temporal-dev/postgres-server.ts: real server binary, persistence and visibility on this PostgreSQL, separate
// Web UI server), built into .tools/ on first use (`npx tsx temporal-dev/cli.ts build-server`, ~10 min). Tests
// that need them fail (they do not skip) when they are absent, so a green run always means the real components
// were exercised. FW_TEST_SERVERS=none starts nothing (for quick unit-only runs while editing; CI never sets it).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { locateOrInstallTemporal, PROJECT_ROOT } from '../../temporal-dev/locate';
import { startPostgresServer, temporalCli, temporalKind } from '../../temporal-dev/postgres-server';
import { startDevServer, type DevServer } from '../../temporal-dev/server';
import { ensurePostgres, reachableDataDir } from '../../lab/postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalUiUrl: string;
    temporalBinary: string;
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.FW_TEST_SERVERS === 'none') return undefined;
  const artifacts = join(PROJECT_ROOT, 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  const log = (line: string): void => console.error(`[global-setup] ${line}`);

  // PostgreSQL first: the production-shaped Temporal server (FW_TEMPORAL=postgres) keeps its databases on it.
  const kind = temporalKind();
  const dataDir = reachableDataDir(join(PROJECT_ROOT, '.data', `test-pg-${process.pid}`), `fw-test-pg-${process.pid}`);
  const pg = await ensurePostgres({ dataDir, fast: true, removeOnStop: true });
  log(`PostgreSQL at ${pg.url}`);

  let temporal: DevServer;
  let binary: string;
  // Its config files (one holds the PostgreSQL password) live in a private folder removed at teardown.
  const serverDir = mkdtempSync(join(tmpdir(), 'fw-temporal-server-'));
  try {
    if (kind === 'postgres') {
      temporal = await startPostgresServer({
        pgUrl: pg.url,
        stateDir: serverDir,
        port: 0,
        uiPort: 0,
        logFile: join(artifacts, 'temporal-server.log'),
        readyTimeoutMs: 120_000,
        log,
      });
      binary = temporalCli(log);
    } else {
      const source = locateOrInstallTemporal(log);
      temporal = await startDevServer(source, {
        port: 0,
        uiPort: 0,
        logFile: join(artifacts, 'temporal-dev-server.log'),
        readyTimeoutMs: 60_000,
      });
      binary = source.type === 'binary' ? source.path : '';
    }
  } catch (err) {
    await pg.stop();
    rmSync(serverDir, { recursive: true, force: true });
    throw err;
  }
  log(`Temporal (${kind}) at ${temporal.address} (Web UI ${temporal.uiUrl ?? 'off'})`);

  project.provide('temporalAddress', temporal.address);
  project.provide('temporalUiUrl', temporal.uiUrl ?? '');
  project.provide('temporalBinary', binary);
  project.provide('databaseUrl', pg.url);
  return async () => {
    await temporal.stop();
    await pg.stop();
    rmSync(serverDir, { recursive: true, force: true });
  };
}
