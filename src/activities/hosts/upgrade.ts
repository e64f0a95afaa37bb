// Host-side activity bodies of `cluster upgrade` (SPEC §6): detection, config rendering, registry digest
// checks, and the per-host steps (stage → activate → health → finalize, or rollback). Each step is idempotent:
// stage skips what is there, activate is a no-op when identity and config already match, rollback converges on
// the identity the host ran before (given by the workflow from its detection).
import { loadCatalogFor } from '../catalog';
import type { LoadedCluster } from '../cluster-config';
import type { Artifact } from '../../contracts/plan';
import type { HostDetection } from '../../contracts/upgrade';
import type { ServiceDefinition } from '../../contracts/catalog';
import { artifactPinProblems } from '../../domain/artifacts';
import { healthProbeTarget } from '../../domain/catalog';
import { renderServiceConfig } from '../../domain/hosts/service-config';
import { FailureType, errorMessage } from '../../errors';
import { failure } from '../failures';
import type { SshConnection } from '../ssh/client';
import { probeHealthPolling } from './health';
import { detectNativeBatch, nativeDiagnostics, stageNative, stageNativeIfAbsent, type NativeDetection } from './native';
import { activateNativeAdopting, detectNativeAny, rollbackNativeAny, type NativeDetectionAny } from './provisioner';
import { detectNativeHost } from './native-detect';
import { archOf, hostArch } from './host-arch';
import type { BinaryOriginResolver } from './binary-identity';
import { activateCompose, detectCompose, finalizeCompose, rollbackCompose } from './compose';
import { withHostSsh } from './ssh-session';
import { fetchArtifact } from './tarball';
import { checkRegistryDigest } from './registry';
import * as docker from './docker-steps';

export interface HostStepInput {
  cluster: string;
  service: string;
  host: string;
  /**
   * The host's architecture as this run already read it (once per host per run: detection before the gates);
   * absent, the step reads it itself.
   */
  arch?: string;
}

/** Where native services live on hosts; FRAMEWORKS_SERVICE_ROOT overrides it (tests, non-standard hosts). */
export function serviceRoot(): string | undefined {
  return process.env.FRAMEWORKS_SERVICE_ROOT || undefined;
}

function definition(cluster: LoadedCluster, service: string): ServiceDefinition | undefined {
  const c = loadCatalogFor(cluster);
  return c.ok ? c.services[service] : undefined;
}

function clusterService(cluster: LoadedCluster, service: string) {
  const s = cluster.manifest.services[service];
  if (!s) throw failure(FailureType.InvalidInput, `service ${service} is not in ${cluster.manifestPath}`);
  return s;
}

export function configFor(cluster: LoadedCluster, service: string) {
  return renderServiceConfig(service, clusterService(cluster, service), definition(cluster, service));
}

/** The config hash of each service, the catalog read once (not once per service). */
export function configHashes(cluster: LoadedCluster, services: readonly string[]): Record<string, string> {
  const c = loadCatalogFor(cluster);
  const defs = c.ok ? c.services : {};
  return Object.fromEntries(services.map((s) => [s, renderServiceConfig(s, clusterService(cluster, s), defs[s]).hash]));
}

export const notDetected = (host: string, err: unknown): HostDetection => ({
  host,
  present: false,
  identity: null,
  version: null,
  configHash: null,
  running: false,
  arch: null,
  error: errorMessage(err),
});

/** Host key mismatches and bad SSH settings are refusals, not "not installed". */
const isRefusal = (err: unknown): boolean =>
  err instanceof Error && 'type' in err && err.type === FailureType.HostKeyMismatch;

/**
 * A provisioner install's binary proven to be the executable of a release tarball (binary-identity.ts), or null: its
 * identity is then that tarball's checksum, comparable with release manifests like any other native identity.
 */
async function originOf(
  d: NativeDetectionAny,
  service: string,
  arch: string | null,
  origin: BinaryOriginResolver | undefined,
) {
  if (!origin || d.layout !== 'provisioner' || !d.identity || !d.version || !arch) return null;
  return origin({ svc: service, version: d.version, arch, binaryIdentity: d.identity });
}

