// Every command the upgrade runs on a host, built as DATA (Kamal style, CONVENTIONS.md): pure functions return
// argv arrays, the SSH client quotes them with the one helper (shell-quote.ts) and runs them. Nothing here does I/O,
// so each builder is unit-tested by value (test/unit/host-commands.test.ts).
//
// ON-HOST LAYOUT of a native service (shared with the lab builder):
//   <base>/<svc>/releases/<hex>/   the unpacked tarball; <hex> = SHA-256 of the tarball (its identity)
//   <base>/<svc>/current           symlink to the active release dir; the executable is current/<svc>
//   <base>/<svc>/installed.json    {"identity":"sha256:<hex>","version","config_hash","previous":{…}|null}
//   <base>/<svc>/env               rendered KEY=value lines, sorted; config hash = SHA-256 of its bytes
//   <base>/<svc>/pid               optional, written by a pid-file supervisor: the target of SIGHUP reloads
// Two files only this orchestrator writes, both needed to make activation resumable and rollback complete:
//   <base>/<svc>/env.previous      the env file the previous record was running with (rollback restores it)
//   <base>/<svc>/.fw-pending       "restart" | "reload" while an activation is between switch and restart
// A service ADOPTED from the FrameWorks provisioner's layout (domain/hosts/provisioner.ts) keeps the same folder,
// but its env file stays where the provisioner's unit reads it, /etc/frameworks/<svc>.env (installed.json
// `"layout": "adopted"`), and `<base>/<svc>/<svc>` (the unit's ExecStart) is a link to `current/<svc>`.
//
// Scripts take their paths as positional parameters ("$1"…) rather than spliced into the script text, so the
// script is a constant and only argv elements vary; the quoting helper then makes each element one word.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ServiceManager } from '../../contracts/cluster';
import { SERVICE_PLACEHOLDER } from '../../contracts/cluster';
import { shellQuote } from './shell-quote';

export type Argv = string[];

/** One remote command of a plan (native-plan.ts, compose.ts): argv, what it does (for its failure), its stdin. */
export interface HostStep {
  argv: Argv;
  what: string;
  stdin?: string;
}

export const DEFAULT_BASE_DIR = '/opt/frameworks';
const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const HEX64 = /^[0-9a-f]{64}$/;
// Conservative on purpose: these paths end up in scripts, systemd units and container names.
const BASE_COMPONENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function assertServiceName(svc: string): void {
  if (!SERVICE_NAME.test(svc)) {
    throw new Error(`invalid service name ${JSON.stringify(svc)}: only [a-z0-9-], starting with a letter or digit`);
  }
}

/** The base dir without trailing slashes; refuses relative paths, `.`/`..` components and shell-special bytes. */
export function normalizeBaseDir(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  const parts = trimmed.split('/').slice(1);
  if (!base.startsWith('/') || parts.length === 0 || !parts.every((p) => BASE_COMPONENT.test(p))) {
    throw new Error(`invalid base dir ${JSON.stringify(base)}: an absolute path of [A-Za-z0-9._-] components`);
  }
  return trimmed;
}

/** `sha256:<hex>` or `<hex>` ⇒ `<hex>`; anything else is refused. */
export function identityHex(identity: string): string {
  const hex = identity.startsWith('sha256:') ? identity.slice('sha256:'.length) : identity;
  if (!HEX64.test(hex))
    throw new Error(`invalid artifact identity ${JSON.stringify(identity)}: expected sha256:<64 hex>`);
  return hex;
}

/** Where the FrameWorks provisioner puts env files (reference §6.2); an adopted service keeps using it. */
export const PROVISIONER_ETC_DIR = '/etc/frameworks';

/** `own`: the orchestrator's layout; `adopted`: taken over from the provisioner (env file in /etc/frameworks). */
export type NativeLayout = 'own' | 'adopted';

export interface NativePaths {
  dir: string;
  releases: string;
  current: string;
  installed: string;
  env: string;
  envPrevious: string;
  pidFile: string;
  pending: string;
  executable: string;
  release(identity: string): string;
}

