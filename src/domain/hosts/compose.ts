// Docker services as the FrameWorks provisioner leaves them (reference §6.3): a compose project in
// /opt/frameworks/<svc>/ (docker-compose.yml with one service <svc>, `container_name: frameworks-<svc>`, `.env`),
// found by the §6.5 step 2 chain of container names. Commands as data for the host's docker CLI over SSH, and
// their output parsed; no I/O (test/unit/host-compose.test.ts). Identity is the running image's REGISTRY digest
// (its RepoDigests entry for the container's repository), never the tag, so a host this tool never touched is
// compared by content like any other.
import { isMap, parseDocument, type Document, type YAMLMap } from 'yaml';
import { z } from 'zod';
import { imageDigest, imageRepository, imageTagVersion, withoutDigest } from '../image-ref';
import {
  assertServiceName,
  configHash,
  nativePaths,
  renderEnvFile,
  writeFileAtomicCommand,
  type Argv,
  type HostStep,
} from './commands';

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
  const entry = digests.find((d) => withoutDigest(d) === repo) ?? (digests.length === 1 ? digests[0] : undefined);
  const digest = entry ? imageDigest(entry) : null;
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

// ---- upgrading a compose stack in place (issue 14 item 4) ----
//
// The stack stays the provisioner's: the same folder (so the same project name), the same service and
// container_name, its ports, networks and volumes. An upgrade changes exactly two things, the `image:` of the
// service and the `.env` it reads, and lets the host's own compose recreate the container (`up -d`), which keeps
// named and anonymous volumes. What ran before is kept byte for byte in `<dir>/.frameworks-previous/` until the host
// is healthy; a rollback puts those two files back and runs `up -d` again.

/** The `.env` variable the lab's images report in /health; written beside the config, never part of its hash. */
export const CONFIG_HASH_VAR = 'FRAMEWORKS_CONFIG_HASH';

/** `KEY=VALUE` lines of a compose `.env` (blank lines and `#` comments skipped; values literal, as written). */
export function parseComposeEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return env;
}

/** The config hash of a stack's `.env` (absent = empty config), comparable with renderServiceConfig's. */
export function composeConfigHash(envText: string | null): string {
  const env = parseComposeEnv(envText ?? '');
  delete env[CONFIG_HASH_VAR];
  return configHash(renderEnvFile(env));
}

/** The `.env` an upgrade writes: the rendered config plus the hash variable (the lab image contract). */
export function composeEnvText(env: Record<string, string>, hash: string): string {
  return renderEnvFile({ ...env, [CONFIG_HASH_VAR]: hash });
}

function serviceNode(doc: Document, svc: string): YAMLMap {
  const node = doc.getIn(['services', svc], true);
  if (!isMap(node)) throw new Error(`docker-compose.yml has no service ${svc}`);
  return node;
}

/** The compose file's `image:` of `svc` (null when it has none). */
export function composeImage(text: string, svc: string): string | null {
  const v = serviceNode(parseDocument(text), svc).get('image');
  return typeof v === 'string' ? v : null;
}

/** The compose file with only `services.<svc>.image` changed (comments, order and everything else kept). */
export function composeWithImage(text: string, svc: string, imageRef: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`docker-compose.yml does not parse: ${doc.errors[0]!.message}`);
  serviceNode(doc, svc).set('image', imageRef);
  return doc.toString();
}

export interface ComposeFiles {
  /** docker-compose.yml, null when the folder has none (not a compose stack). */
  compose: string | null;
  env: string | null;
  /** `.frameworks-previous/target`: what the kept copy is the rollback target FOR, null when nothing is kept. */
  keptFor: string | null;
}

// One round trip: the files as base64 (no quoting questions), or @@nocompose.
const READ_FILES = [
  'd=$1',
  '[ -f "$d/docker-compose.yml" ] || { echo "@@nocompose"; exit 0; }',
  'echo "@@compose $(base64 -w0 < "$d/docker-compose.yml")"',
  'if [ -f "$d/.env" ]; then echo "@@env $(base64 -w0 < "$d/.env")"; fi',
  'if [ -f "$d/.frameworks-previous/target" ]; then echo "@@kept $(base64 -w0 < "$d/.frameworks-previous/target")"; fi',
  'exit 0',
].join('\n');

export function composeFilesCommand(svc: string, base?: string): Argv {
  return ['sh', '-c', READ_FILES, 'sh', composePaths(svc, base).dir];
}

export function parseComposeFiles(stdout: string): ComposeFiles {
  const get = (k: string): string | null => {
    const m = new RegExp(`^@@${k} ?(.*)$`, 'm').exec(stdout);
    return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : null;
  };
  if (/^@@nocompose$/m.test(stdout)) return { compose: null, env: null, keptFor: null };
  const compose = get('compose');
  if (compose === null) throw new Error(`unexpected compose folder output: ${stdout.slice(0, 200)}`);
  return { compose, env: get('env'), keptFor: get('kept') };
}

/** The host's compose: the docker CLI plugin when present, else the standalone `docker-compose` (v1 on Debian 12). */
const DC =
  'dc() { if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi; }';