/**
 * One service on a host whose SSH session the caller already has, and its architecture: `known` (the caller has it)
 * or read here (a native service's in the same remote command as its detection).
 */
async function detectWith(
  cluster: LoadedCluster,
  conn: SshConnection,
  host: string,
  service: string,
  known: { arch: string | null } | { declared: string | undefined },
  origin?: BinaryOriginResolver,
  /** A native service's detection as the caller already read it with the host's other services. */
  pre?: NativeDetectionAny | Error,
): Promise<HostDetection> {
  const svc = clusterService(cluster, service);
  const declared = 'declared' in known ? known.declared : undefined;
  if (svc.mode === 'native') {
    // With systemd this also finds services the FrameWorks provisioner installed (adopted on first upgrade).
    const manager = cluster.manifest.service_manager;
    const read = pre
      ? { arch: null, found: [pre] }
      : await detectNativeHost(conn, [service], serviceRoot(), manager, !('arch' in known));
    const arch = 'arch' in known ? known.arch : archOf(read.arch!, declared);
    const d = read.found[0]!;
    if (d instanceof Error) throw d;
    const proven = await originOf(d, service, arch, origin);
    return {
      host,
      present: d.present,
      identity: proven?.identity ?? d.identity,
      version: d.version,
      configHash: d.configHash,
      running: d.running,
      arch,
    };
  }
  const arch = 'arch' in known ? known.arch : await hostArch(conn, declared, undefined);
  // A compose stack the provisioner installed is detected (and upgraded) in its folder with the host's compose.
  const stack = await detectCompose(conn, service);
  if (stack) return { host, ...stack, arch };
  const d = await docker.detect(cluster, host, service);
  return { host, ...d, arch };
}

export async function detectOnHost(
  cluster: LoadedCluster,
  input: HostStepInput,
  origin?: BinaryOriginResolver,
): Promise<HostDetection> {
  clusterService(cluster, input.service);
  const declaredArch = cluster.manifest.hosts[input.host]?.arch;
  try {
    const known = input.arch ? { arch: input.arch } : { declared: declaredArch };
    return await withHostSsh(cluster, input.host, (conn) =>
      detectWith(cluster, conn, input.host, input.service, known, origin),
    );
  } catch (err) {
    if (isRefusal(err)) throw err;
    return notDetected(input.host, err);
  }
}

/** Channels used at once on one host's SSH session (sshd's MaxSessions defaults to 10). */
const CHANNELS_PER_HOST = 8;
/** Docker detections at once per host (each is its own dockerode-over-SSH connection). */
const DOCKER_PER_HOST = 4;

async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** A `command`-managed detection (no provisioner installs there) as detectWith takes it. */
const anyLayout = (d: NativeDetection | Error): NativeDetectionAny | Error =>
  d instanceof Error ? d : { ...d, layout: d.present ? (d.layout ?? 'own') : null };

/**
 * Every replica of `services`, hosts in parallel, ONE SSH session per host: the architecture read once (not at all
 * when `knownArchs` has it: the run read it before), every native service of the host read by ONE remote command
 * (detectNativeBatch, or with systemd detectNativeHost; a provisioner install's binary is one more), docker services
 * through dockerode with a small concurrency. Same facts as detectOnHost per replica: an unreachable host or a failed
 * probe becomes a detection with an error; an unknown or changed host key is thrown (a refusal).
 */
