// Docker services as the FrameWorks provisioner leaves them (reference §6.3): a compose project in
// /opt/frameworks/<svc>/ (docker-compose.yml with one service <svc>, `container_name: frameworks-<svc>`, `.env`),
// found by the §6.5 step 2 chain of container names. Commands as data for the host's docker CLI over SSH, and
// their output parsed; no I/O (test/unit/host-compose.test.ts). Identity is the running image's REGISTRY digest
// (its RepoDigests entry for the container's repository), never the tag, so a host this tool never touched is
// compared by content like any other.
import { z } from 'zod';
import { assertServiceName, nativePaths, type Argv } from './commands';

export function composePaths(svc: string, base?: string) {
  const dir = nativePaths(svc, base).dir;
  return {
    dir,
    composeFile: `${dir}/docker-compose.yml`,
    env: `${dir}/.env`,
    container: `frameworks-${svc}`,
    /** Compose's project name is the folder's name. */
    project: svc,
  };
}

/** Reference §6.5 step 2, in order. */
export function containerNameChain(svc: string): string[] {
  assertServiceName(svc);
  return [`frameworks-${svc}`, svc, `frameworks_${svc}`];
}

// `docker ps --filter name=` matches substrings, hence the exact match on the first column. The first container
// found is inspected: its image id and labels, the image's registry digests, and the compose `.env` hash.
const DETECT = [
  'for n in "$@"; do',
  `  line=$(docker ps -a --filter "name=$n" --format '{{.Names}}|{{.State}}|{{.Image}}' | awk -F'|' -v n="$n" '$1 == n' | head -n 1)`,
  '  [ -n "$line" ] || continue',
  '  echo "@@ps $line"',
  `  docker inspect --format '@@inspect {{.Image}}|{{.RestartCount}}|{{json .Config.Labels}}' -- "$n" || exit 3`,
  `  img=$(docker inspect --format '{{.Image}}' -- "$n")`,
  `  docker image inspect --format '@@digests {{json .RepoDigests}}' -- "$img" || echo "@@digests []"`,
  `  wd=$(docker inspect --format '{{index .Config.Labels "com.docker.compose.project.working_dir"}}' -- "$n")`,
  '  case $wd in "<no value>") wd= ;; esac',
  '  if [ -n "$wd" ] && [ -f "$wd/.env" ]; then echo "@@env $(sha256sum < "$wd/.env" | cut -c1-64)"; else echo "@@env"; fi',
  '  exit 0',
  'done',
  'echo "@@none"',
].join('\n');

/** One round trip: the first container of the chain, inspected (exit 0 also when none exists: `@@none`). */
export function dockerDetectCommand(svc: string): Argv {
  return ['sh', '-c', DETECT, 'sh', ...containerNameChain(svc)];
}

export interface ComposeProject {
  project: string;
  service: string;
  workingDir: string;
  configFiles: string[];
}

export interface DockerDetection {
  container: string;
  state: string;
  /** `running` (reference §6.5). */
  running: boolean;
  /** The image as the container was created with (`repo:tag`, `repo@sha256:…`, or an id). */
  image: string;
  /** The label: the image tag per reference §6.5, null when there is none. */
  version: string | null;
  imageId: string;
  restartCount: number;
  /** `sha256:<hex>`: the registry digest of the running image, null when the image was never pulled by digest. */
  identity: string | null;
  /** Present when the container belongs to a compose project (its labels). */
  compose: ComposeProject | null;
  /** SHA-256 of the compose project's `.env` (the provisioner's config), null when absent. */
  envSha256: string | null;
}

/**
 * The version label of an image reference (reference §6.5): the text after the last `:` that follows the last
 * `/`, with `@digest` removed; none for a bare `sha256:` id or a reference without a tag.
 */