export function nativePaths(svc: string, base: string = DEFAULT_BASE_DIR, layout: NativeLayout = 'own'): NativePaths {
  assertServiceName(svc);
  const dir = `${normalizeBaseDir(base)}/${svc}`;
  return {
    dir,
    releases: `${dir}/releases`,
    current: `${dir}/current`,
    installed: `${dir}/installed.json`,
    env: layout === 'adopted' ? `${PROVISIONER_ETC_DIR}/${svc}.env` : `${dir}/env`,
    envPrevious: `${dir}/env.previous`,
    pidFile: `${dir}/pid`,
    pending: `${dir}/.fw-pending`,
    executable: `${dir}/current/${svc}`,
    release: (identity) => `${dir}/releases/${identityHex(identity)}`,
  };
}

// ---- env file and config hash ----

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `KEY=value\n` per entry, keys sorted by code unit, so equal config always renders (and hashes) the same. */
export function renderEnvFile(env: Record<string, string>): string {
  const keys = Object.keys(env).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const k of keys) {
    if (!ENV_NAME.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    // A newline would smuggle in a second variable; NUL cannot be stored in an environment.
    if (/[\r\n\0]/.test(env[k]!)) throw new Error(`environment value of ${k} contains a newline or NUL`);
  }
  return keys.map((k) => `${k}=${env[k]}\n`).join('');
}

export function configHash(envText: string): string {
  return createHash('sha256').update(envText, 'utf8').digest('hex');
}

// ---- installed.json ----

const Hex64 = z.string().regex(HEX64, 'expected 64 lowercase hex digits');
const RecordFields = {
  identity: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex>'),
  version: z.string().min(1),
  config_hash: Hex64,
};
const PreviousSchema = z.object(RecordFields);
export const InstalledRecordSchema = z.object({
  ...RecordFields,
  previous: PreviousSchema.nullable(),
  /** Absent = the orchestrator's own layout. */
  layout: z.literal('adopted').optional(),
});
export type InstalledRecord = z.infer<typeof InstalledRecordSchema>;
export type InstalledEntry = z.infer<typeof PreviousSchema>;

