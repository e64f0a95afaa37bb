// What actually runs on the lab's hosts, read the way an operator would: installed.json (or, before the first upgrade
// adopted it, the FrameWorks provisioner's binary and env file) and systemd's MainPID over SSH (native), `docker
// inspect` over SSH (docker), /health from the root namespace. The upgrade
// e2e compares these snapshots before and after each run: "nothing changed" means the same identity AND the same
// process (pid / container id), not just the same version label.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseReleaseManifest } from '../../src/contracts/release';
import { getServiceInfo } from '../../src/domain/release';
import { composeConfigHash, composePaths } from '../../src/domain/hosts/compose';
import { imageTagVersion } from '../../src/domain/image-ref';
import { HOSTS, SERVICES, type LabPaths } from '../../lab/config';
import { containerName, nativePaths } from '../../lab/layout';
import { provisionerPaths } from '../../lab/provisioner';
import { sshArgs } from '../../lab/ssh';

const exec = promisify(execFile);

/** One replica (`<svc>@<host>`) as its host sees it. */
export interface Replica {
  /**
   * native: installed.json identity (`sha256:<tarball>`), or `sha256:<binary>` in the provisioner's layout (not
   * adopted yet: no installed.json); docker: the digest in the container's Config.Image.
   */
  identity: string;
  /**
   * installed.json version (provisioner layout: the binary's `version --json`) / the frameworks.version label (a
   * compose stack: the image tag).
   */
  version: string;
  configHash: string;
  /** native: systemd's MainPID of frameworks-<svc>; docker: the container id. Changes iff the process was restarted. */
  instance: string;
  /** native only: 'provisioner' = as the FrameWorks provisioner left it; 'installed' = installed.json present. */
  layout?: 'provisioner' | 'installed';
  /** When the running process started (native: /health started_at; docker: State.StartedAt). */
  startedAt: string;
  /** HTTP status of GET /health from the root namespace (0: no answer). */
  health: number;
}

export type Snapshot = Record<string, Replica>;

const address = (host: string): string => HOSTS.find((h) => h.name === host)!.address;

async function onHost(paths: LabPaths, host: string, command: string): Promise<string> {
  const { stdout } = await exec('ssh', [...sshArgs(paths, address(host)), '--', command], { timeout: 30_000 });
  return stdout;
}

async function health(host: string, port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    const res = await fetch(`http://${address(host)}:${port}/health`, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return { status: 0, body: {} };
  }
}

interface Inspected {
  Id: string;
  Config: { Image: string; Labels: Record<string, string> };
  State: { StartedAt: string };
}

export async function snapshot(paths: LabPaths): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const svc of SERVICES) {
    for (const host of svc.hosts) {
      const h = await health(host, svc.port);
      if (svc.mode === 'native') {
        const p = nativePaths(svc.name);
        const prov = provisionerPaths(svc.name);
        const [installed, binary, version, env, pid] = (
          await onHost(
            paths,
            host,
            [
              `cat ${p.installed} 2>/dev/null`,
              `sha256sum < ${prov.binary} | cut -c1-64`,
              `${prov.binary} version --json`,
              `sha256sum < ${prov.env} | cut -c1-64`,
              `systemctl show --property=MainPID --value ${prov.unit}`,
            ].join('; echo @@; '),
          )
        ).split('@@\n');
        const adopted = installed!.trim() !== '';
        const rec = adopted
          ? (JSON.parse(installed!) as { identity: string; version: string; config_hash: string })
          : {
              identity: `sha256:${binary!.trim()}`,
              version: (JSON.parse(version!) as { version: string }).version,
              config_hash: env!.trim(),
            };
        out[`${svc.name}@${host}`] = {
          identity: rec.identity,
          version: rec.version,
          configHash: rec.config_hash,
          instance: pid!.trim(),
          startedAt: typeof h.body.started_at === 'string' ? h.body.started_at : '',
          health: h.status,
          layout: adopted ? 'installed' : 'provisioner',
        };
      } else {
        const [c] = JSON.parse(await onHost(paths, host, `docker inspect ${containerName(svc.name)}`)) as Inspected[];
        // A compose stack (as the provisioner installs it) has no frameworks.* labels: the image tag is its version
        // and its .env its config (reference §6.3, §6.5).
        const labels = c!.Config.Labels;
        const stack = labels['com.docker.compose.project'] !== undefined;
        const envText = stack ? await onHost(paths, host, `cat ${composePaths(svc.name).env} 2>/dev/null || true`) : '';
        out[`${svc.name}@${host}`] = {
          identity: c!.Config.Image.replace(/^.*@/, ''),
          version: labels['frameworks.version'] ?? (stack ? (imageTagVersion(c!.Config.Image) ?? '') : ''),
          configHash: labels['frameworks.config_hash'] ?? (stack ? composeConfigHash(envText) : ''),
          instance: c!.Id,
          startedAt: c!.State.StartedAt,
          health: h.status,
        };
      }
    }
  }
  return out;
}

/** Container names on a docker host (e.g. to prove no `-previous` container was left behind). */
export async function containerNames(paths: LabPaths, host: string): Promise<string[]> {
  return (await onHost(paths, host, "docker ps -a --format '{{.Names}}'")).trim().split('\n').sort();
}

/** The identity a release pins for `svc` (docker: image digest; native: the linux-amd64 tarball checksum). */
export function releaseIdentity(repository: string, version: string, svc: string): string {
  const m = parseReleaseManifest(readFileSync(join(repository, 'releases', `${version}.yaml`), 'utf8'), version);
  const info = getServiceInfo(m, svc)!;
  const spec = SERVICES.find((s) => s.name === svc)!;
  return spec.mode === 'docker' ? info.digest! : info.binaries.find((b) => b.arch === 'linux-amd64')!.checksum!;
}

/**
 * `sha256:<hex>` of the `<svc>` executable inside the release's native tarball: the identity a provisioner install
 * of that release reports (the provisioner installs the binary, not the tarball).
 */
export function releaseBinaryIdentity(repository: string, version: string, svc: string): string {
  const m = parseReleaseManifest(readFileSync(join(repository, 'releases', `${version}.yaml`), 'utf8'), version);
  const url = getServiceInfo(m, svc)!.binaries.find((b) => b.arch === 'linux-amd64')!.url!;
  const file = join(repository, new URL(url).pathname);
  const bytes = execFileSync('tar', ['-xzOf', file, svc], { maxBuffer: 64 << 20 });
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The service version a release pins for `svc` (a carried service keeps its old label). */
export function releaseServiceVersion(repository: string, version: string, svc: string): string {
  const m = parseReleaseManifest(readFileSync(join(repository, 'releases', `${version}.yaml`), 'utf8'), version);
  return getServiceInfo(m, svc)!.version;
}
