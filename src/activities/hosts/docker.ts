// Docker per-host steps through the Engine API (dockerode), over SSH to the host's dockerd or a unix socket:
// detect, stage (pull by digest), activate, finalize, rollback (SPEC §6).
//
// Decisions:
// - Identity is the image's REGISTRY digest (the release manifest's `digest`), read from the image's RepoDigests
//   for the container's repository, never from a tag or the local image id.
// - `frameworks-<svc>` is the live container; during activation the old one is stopped and renamed
//   `frameworks-<svc>-previous` and kept until `finalizeDocker` after the host is healthy. Which Engine API
//   operations activation and rollback run, and why each plan converges after a crash, is planned as data in
//   src/domain/hosts/docker-plan.ts; this module reads the containers and executes the plan.
// - Over SSH, docker-modem opens its own ssh2 connections (one per request) and runs `docker system dial-stdio`
//   on the host, so the host key is pinned HERE with the same known_hosts rules as ssh/client.ts
//   (known-hosts.ts: revoked keys, negotiation limited to the pinned key types, no trust on first use).
import Docker from 'dockerode';
import type { ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { renderEnvFile } from '../../domain/hosts/commands';
import {
  containerName,
  planDockerActivation,
  planDockerRollback,
  previousContainerName,
  type DockerOp,
} from '../../domain/hosts/docker-plan';
import { imageDigest, imageRepository, pinnedImageRef, pinnedName, type ImageRef } from '../../domain/image-ref';
import { errorMessage, FailureType } from '../../errors';
import { failure } from '../failures';
import { activitySignal, reportProgress } from '../heartbeat';
import type { ConnectOptions } from '../ssh/client';
import { keyTypeOfBlob, lookupHost, parseKnownHosts, sha256Fingerprint, verdictFor } from '../ssh/known-hosts';

// ---- pure: names, references, the container spec (tested by value in test/unit/host-commands.test.ts) ----

export { containerName, previousContainerName };

/** The reference pinned by digest (src/domain/image-ref.ts); anything else is an InvalidInput failure. */
function pinned(imageRef: string): ImageRef & { digest: string } {
  try {
    return pinnedImageRef(imageRef);
  } catch (err) {
    throw failure(FailureType.InvalidInput, errorMessage(err));
  }
}

export interface DockerServiceConfig {
  imageRef: string;
  version: string;
  env: Record<string, string>;
  port: number;
  /** configHash(renderEnvFile(env)), recorded as a label so detect can compare without the env. */
  configHash: string;
  /** `bridge` (default): publish <port>/tcp on the same host port. `host`: share the host's network (tests). */
  networkMode?: 'bridge' | 'host';
}

export function dockerContainerSpec(svc: string, c: DockerServiceConfig): Docker.ContainerCreateOptions {
  const ref = pinned(c.imageRef);
  if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) throw new Error(`invalid port ${c.port}`);
  const portKey = `${c.port}/tcp`;
  const host = c.networkMode === 'host';
  return {
    name: containerName(svc),
    Image: pinnedName(ref),
    // Same validation and order as the native env file.
    Env: renderEnvFile(c.env)
      .split('\n')
      .filter((l) => l !== ''),
    Labels: {
      'frameworks.service': svc,
      'frameworks.version': c.version,
      'frameworks.config_hash': c.configHash,
    },
    ...(host ? {} : { ExposedPorts: { [portKey]: {} } }),
    HostConfig: {
      RestartPolicy: { Name: 'unless-stopped' },
      ...(host ? { NetworkMode: 'host' } : { PortBindings: { [portKey]: [{ HostPort: String(c.port) }] } }),
    },
  };
}

// ---- clients ----

const refusals = new WeakMap<Docker, () => Error | undefined>();

export function dockerOverSocket(socketPath: string): Docker {
  return new Docker({ socketPath });
}

export function dockerOverSsh(opts: ConnectOptions): Docker {
  const target = `${opts.host}:${opts.port}`;
  const found = lookupHost(parseKnownHosts(opts.knownHosts), opts.host, opts.port);
  let refusal: Error | undefined;
  const types = [...new Set(found.keys.map((k) => k.keyType))];
  const algos = types.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
  const sshOptions: ConnectConfig = {
    privateKey: opts.privateKey,
    ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}),
    readyTimeout: opts.readyTimeoutMs ?? 20_000,
    ...(algos.length > 0 ? { algorithms: { serverHostKey: algos as ServerHostKeyAlgorithm[] } } : {}),
    hostVerifier: (key: Buffer): boolean => {
      if (verdictFor(found, keyTypeOfBlob(key) ?? '', key) === 'match') return true;
      refusal = failure(
        FailureType.HostKeyMismatch,
        `host key verification failed for ${target} (docker over ssh): presented ${keyTypeOfBlob(key) ?? 'unknown'} ` +
          `${sha256Fingerprint(key)}, ${found.keys.length > 0 ? 'which is not the pinned key' : 'and no key is pinned'} ` +
          `for ${found.name} in ${opts.knownHostsFile ?? 'the known_hosts file'} (ssh.known_hosts in cluster.yaml).`,
      );
      return false;
    },
  };
  const docker = new Docker({ protocol: 'ssh', host: opts.host, port: opts.port, username: opts.username, sshOptions });
  refusals.set(docker, () => refusal);
  return docker;
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number }).statusCode;

