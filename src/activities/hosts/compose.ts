// Docker services the FrameWorks provisioner installed as a compose stack (reference §6.3): /opt/frameworks/<svc>/ with
// docker-compose.yml (one service <svc>, container_name frameworks-<svc>) and .env. Detected, upgraded and rolled
// back IN the stack with the host's own compose, over the host's SSH session, so the provisioner's view keeps
// working (`docker compose ps` / `docker-compose ps` in the folder lists the one service, running). The commands
// and why they are safe are in src/domain/hosts/compose.ts; this module runs them and decides between them. An
// activation's steps run as one remote script after the one read (two round trips, not five).
//
// A host whose service folder has no docker-compose.yml is not a compose stack: every entry point returns null and
// the caller uses the dockerode driver (docker.ts) as before.
import { FailureType } from '../../errors';
import { failure } from '../failures';
import {
  composeConfigHash,
  composeDropKeptCommand,
  composeFilesCommand,
  composePaths,
  composeRestoreCommand,
  composeUpCommand,
  dockerDetectCommand,
  parseComposeFiles,
  parseDockerDetection,
  planComposeActivation,
  type ComposeFiles,
} from '../../domain/hosts/compose';
import { parseHostScript, renderHostScript } from '../../domain/hosts/host-script';
import type { HostDetection } from '../../contracts/upgrade';
import { exec, type SshConnection } from '../ssh/client';

// `up -d` may pull nothing (the image was staged by digest) but recreates a container: stop (10 s) + create.
const STEP_MS = 120_000;

async function run(conn: SshConnection, argv: string[], what: string, stdin?: string): Promise<string> {
  const r = await exec(conn, argv, { timeoutMs: STEP_MS, ...(stdin !== undefined ? { stdin } : {}) });
  if (r.code !== 0) {
    const err = (r.stderr.trim() || r.stdout.trim()).slice(-2000) || '(no output)';
    throw failure(FailureType.HostCommandFailed, `${conn.target}: ${what} failed (exit ${r.code ?? r.signal}): ${err}`);
  }
  return r.stdout;
}

/** The stack's files, or null when the service folder holds no docker-compose.yml. */
export async function readComposeFiles(conn: SshConnection, svc: string): Promise<ComposeFiles | null> {
  const files = parseComposeFiles(await run(conn, composeFilesCommand(svc), `read the compose folder of ${svc}`));
  return files.compose === null ? null : files;
}

/**
 * A compose stack's replica: identity = the running image's registry digest, version = its tag, config = the
 * `.env` (rendered and hashed the way the orchestrator renders config), running = the container runs.
 */
export async function detectCompose(
  conn: SshConnection,
  svc: string,
): Promise<Omit<HostDetection, 'host' | 'arch'> | null> {
  const files = await readComposeFiles(conn, svc);
  if (!files) return null;
  const d = parseDockerDetection(await run(conn, dockerDetectCommand(svc), `inspect the containers of ${svc}`));
  const container = composePaths(svc).container;
  if (!d || d.container !== container) {
    return { present: false, identity: null, version: null, configHash: null, running: false };
  }
  return {
    present: true,
    identity: d.identity,
    version: d.version,
    configHash: composeConfigHash(files.env),
    running: d.running,
  };
}

export interface ComposeActivateInput {
  imageRef: string;
  env: Record<string, string>;
  configHash: string;
}

/**
 * The stack at `imageRef` with the config: the current files are kept as the rollback target, then only the
 * service's `image:` and `.env` change and compose recreates the container (same project, service, container name,
 * volumes). Converges: at the target and running ⇒ none; at the target and stopped ⇒ `up -d` starts it.
 */
export async function activateCompose(
  conn: SshConnection,
  svc: string,
  input: ComposeActivateInput,
): Promise<{ action: 'none' | 'started' | 'replaced' } | null> {
  const files = await readComposeFiles(conn, svc);
  if (!files) return null;
  const plan = planComposeActivation(svc, { ...files, compose: files.compose! }, input);
  if (plan.kind === 'files-at-target') {
    // The files are the target's; the container may not be yet (a retry after a crash before `up -d`).
    const d = await detectCompose(conn, svc);
    if (d?.running && plan.digest !== null && d.identity === plan.digest) return { action: 'none' };
    await run(conn, plan.up.argv, plan.up.what);
    return { action: plan.replaced ? 'replaced' : 'started' };
  }
  // The steps as ONE remote script (domain/hosts/host-script.ts): one round trip, the failing step still named.
  const { argv, script, commands } = renderHostScript(plan.steps.map((step) => ({ kind: 'step', step })));
  const ran = await exec(conn, argv, { timeoutMs: STEP_MS * commands.length, stdin: script });
  const r = parseHostScript(ran);
  if (r.kind !== 'done') {
    const what = commands[r.index]?.what ?? 'the host script';
    const code = r.kind === 'failed' ? r.code : (ran.code ?? ran.signal);
    throw failure(
      FailureType.HostCommandFailed,
      `${conn.target}: ${what} failed (exit ${code}): ${r.output.slice(-2000)}`,
    );
  }
  return { action: 'replaced' };
}

/** After the host is healthy: the kept files are no rollback target any more. */
export async function finalizeCompose(conn: SshConnection, svc: string): Promise<boolean> {
  if (!(await readComposeFiles(conn, svc))) return false;
  await run(conn, composeDropKeptCommand(svc), `drop the ${svc} stack's kept files`);
  return true;
}

/**
 * Puts the kept docker-compose.yml and .env back byte for byte and lets compose recreate the container from them.
 * A retry that finds nothing kept succeeds when the stack already runs `to` (its identity and config).
 */
export async function rollbackCompose(
  conn: SshConnection,
  svc: string,
  to: { identity: string; configHash: string },
): Promise<{ action: 'none' | 'rolled-back' } | null> {
  if (!(await readComposeFiles(conn, svc))) return null;
  const out = await run(conn, composeRestoreCommand(svc), `restore the ${svc} stack`);
  if (/^@@restored$/m.test(out)) return { action: 'rolled-back' };
  const d = await detectCompose(conn, svc);
  if (!d || d.identity !== to.identity || d.configHash !== to.configHash) {
    throw failure(
      FailureType.RollbackUnavailable,
      `${conn.target}: cannot roll back ${svc}: nothing was kept in ${composePaths(svc).dir}/.frameworks-previous ` +
        `and the stack runs ${d?.identity ?? 'nothing'}, not ${to.identity}`,
    );
  }
  if (!d.running) await run(conn, composeUpCommand(svc), `start the ${svc} stack`);
  return { action: 'none' };
}
