// A Temporal dev server of a test's own that can be SIGKILLed and started again on the same SQLite file and port
// (issue 15 item 2): the suite's shared server must never be killed, so these tests run their own.
import { join, dirname } from 'node:path';
import { freePort, isPortFree, startDevServer, type DevServer } from '../../temporal-dev/server';
import { temporalBinary } from './servers';

export interface RestartableServer {
  address: string;
  dbFile: string;
  /** SIGKILL (no shutdown of any kind), then wait until the process is gone and its port is free. */
  kill(): Promise<void>;
  /** Start again with the same --db-filename and port. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function restartableServer(dbFile: string): Promise<RestartableServer> {
  const port = await freePort();
  const logFile = join(dirname(dbFile), 'temporal.log');
  const launch = (): Promise<DevServer> =>
    startDevServer(
      { type: 'binary', path: temporalBinary(), from: 'TEMPORAL_CLI_PATH' },
      { port, dbFile, logFile, readyTimeoutMs: 60_000 },
    );
  let current: DevServer | undefined = await launch();
  const address = current.address;
  return {
    address,
    dbFile,
    async kill() {
      const pid = current?.pid;
      current = undefined;
      if (!pid) return;
      process.kill(pid, 'SIGKILL');
      const deadline = Date.now() + 30_000;
      for (;;) {
        let alive = true;
        try {
          process.kill(pid, 0);
        } catch {
          alive = false;
        }
        if (!alive && (await isPortFree(port))) return;
        if (Date.now() > deadline) throw new Error(`temporal dev server ${pid} still present 30 s after SIGKILL`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async start() {
      if (current) throw new Error('the server is already running');
      current = await launch();
    },
    async stop() {
      await current?.stop();
      current = undefined;
    },
  };
}