/** A failure leaving this module: the host-key refusal if that is what happened, else a retryable host failure. */
function dockerFailure(docker: Docker, what: string, err: unknown): Error {
  const refused = refusals.get(docker)?.();
  if (refused) return refused;
  return failure(FailureType.HostCommandFailed, `docker: ${what}: ${errorMessage(err)}`);
}

async function call<T>(docker: Docker, what: string, body: () => Promise<T>, ok: number[] = []): Promise<T | null> {
  try {
    return await body();
  } catch (err) {
    if (ok.includes(statusOf(err) ?? 0)) return null;
    throw dockerFailure(docker, what, err);
  }
}

// ---- detect ----

export interface ContainerState {
  containerId: string;
  running: boolean;
  /** `sha256:<hex>` registry digest, or null when the image has none for the container's repository. */
  imageDigest: string | null;
  imageRef: string;
  version: string | null;
  configHash: string | null;
}

async function containerState(docker: Docker, name: string): Promise<ContainerState | null> {
  const info = await call(docker, `inspect ${name}`, () => docker.getContainer(name).inspect(), [404]);
  if (!info) return null;
  const imageRef = info.Config.Image;
  const repository = imageRepository(imageRef);
  const image = await call(docker, `inspect image of ${name}`, () => docker.getImage(info.Image).inspect(), [404]);
  const match = (image?.RepoDigests ?? []).find((d) => d.startsWith(`${repository}@`));
  const labels = info.Config.Labels ?? {};
  return {
    containerId: info.Id,
    running: info.State.Running,
    imageDigest: match ? imageDigest(match) : null,
    imageRef,
    version: labels['frameworks.version'] ?? null,
    configHash: labels['frameworks.config_hash'] ?? null,
  };
}

export interface DockerDetection {
  present: boolean;
  imageRef?: string;
  imageDigest: string | null;
  version: string | null;
  configHash: string | null;
  running: boolean;
  containerId: string | null;
  /** The container kept by an activation that was not finalized (or a rollback target). */
  previous: ContainerState | null;
}

export async function detectDocker(docker: Docker, svc: string): Promise<DockerDetection> {
  const [cur, previous] = [
    await containerState(docker, containerName(svc)),
    await containerState(docker, previousContainerName(svc)),
  ];
  if (!cur) {
    return {
      present: false,
      imageDigest: null,
      version: null,
      configHash: null,
      running: false,
      containerId: null,
      previous,
    };
  }
  return { ...cur, present: true, previous };
}

// ---- stage ----

async function hasImage(docker: Docker, ref: ImageRef & { digest: string }): Promise<boolean> {
  const img = await call(docker, 'inspect image', () => docker.getImage(pinnedName(ref)).inspect(), [404]);
  return !!img && img.RepoDigests.includes(pinnedName(ref));
}

/** Pulls `repository@digest` unless present. A digest the registry does not have ⇒ DigestMismatch. */
export async function stageDocker(docker: Docker, imageRef: string): Promise<{ action: 'pulled' | 'present' }> {
  const ref = pinned(imageRef);
  const name = pinnedName(ref);
  if (await hasImage(docker, ref)) return { action: 'present' };
  const missing = (detail: string): Error =>
    failure(
      FailureType.DigestMismatch,
      `image ${name} is not in the registry (${detail}). The release manifest pins a digest that ${ref.repository} ` +
        'does not serve: check the digest in the release, or push the image it was built from.',
    );
  try {
    // A pull of a large image takes minutes: the activity heartbeats (src/activities/heartbeat.ts) the layers'
    // progress, and a cancelled activity aborts the pull's request instead of leaving it running.
    const signal = activitySignal();
    const stream = (await docker.pull(name, { abortSignal: signal })) as NodeJS.ReadableStream & {
      destroy?: (err?: Error) => void;
    };
    const stop = (): void => stream.destroy?.(new Error('cancelled'));
    signal.addEventListener('abort', stop);
    let layers = 0;
    const events = await new Promise<{ error?: string }[]>((resolve, reject) =>
      docker.modem.followProgress(
        stream,
        (err: Error | null, out: { error?: string }[]) => (err ? reject(err) : resolve(out)),
        (e: { status?: string }) => {
          if (e.status === 'Pull complete') layers += 1;
          reportProgress({ step: 'pull', detail: `${layers} layer(s) pulled` });
        },
      ),
    ).finally(() => signal.removeEventListener('abort', stop));
    const error = events.find((e) => e.error)?.error;
    if (error)
      throw Object.assign(new Error(error), { statusCode: /manifest unknown|not found/i.test(error) ? 404 : 0 });
  } catch (err) {
    if (statusOf(err) === 404) throw missing(errorMessage(err));
    throw dockerFailure(docker, `pull ${name}`, err);
  }
  if (!(await hasImage(docker, ref))) throw missing('pulled, but the image does not carry that digest');
  return { action: 'pulled' };
}