export async function detectServicesOnHosts(
  cluster: LoadedCluster,
  services: readonly string[],
  origin?: BinaryOriginResolver,
  knownArchs: Readonly<Record<string, string>> = {},
): Promise<Record<string, HostDetection[]>> {
  const byHost = new Map<string, string[]>();
  for (const svc of services) {
    for (const host of clusterService(cluster, svc).hosts) byHost.set(host, [...(byHost.get(host) ?? []), svc]);
  }
  const found = new Map<string, HostDetection>();
  const key = (svc: string, host: string): string => `${svc}\u0000${host}`;
  await Promise.all(
    [...byHost].map(async ([host, svcs]) => {
      try {
        await withHostSsh(cluster, host, async (conn) => {
          const arch = await hostArch(conn, cluster.manifest.hosts[host]?.arch, knownArchs[host]);
          const one = async (svc: string, pre?: NativeDetectionAny | Error): Promise<void> => {
            try {
              found.set(key(svc, host), await detectWith(cluster, conn, host, svc, { arch }, origin, pre));
            } catch (err) {
              if (isRefusal(err)) throw err;
              found.set(key(svc, host), notDetected(host, err));
            }
          };
          const native = svcs.filter((s) => clusterService(cluster, s).mode === 'native');
          const other = svcs.filter((s) => clusterService(cluster, s).mode !== 'native');
          const manager = cluster.manifest.service_manager;
          const natives = async (): Promise<void> => {
            // ONE remote command for every native service of this host (the `command` manager's batch probe forks
            // the fewest processes), each then judged as detectOnHost judges it.
            const root = serviceRoot();
            const pre = await (
              manager.type === 'command'
                ? detectNativeBatch(conn, native, root, manager).then((ds) => ds.map(anyLayout))
                : detectNativeHost(conn, native, root, manager).then((r) => r.found)
            ).catch((err: unknown) => native.map(() => (err instanceof Error ? err : new Error(String(err)))));
            await eachLimited([...native.keys()], CHANNELS_PER_HOST, (i) => one(native[i]!, pre[i]));
          };
          await Promise.all([natives(), eachLimited(other, DOCKER_PER_HOST, one)]);
        });
      } catch (err) {
        if (isRefusal(err)) throw err;
        for (const svc of svcs) if (!found.has(key(svc, host))) found.set(key(svc, host), notDetected(host, err));
      }
    }),
  );
  return Object.fromEntries(
    services.map((svc) => [svc, clusterService(cluster, svc).hosts.map((h) => found.get(key(svc, h))!)]),
  );
}

export async function stageOnHost(
  cluster: LoadedCluster,
  input: HostStepInput & {
    mode: 'native' | 'docker';
    imageRef?: string;
    artifact?: Artifact;
  },
  cacheDir: string,
): Promise<{ action: string }> {
  if (input.mode === 'docker') {
    if (!input.imageRef) throw failure(FailureType.InvalidInput, `${input.service}: no image reference to stage`);
    return docker.stage(cluster, input.host, input.imageRef);
  }
  if (!input.artifact)
    throw failure(FailureType.InvalidInput, `${input.service}: no artifact for ${input.host}'s architecture`);
  const { url, checksum } = input.artifact;
  // Never download what the release does not pin: an absent checksum is not a match for anything.
  if (!url || !checksum) {
    throw failure(
      FailureType.InvalidInput,
      `${input.service}: ${artifactPinProblems(input.artifact).join('; ')}; nothing was staged on ${input.host}`,
    );
  }
  // Downloaded once into the worker's cache and verified (SHA-256, size, safe entries) before any upload — unless
  // the host already has this release.
  const fetchLocal = () =>
    fetchArtifact(url, cacheDir, {
      checksum,
      ...(input.artifact?.sizeBytes !== undefined ? { sizeBytes: input.artifact.sizeBytes } : {}),
    });
  return withHostSsh(cluster, input.host, (conn) =>
    stageNativeIfAbsent(conn, input.service, serviceRoot(), checksum, fetchLocal),
  );
}

