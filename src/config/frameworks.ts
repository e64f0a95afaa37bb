// Loading an operator's FrameWorks cluster manifest from a gitops checkout, as the reference CLI's LoadWithHosts,
// LoadSharedEnv and LoadClusterEnvs do (reference §1.1, §1.3, §1.4). Shared by the CLI (which reads only the
// plaintext manifest: no hosts file, no secrets) and the worker (which merges the hosts file and reads env files).
// It must not depend on src/activities: the CLI imports it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors';
import type { InputIssue } from '../errors';
import { mergeEnv, parseDotenv } from '../contracts/frameworks/dotenv';
import { mergeHostInventory, parseFrameworksManifest, parseHostInventory } from '../contracts/frameworks/manifest';
import type { FrameworksHostInventory, FrameworksManifest } from '../contracts/frameworks/manifest';
import { validateFrameworksManifest } from '../contracts/frameworks/validate';
import { formatPath } from '../contracts/parse';
import { isSopsEncrypted, sopsDecrypt, sopsFormatFromPath } from './sops';
import type { SopsFormat, SopsOptions } from './sops';

export type { SopsOptions } from './sops';

async function readBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code})`;
    throw new InputError(file, why, { cause: err });
  }
}

/** Reads a file, decrypting it with sops when it carries a SOPS marker (`format` as sops should read it). */
export async function readMaybeEncrypted(file: string, format: SopsFormat, opts: SopsOptions = {}): Promise<Buffer> {
  const bytes = await readBytes(file);
  if (!isSopsEncrypted(bytes)) return bytes;
  return sopsDecrypt(bytes, format, file, opts);
}

/** The plaintext cluster manifest, strictly decoded but not validated and without its hosts file (CLI use). */
export async function readManifestFile(file: string): Promise<FrameworksManifest> {
  const bytes = await readBytes(file);
  return parseFrameworksManifest(bytes.toString('utf8'), file);
}

/**
 * Problems found in a DECRYPTED file must not quote its values: keep the key paths, drop what follows "got".
 */
function redactDecrypted(err: unknown, file: string): never {
  if (!(err instanceof InputError)) throw err;
  const issues: InputIssue[] = err.issues.map((i) => ({
    path: i.path,
    message: i.message.replace(/\bgot (string|number|boolean) .*$/s, 'got a $1 (value not shown)'),
  }));
  throw new InputError(file, issues);
}

/** Reads and (if needed) decrypts a hosts file, always as YAML. Its values are secret: errors never quote them. */
export async function loadHostInventory(file: string, opts: SopsOptions = {}): Promise<FrameworksHostInventory> {
  const text = (await readMaybeEncrypted(file, 'yaml', opts)).toString('utf8');
  try {
    return parseHostInventory(text, file);
  } catch (err) {
    redactDecrypted(err, file);
  }
}

export interface LoadedFrameworksManifest {
  /** Merged with the hosts file (when `hosts_file` is set) and validated. */
  manifest: FrameworksManifest;
  /** Absolute path of cluster.yaml. */
  manifestPath: string;
  /** Its directory: `hosts_file`, `env_files` and `env_file` are relative to it. */
  manifestDir: string;
  /** Absolute path of the hosts file that was merged, if any. */
  hostsFile?: string;
}

/**
 * LoadWithHosts (worker use): decode cluster.yaml; when `hosts_file` is set, read it relative to the manifest's
 * directory (absolute kept), decrypt it if encrypted, merge it; then validate. Every step fails with an InputError
 * naming its file.
 */
export async function loadManifestWithHosts(
  file: string,
  opts: SopsOptions & { validate?: boolean } = {},
): Promise<LoadedFrameworksManifest> {
  const manifestPath = path.resolve(file);
  const manifestDir = path.dirname(manifestPath);
  let manifest = await readManifestFile(manifestPath);
  let hostsFile: string | undefined;
  if (manifest.hosts_file !== '') {
    hostsFile = path.isAbsolute(manifest.hosts_file)
      ? manifest.hosts_file
      : path.join(manifestDir, manifest.hosts_file);
    const inventory = await loadHostInventory(hostsFile, opts);
    manifest = mergeHostInventory(manifest, inventory, hostsFile);
  }
  if (opts.validate !== false) validateFrameworksManifest(manifest, manifestPath);
  return { manifest, manifestPath, manifestDir, ...(hostsFile !== undefined ? { hostsFile } : {}) };
}

/**
 * Reads the env files of one list (`label` names the manifest field, e.g. `env_files` or
 * `clusters.media-eu-1.env_files`): entries trimmed, empty ones skipped, absolute paths refused, relative ones
 * joined to `manifestDir`; each decrypted if encrypted (format by extension), parsed by the CLI's line rules, and
 * merged with later files overriding earlier keys.
 */
async function mergeEnvFiles(
  files: ReadonlyArray<{ entry: string; at: PropertyKey[] }>,
  manifestDir: string,
  opts: SopsOptions,
): Promise<Record<string, string>> {
  let env: Record<string, string> = {};
  for (const { entry: raw, at } of files) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (path.isAbsolute(entry)) {
      throw new InputError(`cluster manifest in ${manifestDir}`, [
        {
          path: formatPath(at),
          message: `absolute path "${entry}" is not allowed; use a path relative to the manifest directory`,
        },
      ]);
    }
    const file = path.join(manifestDir, entry);
    const bytes = await readMaybeEncrypted(file, sopsFormatFromPath(file), opts);
    env = mergeEnv(env, parseDotenv(bytes.toString('utf8')));
  }
  return env;
}

/** LoadSharedEnv: the manifest's top-level `env_files`, merged in order. Values are secrets: keep them on the worker. */
export async function loadSharedEnv(
  manifest: FrameworksManifest,
  manifestDir: string,
  opts: SopsOptions = {},
): Promise<Record<string, string>> {
  return mergeEnvFiles(
    manifest.env_files.map((entry, i) => ({ entry, at: ['env_files', i] })),
    manifestDir,
    opts,
  );
}

/** LoadClusterEnvs: one merged map per cluster that lists `env_files`; never shared across clusters. */
export async function loadClusterEnvs(
  manifest: FrameworksManifest,
  manifestDir: string,
  opts: SopsOptions = {},
): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [id, cluster] of Object.entries(manifest.clusters)) {
    if (cluster.env_files.length === 0) continue;
    out[id] = await mergeEnvFiles(
      cluster.env_files.map((entry, i) => ({ entry, at: ['clusters', id, 'env_files', i] })),
      manifestDir,
      opts,
    );
  }
  return out;
}

/** One service's `env_file` (relative to the manifest directory, absolute refused), decrypted if needed. */
export async function loadServiceEnvFile(
  envFile: string,
  manifestDir: string,
  labelPath: PropertyKey[],
  opts: SopsOptions = {},
): Promise<Record<string, string>> {
  return mergeEnvFiles([{ entry: envFile, at: labelPath }], manifestDir, opts);
}
