// Installs a release's builds on the lab hosts exactly as the upgrade feature expects to find them (layout.ts,
// lab/README.md "On-host layout"). Native files are written from the root namespace into the host's own
// /opt/frameworks folder (the same files the host sees), then started through the supervisor OVER SSH, the
// path the `command` service manager takes. Containers are created through the host's dockerd socket and
// pull `image@digest` from the lab registry.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostSpec, type HostName, type LabPaths, type ServiceSpec } from './config';
import {
  CONFIG_HASH_ENV,
  configHash,
  containerName,
  LABELS,
  MARKER_DIR,
  nativePaths,
  renderEnvFile,
  SUPERVISOR,
  type InstalledRecord,
} from './layout';
import { run, tryRun } from './proc';
import type { NativeArtifact } from './releases';
import { ssh } from './ssh';
import type { InstalledService } from './state';

/** A path inside the host (e.g. /opt/frameworks/purser/env) as the root namespace sees it. */
export function hostPath(paths: LabPaths, host: HostName, inHost: string): string {
  for (const [prefix, local] of [
    ['/opt/frameworks', paths.hostOpt(host)],
    ['/etc/frameworks', paths.hostEtc(host)],
    ['/run', paths.hostRun(host)],
  ] as const) {
    if (inHost === prefix || inHost.startsWith(`${prefix}/`)) return local + inHost.slice(prefix.length);
  }
  throw new Error(`${inHost} is not inside a per-host folder`);
}

export function installNative(
  paths: LabPaths,
  svc: ServiceSpec,
  version: string,
  artifact: NativeArtifact,
): InstalledService {
  const env = svc.env ?? {};
  const hash = configHash(env);
  const hex = artifact.checksum.slice('sha256:'.length);
  const p = nativePaths(svc.name);
  for (const host of svc.hosts) {
    const local = (inHost: string) => hostPath(paths, host, inHost);
    const releaseDir = local(p.release(hex));
    rmSync(releaseDir, { recursive: true, force: true });
    mkdirSync(releaseDir, { recursive: true });
    run('tar', ['-xzf', artifact.path, '-C', releaseDir]);
    rmSync(local(p.current), { force: true });
    symlinkSync(`releases/${hex}`, local(p.current));
    writeFileSync(local(p.env), renderEnvFile(env));
    const record: InstalledRecord = {
      identity: artifact.checksum,
      version,
      config_hash: hash,
      previous: null,
      artifact: { url: artifact.url, checksum: artifact.checksum, size_bytes: artifact.sizeBytes },
      installed_at: new Date().toISOString(),
    };
    writeFileSync(local(p.installed), `${JSON.stringify(record, null, 2)}\n`);
    ssh(paths, hostSpec(host).address, `${SUPERVISOR} restart ${svc.name}`);
  }
  return {
    service: svc.name,
    mode: 'native',
    hosts: [...svc.hosts],
    version,
    port: svc.port,
    identity: artifact.checksum,
    configHash: hash,
  };
}

/** The lab's secret for a native service (the database URL), outside everything an upgrade renders. */
export function writeSecrets(paths: LabPaths, host: HostName, service: string, secrets: Record<string, string>): void {
  const file = hostPath(paths, host, nativePaths(service).secrets);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, renderEnvFile(secrets), { mode: 0o600 });
}

/** The data-migrations adoption marker, in the host's own /etc/frameworks (service-driver.ts default path). */
export function writeAdoptionMarker(paths: LabPaths, host: HostName, runtime: string): string {
  const inHost = `${MARKER_DIR}/${runtime}.enabled`;
  const file = hostPath(paths, host, inHost);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `adopted by the FrameWorks lab at ${new Date().toISOString()}\n`);
  return inHost;
}

export function dockerCli(paths: LabPaths, host: HostName, args: string[]): string {
  return run('docker', ['-H', `unix://${paths.dockerSocket(host)}`, ...args], { timeoutMs: 120_000 });
}

/** `docker run` argv for a service container: the contract detect and activate rely on. */
export function containerRunArgs(svc: ServiceSpec, version: string, imageRef: string): string[] {
  const env = svc.env ?? {};
  const hash = configHash(env);
  return [
    'run',
    '--detach',
    `--name=${containerName(svc.name)}`,
    '--restart=unless-stopped',
    // All addresses of the host: its bridge address from outside, 127.0.0.1 for health probes over SSH.
    `--publish=${svc.port}:${svc.port}`,
    `--label=${LABELS.service}=${svc.name}`,
    `--label=${LABELS.version}=${version}`,
    `--label=${LABELS.configHash}=${hash}`,
    ...Object.entries(env).map(([k, v]) => `--env=${k}=${v}`),
    `--env=${CONFIG_HASH_ENV}=${hash}`,
    imageRef,
  ];
}

export function installDocker(
  paths: LabPaths,
  svc: ServiceSpec,
  version: string,
  repository: string,
  digest: string,
): InstalledService {
  const imageRef = `${repository}@${digest}`;
  for (const host of svc.hosts) {
    dockerCli(paths, host, ['pull', '--quiet', imageRef]);
    // Idempotent: a container left by an earlier attempt is replaced.
    tryRun('docker', ['-H', `unix://${paths.dockerSocket(host)}`, 'rm', '--force', containerName(svc.name)]);
    dockerCli(paths, host, containerRunArgs(svc, version, imageRef));
  }
  return {
    service: svc.name,
    mode: 'docker',
    hosts: [...svc.hosts],
    version,
    port: svc.port,
    identity: digest,
    configHash: configHash(svc.env ?? {}),
    imageRef,
  };
}