export function imageTagVersion(image: string): string | null {
  if (/^sha256:/.test(image)) return null;
  const noDigest = image.replace(/@sha256:[0-9a-f]+$/, '');
  const last = noDigest.slice(noDigest.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  return colon < 0 || colon === last.length - 1 ? null : last.slice(colon + 1);
}

/** The repository of a reference: without tag and digest (a registry port is not a tag). */
export function imageRepository(image: string): string {
  if (/^sha256:/.test(image)) return image;
  const noDigest = image.replace(/@sha256:[0-9a-f]+$/, '');
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

const Labels = z.record(z.string(), z.string()).nullable();
const Digests = z.array(z.string()).nullable();

export function parseDockerDetection(stdout: string): DockerDetection | null {
  const lines = new Map<string, string>();
  for (const l of stdout.split('\n')) {
    const m = /^@@(\w+) ?(.*)$/.exec(l);
    if (m) lines.set(m[1]!, m[2]!);
  }
  if (lines.has('none')) return null;
  const ps = lines.get('ps');
  const inspect = lines.get('inspect');
  if (ps === undefined || inspect === undefined) {
    throw new Error(`unexpected docker detection output: ${stdout.slice(0, 300)}`);
  }
  const [container = '', state = '', ...imageParts] = ps.split('|');
  const image = imageParts.join('|');
  const [imageId = '', restarts = '', ...labelParts] = inspect.split('|');
  const labels = Labels.parse(JSON.parse(labelParts.join('|') || 'null')) ?? {};
  const digests = Digests.parse(JSON.parse(lines.get('digests') || 'null')) ?? [];
  const repo = imageRepository(image);
  // RepoDigests entries are `<repository>@sha256:<hex>`; the one for the container's repository identifies it.
  const entry =
    digests.find((d) => d.slice(0, d.indexOf('@')) === repo) ?? (digests.length === 1 ? digests[0] : undefined);
  const digest = entry ? (/@(sha256:[0-9a-f]{64})$/.exec(entry)?.[1] ?? null) : null;
  const project = labels['com.docker.compose.project'];
  const env = lines.get('env') ?? '';
  return {
    container,
    state,
    running: state === 'running',
    image,
    version: imageTagVersion(image),
    imageId,
    restartCount: Number(restarts) || 0,
    identity: digest,
    compose: project
      ? {
          project,
          service: labels['com.docker.compose.service'] ?? '',
          workingDir: labels['com.docker.compose.project.working_dir'] ?? '',
          configFiles: (labels['com.docker.compose.project.config_files'] ?? '').split(',').filter(Boolean),
        }
      : null,
    envSha256: /^[0-9a-f]{64}$/.test(env) ? env : null,
  };
}

/** Why a detected container is not the provisioner's compose stack of `svc`, or null when it is (reference §6.3). */
export function composeProblem(svc: string, d: DockerDetection, base?: string): string | null {
  const p = composePaths(svc, base);
  if (d.container !== p.container) return `the container is ${d.container}, not ${p.container}`;
  if (!d.compose) return `${d.container} is not part of a compose project`;
  if (d.compose.workingDir !== p.dir) return `its compose project lives in ${d.compose.workingDir}, not ${p.dir}`;
  if (d.compose.service !== svc) return `its compose service is ${d.compose.service}, not ${svc}`;
  return null;
}

/** `docker compose ps` of the service folder (reference §6.6: the provisioner's own health view). */
export function composePsCommand(svc: string, base?: string): Argv {
  return ['docker', 'compose', '--project-directory', composePaths(svc, base).dir, 'ps', '--all', '--format', 'json'];
}

const PsEntry = z.object({ Name: z.string(), Service: z.string(), State: z.string() }).loose();

/** Compose v2 prints one JSON array (≤ 2.20) or one JSON object per line (newer); both are accepted. */
export function parseComposePs(stdout: string): { name: string; service: string; state: string }[] {
  const t = stdout.trim();
  if (t === '') return [];
  const raw: unknown[] = t.startsWith('[')
    ? (JSON.parse(t) as unknown[])
    : t.split('\n').map((l): unknown => JSON.parse(l));
  return raw.map((e) => {
    const p = PsEntry.parse(e);
    return { name: p.Name, service: p.Service, state: p.State };
  });
}