// ---- activate / finalize / rollback ----

async function stop(docker: Docker, name: string): Promise<void> {
  // 304: already stopped; 404: gone. Both are the state we want.
  await call(docker, `stop ${name}`, () => docker.getContainer(name).stop({ t: 10 }), [304, 404]);
}

async function remove(docker: Docker, name: string): Promise<boolean> {
  const removed = async (): Promise<true> => {
    await docker.getContainer(name).remove({ force: true });
    return true;
  };
  return (await call(docker, `remove ${name}`, removed, [404])) === true;
}

export interface ActivateDockerResult {
  action: 'none' | 'started' | 'created' | 'replaced';
  containerId: string;
  /** The container kept as `frameworks-<svc>-previous`, if any. */
  previous: ContainerState | null;
}

export async function activateDocker(
  docker: Docker,
  svc: string,
  config: DockerServiceConfig,
): Promise<ActivateDockerResult> {
  const spec = dockerContainerSpec(svc, config);
  const ref = pinned(config.imageRef);
  const cur = await containerState(docker, containerName(svc));
  const plan = planDockerActivation(svc, cur, { digest: ref.digest, configHash: config.configHash });
  if (cur && (plan.action === 'none' || plan.action === 'started')) {
    const previous = await containerState(docker, previousContainerName(svc));
    await apply(docker, plan.ops);
    return { action: plan.action, containerId: cur.containerId, previous };
  }
  const created = await apply(docker, plan.ops, spec);
  const previous = await containerState(docker, previousContainerName(svc));
  return { action: plan.action, containerId: created!.id, previous };
}

/** Runs a plan's operations in order; returns the container a `create` made. */
async function apply(
  docker: Docker,
  ops: readonly DockerOp[],
  spec?: Docker.ContainerCreateOptions,
): Promise<Docker.Container | undefined> {
  let created: Docker.Container | undefined;
  for (const o of ops) {
    const c = docker.getContainer(o.name);
    if (o.op === 'remove') await remove(docker, o.name);
    else if (o.op === 'stop') await stop(docker, o.name);
    else if (o.op === 'rename') await call(docker, `rename ${o.name}`, () => c.rename({ name: o.to }));
    else if (o.op === 'start') await call(docker, `start ${o.name}`, () => c.start(), [304]);
    else if (o.op === 'create')
      created = (await call(docker, `create ${o.name}`, () => docker.createContainer(spec!)))!;
    else await call(docker, `start ${o.name}`, () => created!.start());
  }
  return created;
}

/** After the host is healthy: drop the kept previous container. */
export async function finalizeDocker(docker: Docker, svc: string): Promise<{ removed: boolean }> {
  return { removed: await remove(docker, previousContainerName(svc)) };
}

export interface RollbackDockerResult {
  action: 'none' | 'rolled-back';
  containerId: string;
  imageDigest: string | null;
  version: string | null;
}

/**
 * Removes the new container and brings `-previous` back under the live name. `to` (the digest detected before
 * the upgrade) lets a retry that finds the rollback already done succeed instead of reporting "no previous".
 */
export async function rollbackDocker(
  docker: Docker,
  svc: string,
  to?: { imageDigest: string },
): Promise<RollbackDockerResult> {
  const kept = await containerState(docker, previousContainerName(svc));
  const cur = kept ? null : await containerState(docker, containerName(svc));
  const plan = planDockerRollback(svc, kept, cur, to);
  if (plan.kind === 'unavailable') throw failure(FailureType.RollbackUnavailable, plan.why);
  await apply(docker, plan.ops);
  const now = (kept ?? cur)!;
  return { action: plan.action, containerId: now.containerId, imageDigest: now.imageDigest, version: now.version };
}
