// Installs a release's builds on the lab hosts as a real FrameWorks cluster has them before this orchestrator ever
// touched it. Native services go onto the systemd host (h1) the way the FrameWorks provisioner installs them
// (lab/provisioner.ts), over SSH only: the host's root is its own. Containers are created through the host's dockerd
// socket and pull `image@digest` from the lab registry.
import { createHash } from 'node:crypto';
import { hostSpec, type HostName, type LabPaths, type ServiceSpec } from './config';
import { CONFIG_HASH_ENV, configHash, containerName, LABELS, MARKER_DIR, nativePaths, renderEnvFile } from './layout';
import { run, tryRun } from './proc';
import type { NativeArtifact } from './releases';
import { provisionerEnvFile, provisionerPaths, PROVISIONER_USER } from './provisioner';
import { sshArgs } from './ssh';
import { installProvisionerNative } from './systemd-hosts';
import { shellCommand } from '../src/domain/hosts/shell-quote';
import { composeUpCommand } from '../src/domain/hosts/compose';
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

/** Writes `text` to `file` on the host over SSH (root, mode `mode`, parent folders created). */
export function writeOverSsh(
  paths: LabPaths,
  host: HostName,
  file: string,
  text: Buffer | string,
  mode: string,
  owner = 'root',
): void {
  const script =
    'set -e; install -d -m 0755 "$(dirname "$1")"; cat > "$1.tmp"; chmod "$2" "$1.tmp"; chown "$3:$3" "$1.tmp"; ' +
    'mv -f "$1.tmp" "$1"';
  const argv = ['sh', '-c', script, 'sh', file, mode, owner];
  run('ssh', [...sshArgs(paths, hostSpec(host).address), '--', shellCommand(argv)], {
    input: text,
    timeoutMs: 60_000,
  });
}

/**
 * A native service installed on a systemd host exactly as the FrameWorks provisioner installs it (lab/provisioner.ts:
 * /opt/frameworks/<svc>/<svc>, /etc/frameworks/<svc>.env, frameworks-<svc>.service with Restart=always), over SSH.
 * The tarball's other members (purser's data-migrations.js) go beside the binary, as unpacking the archive would.
 * Recorded identity = SHA-256 of the installed binary, which is what detection reports for a provisioner install.
 */
export function installProvisioner(
  paths: LabPaths,
  svc: ServiceSpec,
  version: string,
  artifact: NativeArtifact,
): InstalledService {
  const env = svc.env ?? {};
  const envText = provisionerEnvFile(env);
  // The first upgrade must see the lab's config as unchanged: the provisioner's quoting renders these values as the
  // orchestrator does (no value needs quoting), which this keeps true if someone adds one that would.
  if (envText !== renderEnvFile(env)) throw new Error(`${svc.name}: the lab's config needs quoting; keep it plain`);
  const [binary, ...others] = artifact.members;
  if (binary?.path !== svc.name) throw new Error(`${artifact.file}: first member is not ${svc.name}`);
  const p = provisionerPaths(svc.name);
  for (const host of svc.hosts) {
    installProvisionerNative({
      keys: paths,
      address: hostSpec(host).address,
      svc: svc.name,
      binary: binary.body,
      envText,
      // Both lab natives are reload_on_sighup in lab/catalog/services.yaml: their units get ExecReload.
      reloadOnSighup: true,
      artifact: { checksum: artifact.checksum, url: artifact.url },
    });
    for (const m of others) {
      writeOverSsh(paths, host, `${p.dir}/${m.path}`, m.body, (m.mode & 0o777).toString(8), PROVISIONER_USER);
    }
  }
  return {
    service: svc.name,
    mode: 'native',
    hosts: [...svc.hosts],
    version,
    port: svc.port,
    identity: `sha256:${createHash('sha256').update(binary.body).digest('hex')}`,
    configHash: configHash(env),
  };
}

/** The lab's secret for a native service (the database URL), outside everything an upgrade renders; over SSH. */
export function writeSecrets(paths: LabPaths, host: HostName, service: string, secrets: Record<string, string>): void {
  writeOverSsh(paths, host, nativePaths(service).secrets, renderEnvFile(secrets), '600');
}

/** The data-migrations adoption marker, in the host's own /etc/frameworks (service-driver.ts default path). */
export function writeAdoptionMarker(paths: LabPaths, host: HostName, runtime: string): string {
  const inHost = `${MARKER_DIR}/${runtime}.enabled`;
  writeOverSsh(paths, host, inHost, `adopted by the FrameWorks lab at ${new Date().toISOString()}\n`, '644');
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

/**
 * The compose stack the provisioner's compose_stack role leaves (reference §6.3, template generic-compose.yml.j2):
 * one service `<svc>`, `image: <image@digest>`, `container_name: frameworks-<svc>`, `restart: always`, `env_file:
 * [.env]`, the port, the bridge network `frameworks`, and a named volume (so a test can see volumes survive).
 */
export function composeFile(svc: ServiceSpec, imageRef: string): string {
  return [
    'services:',
    `  ${svc.name}:`,
    `    image: ${imageRef}`,
    `    container_name: ${containerName(svc.name)}`,
    '    restart: always',
    '    env_file:',
    '      - .env',
    '    ports:',
    `      - "${svc.port}:${svc.port}"`,
    '    volumes:',
    `      - data:/var/lib/${svc.name}`,
    '    networks:',
    '      - frameworks',
    'volumes:',
    '  data: {}',
    'networks:',
    '  frameworks:',
    '    driver: bridge',
    '',
  ].join('\n');
}

/**
 * A docker service installed as the FrameWorks provisioner installs it: a compose stack in /opt/frameworks/<svc>
 * (docker-compose.yml + .env, 0600, unquoted `KEY=VALUE`) brought up with the host's compose, over SSH. The image
 * is referenced as `<repository>:<tag>@<digest>` (the release's image and digest), so the tag reports the version
 * (reference §6.5) and the digest pins the bytes. `.env` also carries FRAMEWORKS_CONFIG_HASH, which the lab's
 * images report in /health (lab/fixtures/docker-program.ts); it is not part of the config or its hash.
 */
export function installDocker(
  paths: LabPaths,
  svc: ServiceSpec,
  version: string,
  repository: string,
  digest: string,
): InstalledService {
  const imageRef = `${repository}:${version}@${digest}`;
  const env = svc.env ?? {};
  const dir = `/opt/frameworks/${svc.name}`;
  for (const host of svc.hosts) {
    dockerCli(paths, host, ['pull', '--quiet', `${repository}@${digest}`]);
    // Idempotent: a container left by an earlier attempt is replaced.
    tryRun('docker', ['-H', `unix://${paths.dockerSocket(host)}`, 'rm', '--force', containerName(svc.name)]);
    writeOverSsh(paths, host, `${dir}/.env`, renderEnvFile({ ...env, [CONFIG_HASH_ENV]: configHash(env) }), '600');
    writeOverSsh(paths, host, `${dir}/docker-compose.yml`, composeFile(svc, imageRef), '644');
    run('ssh', [...sshArgs(paths, hostSpec(host).address), '--', shellCommand(composeUpCommand(svc.name))], {
      timeoutMs: 180_000,
    });
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