export function renderInstalledJson(record: InstalledRecord): string {
  // `previous` is one level deep: a rollback goes back one step, and an unbounded chain would grow forever.
  const previous = record.previous && {
    identity: record.previous.identity,
    version: record.previous.version,
    config_hash: record.previous.config_hash,
  };
  const out = {
    identity: record.identity,
    version: record.version,
    config_hash: record.config_hash,
    previous,
    ...(record.layout ? { layout: record.layout } : {}),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}

export function parseInstalledJson(text: string): InstalledRecord {
  const parsed = InstalledRecordSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

// ---- probing a native install (one round trip) ----

const INSTALLED_MARKER = '--- installed.json';
const PROBE_SCRIPT = [
  'd=$1',
  'if [ -d "$d" ]; then echo dir=1; else echo dir=0; fi',
  'printf "current=%s\\n" "$(readlink -- "$d/current" 2>/dev/null)"',
  'for f in env env.previous; do',
  '  if [ -f "$d/$f" ]; then h=$(sha256sum < "$d/$f" | cut -c1-64); else h=; fi; printf "%s=%s\\n" "$f" "$h"',
  'done',
  // The provisioner's env file: an adopted service's config (which of the two counts is decided by installed.json).
  'if [ -f "$2" ]; then h=$(sha256sum < "$2" | cut -c1-64); else h=; fi; printf "etc_env=%s\\n" "$h"',
  'pid=$(cat -- "$d/pid" 2>/dev/null); case $pid in ""|*[!0-9]*) pid=;; esac',
  'if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "pid=$pid"; else echo pid=; fi',
  'printf "pending=%s\\n" "$(cat -- "$d/.fw-pending" 2>/dev/null)"',
  'printf "releases=%s\\n" "$(ls -1 -- "$d/releases" 2>/dev/null | tr "\\n" " ")"',
  `echo '${INSTALLED_MARKER}'`,
  'cat -- "$d/installed.json" 2>/dev/null || true',
].join('\n');

export function probeNativeCommand(svc: string, base?: string): Argv {
  return ['sh', '-c', PROBE_SCRIPT, 'sh', nativePaths(svc, base).dir, nativePaths(svc, base, 'adopted').env];
}

export interface NativeProbe {
  dirExists: boolean;
  /** The release hex `current` points at (absolute or `releases/<hex>` targets), or null. */
  currentIdentity: string | null;
  envSha256: string | null;
  envPreviousSha256: string | null;
  /** The provisioner's env file (/etc/frameworks/<svc>.env), the config of an adopted service. */
  etcEnvSha256: string | null;
  /** From the pid file, only when that process is alive. */
  pid: number | null;
  pending: 'restart' | 'reload' | null;
  releases: string[];
  /** Raw installed.json text; null when absent. */
  installedText: string | null;
}

export function parseNativeProbe(stdout: string): NativeProbe {
  const at = stdout.indexOf(`\n${INSTALLED_MARKER}\n`);
  if (at < 0) throw new Error(`unexpected probe output (no "${INSTALLED_MARKER}" line): ${stdout.slice(0, 200)}`);
  const fields = new Map(
    stdout
      .slice(0, at)
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );
  const hex = (v: string | undefined): string | null => (v && HEX64.test(v) ? v : null);
  const link = fields.get('current') ?? '';
  const m = /(?:^|\/)releases\/([0-9a-f]{64})\/?$/.exec(link);
  const pid = Number(fields.get('pid'));
  const pending = fields.get('pending');
  const installed = stdout.slice(at + INSTALLED_MARKER.length + 2);
  return {
    dirExists: fields.get('dir') === '1',
    currentIdentity: m ? m[1]! : null,
    envSha256: hex(fields.get('env')),
    envPreviousSha256: hex(fields.get('env.previous')),
    etcEnvSha256: hex(fields.get('etc_env')),
    pid: Number.isSafeInteger(pid) && pid > 0 ? pid : null,
    pending: pending === 'restart' || pending === 'reload' ? pending : null,
    releases: (fields.get('releases') ?? '').split(' ').filter((r) => HEX64.test(r)),
    installedText: installed.trim() === '' ? null : installed,
  };
}

// ---- file system steps ----

/** Exit 0 ⇔ `path` exists as a directory (`dir`) or a regular file (`file`). */
export function pathExistsCommand(kind: 'dir' | 'file', path: string): Argv {
  return ['test', kind === 'dir' ? '-d' : '-f', path];
}

export function mkdirCommand(path: string): Argv {
  return ['mkdir', '-p', '--', path];
}

export function removeCommand(path: string): Argv {
  return ['rm', '-rf', '--', path];
}

export function sha256FileCommand(path: string): Argv {
  return ['sha256sum', '--', path];
}

// A replaced file keeps its owner: the provisioner's env files belong to the service user (reference §6.2).
const WRITE_ATOMIC =
  'umask 077 && cat > "$1.fw-tmp" && chmod "$2" "$1.fw-tmp" && ' +
  '{ [ ! -e "$1" ] || chown --reference="$1" -- "$1.fw-tmp"; } && mv -f -- "$1.fw-tmp" "$1"';

/**
 * Writes stdin to `path` via a temp file and rename: readers see the old file or the new one, never half. An
 * existing file's owner and group are kept.
 */
export function writeFileAtomicCommand(path: string, mode = '0600'): Argv {
  if (!/^0[0-7]{3}$/.test(mode)) throw new Error(`invalid file mode ${mode}`);
  return ['sh', '-c', WRITE_ATOMIC, 'sh', path, mode];
}

const COPY_ATOMIC = 'cp -p -- "$1" "$2.fw-tmp" && mv -f -- "$2.fw-tmp" "$2"';

export function copyFileAtomicCommand(from: string, to: string): Argv {
  return ['sh', '-c', COPY_ATOMIC, 'sh', from, to];
}

// `ln -sfn` onto a live link is unlink+symlink (a window with no link); building a temp link and renaming it
// over the old one is a single rename(2). `mv -T` keeps mv from moving the temp link INTO the old target dir.
const SWITCH_LINK = 'ln -sfn -- "$1" "$2.fw-tmp" && mv -Tf -- "$2.fw-tmp" "$2"';

export function switchSymlinkCommand(target: string, link: string): Argv {
  return ['sh', '-c', SWITCH_LINK, 'sh', target, link];
}

/** Atomically points `<base>/<svc>/current` at the release `identity` (also the rollback switch). */
export function switchCurrentCommand(svc: string, identity: string, base?: string): Argv {
  const p = nativePaths(svc, base);
  return switchSymlinkCommand(p.release(identity), p.current);
}

// GNU tar already strips leading "/" and refuses ".." members; the archive is ALSO inspected on the worker
// before upload (activities/hosts/tarball.ts), so this is defence in depth. Extraction goes into a fresh temp
// dir (nothing in it to follow) that is renamed into place only when tar succeeded: a release dir either is
// complete or does not exist. --no-same-owner: as root, tar would otherwise chown files to the archive's uids.
const EXTRACT = [
  'set -e',
  'rm -rf -- "$3"',
  'mkdir -m 0755 -- "$3"',
  'tar -xzf "$1" -C "$3" --no-same-owner --no-overwrite-dir --delay-directory-restore',
  'mv -T -- "$3" "$2"',
  'rm -f -- "$1"',
].join('\n');

export function extractReleaseCommand(tarball: string, releaseDir: string, tempDir: string): Argv {
  return ['sh', '-c', EXTRACT, 'sh', tarball, releaseDir, tempDir];
}

// ---- service manager ----

export function systemdUnit(svc: string): string {
  assertServiceName(svc);
  return `frameworks-${svc}`;
}

function template(text: string, svc: string): Argv {
  assertServiceName(svc);
  // The template is operator-written shell (cluster.yaml); only the service name is substituted, quoted.
  return ['sh', '-c', text.replaceAll(SERVICE_PLACEHOLDER, shellQuote(svc))];
}

export function restartCommand(manager: ServiceManager, svc: string): Argv {
  return manager.type === 'systemd' ? ['systemctl', 'restart', systemdUnit(svc)] : template(manager.restart, svc);
}

export function stopCommand(manager: ServiceManager, svc: string): Argv {
  return manager.type === 'systemd' ? ['systemctl', 'stop', systemdUnit(svc)] : template(manager.stop, svc);
}

/** Exit 0 ⇔ running. */
export function statusCommand(manager: ServiceManager, svc: string): Argv {
  return manager.type === 'systemd'
    ? ['systemctl', 'is-active', '--quiet', systemdUnit(svc)]
    : template(manager.status, svc);
}

/** systemd only: prints the main pid (0 when stopped). Command managers expose it through the pid file. */
export function systemdMainPidCommand(svc: string): Argv {
  return ['systemctl', 'show', '--property=MainPID', '--value', systemdUnit(svc)];
}

// Exit 3 when there is no usable pid, so the caller can tell "nothing to signal" from a failed kill.
const HUP_BY_PIDFILE = [
  'pid=$(cat -- "$1" 2>/dev/null) || exit 3',
  'case $pid in ""|*[!0-9]*) exit 3;; esac',
  'kill -0 "$pid" 2>/dev/null || exit 3',
  'kill -HUP "$pid"',
].join('\n');

export function hupByPidFileCommand(pidFile: string): Argv {
  return ['sh', '-c', HUP_BY_PIDFILE, 'sh', pidFile];
}

/**
 * SIGHUP reload: systemd ⇒ `systemctl reload` (the unit's ExecReload sends SIGHUP, reference §6.3 step 6);
 * a command manager has no reload verb, so the signal goes to the pid in `<base>/<svc>/pid`.
 */
export function reloadCommand(manager: ServiceManager, svc: string, base?: string): Argv {
  return manager.type === 'systemd'
    ? ['systemctl', 'reload', systemdUnit(svc)]
    : hupByPidFileCommand(nativePaths(svc, base).pidFile);
}
