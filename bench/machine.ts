// The machine a result was measured on (SPEC §12): ratios only compare runs made side by side on one machine,
// but a reader still needs to know what that machine was.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type as osType } from 'node:os';
import pg from 'pg';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  postgres?: string;
  /** fsync / synchronous_commit of the server the benchmark ran against. */
  postgresSettings?: Record<string, string>;
  psql?: string;
  temporal?: string;
  /** @temporalio/worker version the workers ran. */
  temporalSdk?: string;
}

function firstLine(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : undefined;
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (pretty) return `${pretty} (${osType()} ${release()})`;
  } catch {
    // not Linux, or no os-release: the kernel name is enough
  }
  return `${osType()} ${release()}`;
}

async function postgresFacts(url: string): Promise<Pick<Machine, 'postgres' | 'postgresSettings'>> {
  const client = new pg.Client({ connectionString: `${url}/postgres` });
  await client.connect();
  try {
    const version = (await client.query<{ version: string }>('SELECT version()')).rows[0]?.version ?? '?';
    const settings = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers')`,
    );
    return { postgres: version, postgresSettings: Object.fromEntries(settings.rows.map((r) => [r.name, r.setting])) };
  } finally {
    await client.end();
  }
}

export async function describeMachine(opts: { postgresUrl?: string; temporalBinary?: string }): Promise<Machine> {
  const cpu = cpus();
  const machine: Machine = {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: osName(),
    node: process.version,
  };
  if (opts.postgresUrl) Object.assign(machine, await postgresFacts(opts.postgresUrl));
  const psql = firstLine('psql', ['--version']);
  if (psql) machine.psql = psql;
  if (opts.temporalBinary) {
    const t = firstLine(opts.temporalBinary, ['--version']);
    if (t) machine.temporal = t;
    try {
      const pkg = JSON.parse(readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as {
        version?: string;
      };
      if (pkg.version) machine.temporalSdk = `@temporalio/worker ${pkg.version}`;
    } catch {
      // not resolvable: the CLI version above still says which server ran
    }
  }
  return machine;
}

export function machineLine(m: Machine): string {
  const parts = [`${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB`, m.os, `Node ${m.node}`];
  if (m.postgres) parts.push(m.postgres.split(',')[0]!);
  if (m.postgresSettings) {
    parts.push(
      Object.entries(m.postgresSettings)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    );
  }
  if (m.temporal) parts.push(m.temporal);
  if (m.temporalSdk) parts.push(m.temporalSdk);
  return parts.join('; ');
}