/** `up -d` of the stack in its folder (project name = folder name, as the provisioner ran it). */
export function composeUpCommand(svc: string, base?: string): Argv {
  return ['sh', '-c', `${DC}\ncd -- "$1" && dc up -d 2>&1`, 'sh', composePaths(svc, base).dir];
}

/** `ps` in the folder with the host's compose: the provisioner's own view (v1 prints a table, v2 JSON). */
export function composeHostPsCommand(svc: string, base?: string): Argv {
  return [
    'sh',
    '-c',
    `${DC}\ncd -- "$1" && if docker compose version >/dev/null 2>&1; then docker compose ps --all --format json; ` +
      'else docker-compose ps; fi',
    'sh',
    composePaths(svc, base).dir,
  ];
}

// Keeps docker-compose.yml and .env (modes and owners too) as the rollback target of the activation `$2`; a retry
// of the same activation finds its copy and keeps it (the files may already be the new ones by then).
const KEEP = [
  'set -e',
  'd=$1 want=$2 k="$1/.frameworks-previous"',
  '[ -f "$k/target" ] && [ "$(cat "$k/target")" = "$want" ] && exit 0',
  'rm -rf -- "$k.tmp"',
  'mkdir -m 0700 -- "$k.tmp"',
  'cp -p -- "$d/docker-compose.yml" "$k.tmp/docker-compose.yml"',
  'if [ -f "$d/.env" ]; then cp -p -- "$d/.env" "$k.tmp/.env"; fi',
  `printf '%s' "$want" > "$k.tmp/target"`,
  'rm -rf -- "$k"',
  'mv -T -- "$k.tmp" "$k"',
].join('\n');

export function composeKeepCommand(svc: string, target: string, base?: string): Argv {
  return ['sh', '-c', KEEP, 'sh', composePaths(svc, base).dir, target];
}

// Puts the kept files back byte for byte (an .env that did not exist is removed again), then `up -d`; the copy is
// dropped only after compose succeeded, so a retry repeats the whole restore.
const RESTORE = [
  'set -e',
  DC,
  'd=$1 k="$1/.frameworks-previous"',
  '[ -d "$k" ] || { echo "@@nothing-kept"; exit 0; }',
  'cp -p -- "$k/docker-compose.yml" "$d/docker-compose.yml.fw-tmp"',
  'mv -f -- "$d/docker-compose.yml.fw-tmp" "$d/docker-compose.yml"',
  'if [ -f "$k/.env" ]; then cp -p -- "$k/.env" "$d/.env.fw-tmp"; mv -f -- "$d/.env.fw-tmp" "$d/.env"; else rm -f -- "$d/.env"; fi',
  'cd -- "$d"',
  'dc up -d 2>&1',
  'rm -rf -- "$k"',
  'echo "@@restored"',
].join('\n');

export function composeRestoreCommand(svc: string, base?: string): Argv {
  return ['sh', '-c', RESTORE, 'sh', composePaths(svc, base).dir];
}

export function composeDropKeptCommand(svc: string, base?: string): Argv {
  return ['rm', '-rf', '--', `${composePaths(svc, base).dir}/.frameworks-previous`];
}

export type ComposeActivationPlan =
  | {
      /**
       * The files are the target's already (a retry after a crash before `up -d`, or nothing to do): `up` when the
       * container does not run `digest` yet. `replaced`: this activation kept a rollback target (it replaced a
       * stack), so a start is reported as the replacement it completes.
       */
      kind: 'files-at-target';
      digest: string | null;
      up: HostStep;
      replaced: boolean;
    }
  | { kind: 'replace'; steps: HostStep[] };

/**
 * Activation of a compose stack at `imageRef` with the config, as data: the current files are kept as the rollback
 * target (for this activation: `<imageRef> <configHash>`), then only the service's `image:` and `.env` change and
 * the host's compose recreates the container (same project, service, container name, volumes). Everything is
 * rendered before the first step runs, so a compose file that does not parse changes nothing.
 */
export function planComposeActivation(
  svc: string,
  files: ComposeFiles & { compose: string },
  input: { imageRef: string; env: Record<string, string>; configHash: string },
): ComposeActivationPlan {
  const p = composePaths(svc);
  const envText = composeEnvText(input.env, input.configHash);
  const target = `${input.imageRef} ${input.configHash}`;
  if (composeImage(files.compose, svc) === input.imageRef && files.env === envText) {
    return {
      kind: 'files-at-target',
      digest: imageDigest(input.imageRef),
      up: { argv: composeUpCommand(svc), what: `bring the ${svc} stack up` },
      replaced: files.keptFor === target,
    };
  }
  return {
    kind: 'replace',
    steps: [
      { argv: composeKeepCommand(svc, target), what: `keep the ${svc} stack's files for rollback` },
      { argv: writeFileAtomicCommand(p.env, '0600'), what: `write ${p.env}`, stdin: envText },
      {
        argv: writeFileAtomicCommand(p.composeFile, '0644'),
        what: `write ${p.composeFile}`,
        stdin: composeWithImage(files.compose, svc, input.imageRef),
      },
      { argv: composeUpCommand(svc), what: `recreate ${p.container} with compose` },
    ],
  };
}