export async function activateOnHost(
  cluster: LoadedCluster,
  input: HostStepInput & { mode: 'native' | 'docker'; identity: string; version: string; imageRef?: string },
  origin?: BinaryOriginResolver,
): Promise<{ action: string }> {
  const config = configFor(cluster, input.service);
  if (input.mode === 'docker') {
    const def = definition(cluster, input.service);
    const stack = await withHostSsh(cluster, input.host, (conn) =>
      activateCompose(conn, input.service, {
        imageRef: input.imageRef ?? '',
        env: config.env,
        configHash: config.hash,
      }),
    );
    if (stack) return stack;
    return docker.activate(cluster, input.host, input.service, {
      imageRef: input.imageRef ?? '',
      version: input.version,
      env: config.env,
      port: def?.port ?? 0,
      configHash: config.hash,
    });
  }
  const manager = cluster.manifest.service_manager;
  return withHostSsh(cluster, input.host, async (conn) => {
    // A provisioner install proven to be a release tarball's executable is adopted as that release (staged in
    // full), so the rollback target keeps the identity detection reported.
    let adoptAs: string | undefined;
    if (origin && manager.type === 'systemd') {
      const d = await detectNativeAny(conn, input.service, serviceRoot(), manager);
      const arch = await hostArch(conn, cluster.manifest.hosts[input.host]?.arch, input.arch);
      const proven = await originOf(d, input.service, arch, origin);
      if (proven) {
        await stageNative(conn, input.service, serviceRoot(), proven.localPath, proven.identity);
        adoptAs = proven.identity;
      }
    }
    return activateNativeAdopting(
      conn,
      input.service,
      serviceRoot(),
      {
        identity: input.identity,
        version: input.version,
        envText: config.text,
        manager,
        reloadOnSighup: definition(cluster, input.service)?.reload_on_sighup ?? false,
      },
      adoptAs,
    );
  });
}

/** `pollForMs`: keep probing on the host until healthy or that long (probeHealthPolling); absent, one probe. */
export async function probeOnHost(
  cluster: LoadedCluster,
  input: HostStepInput & { pollForMs?: number },
  signal?: AbortSignal,
): Promise<{ healthy: boolean; error?: string }> {
  const def = definition(cluster, input.service);
  if (!def) return { healthy: false, error: `no service definition for ${input.service}` };
  try {
    return await withHostSsh(cluster, input.host, async (conn) => {
      const r = await probeHealthPolling(conn, healthProbeTarget(def), 10_000, input.pollForMs ?? 0, signal);
      if (r.healthy) return { healthy: true };
      const error = r.error ?? `HTTP ${r.status ?? '?'}`;
      // An unhealthy systemd service: its unit state and last journal lines explain why (reference §6.6).
      const manager = cluster.manifest.service_manager;
      const native = cluster.manifest.services[input.service]?.mode === 'native';
      const diag = native ? await nativeDiagnostics(conn, input.service, manager) : '';
      return { healthy: false, error: diag ? `${error}\n${diag}` : error };
    });
  } catch (err) {
    return { healthy: false, error: errorMessage(err) };
  }
}

export async function finalizeOnHost(
  cluster: LoadedCluster,
  input: HostStepInput & { mode: 'native' | 'docker' },
): Promise<void> {
  if (input.mode !== 'docker') return;
  if (await withHostSsh(cluster, input.host, (conn) => finalizeCompose(conn, input.service))) return;
  await docker.finalize(cluster, input.host, input.service);
}

export async function rollbackOnHost(
  cluster: LoadedCluster,
  input: HostStepInput & { mode: 'native' | 'docker'; to: { identity: string; configHash: string } },
  origin?: BinaryOriginResolver,
): Promise<{ action: string }> {
  if (input.mode === 'docker') {
    const stack = await withHostSsh(cluster, input.host, (conn) => rollbackCompose(conn, input.service, input.to));
    return stack ?? docker.rollback(cluster, input.host, input.service);
  }
  const manager = cluster.manifest.service_manager;
  return withHostSsh(cluster, input.host, async (conn) => {
    let to = input.to;
    if (origin && manager.type === 'systemd') {
      // Not adopted yet: the provisioner's binary is the target when it is the executable of the tarball detection
      // reported (the same proof detection made).
      const d = await detectNativeAny(conn, input.service, serviceRoot(), manager);
      const arch = await hostArch(conn, cluster.manifest.hosts[input.host]?.arch, input.arch);
      const proven = await originOf(d, input.service, arch, origin);
      if (proven && d.identity && proven.identity === to.identity) to = { ...to, identity: d.identity };
    }
    return rollbackNativeAny(conn, input.service, serviceRoot(), manager, to);
  });
}

export async function digestProblems(refs: string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const ref of [...new Set(refs)]) {
    const p = await checkRegistryDigest(ref);
    if (p) problems.push(p);
  }
  return problems;
}
