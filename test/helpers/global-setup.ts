// One Temporal dev server (Web UI on) and one PostgreSQL per test run, handed to test files through
// vitest's provide/inject. Tests that need them fail (they do not skip) when they are absent, so a green run
// always means the real components were exercised. FW_TEST_SERVERS=none starts nothing (for quick unit-only
// runs while editing; CI never sets it).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { locateOrInstallTemporal, PROJECT_ROOT } from '../../temporal-dev/locate';
import { startDevServer } from '../../temporal-dev/server';
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

  const source = locateOrInstallTemporal(log);
  const temporal = await startDevServer(source, {
    port: 0,
    uiPort: 0,
    logFile: join(artifacts, 'temporal-dev-server.log'),
    readyTimeoutMs: 60_000,
  });
  log(`Temporal dev server at ${temporal.address} (Web UI ${temporal.uiUrl ?? 'off'})`);

  let pg;
  try {
    const dataDir = reachableDataDir(
      join(PROJECT_ROOT, '.data', `test-pg-${process.pid}`),
      `fw-test-pg-${process.pid}`,
    );
    pg = await ensurePostgres({ dataDir, fast: true, removeOnStop: true });
  } catch (err) {
    await temporal.stop();
    throw err;
  }
  log(`PostgreSQL at ${pg.url}`);

  project.provide('temporalAddress', temporal.address);
  project.provide('temporalUiUrl', temporal.uiUrl ?? '');
  project.provide('temporalBinary', source.type === 'binary' ? source.path : '');
  project.provide('databaseUrl', pg.url);
  return async () => {
    await temporal.stop();
    await pg.stop();
  };
}
