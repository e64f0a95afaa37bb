// SOPS-encrypted side files of a FrameWorks gitops checkout (reference §2): the hosts file and env files are
// decrypted with the real `sops` binary and an age key. Plaintext files are read as they are, with no key and no
// binary needed. Decrypted bytes stay in memory; no error message ever contains them.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors';

export type SopsFormat = 'yaml' | 'json' | 'dotenv';

export interface SopsOptions {
  /** `--age-key`: path of an age identity file. Wins over SOPS_AGE_KEY_FILE. */
  ageKeyFile?: string;
  /** Path of the `sops` binary; else SOPS_BINARY, then PATH, then `<repo>/.tools/bin/sops`. */
  sopsBinary?: string;
  /** Environment to read SOPS_* settings from and to run sops with (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** IsEncrypted: the bytes carry a SOPS marker (dotenv metadata line or an encrypted value). */
export function isSopsEncrypted(bytes: Uint8Array | string): boolean {
  const s = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  return s.includes('sops_version=') || s.includes('ENC[AES256_GCM,');
}

/** FormatFromPath: `.yaml`/`.yml` → yaml, `.json` → json, anything else → dotenv. */
export function sopsFormatFromPath(file: string): SopsFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  return 'dotenv';
}

/**
 * The age key file to use: `ageKeyFile`, else SOPS_AGE_KEY_FILE; made absolute and required to exist. Undefined
 * when neither is set: sops then applies its own defaults (SOPS_AGE_KEY, ~/.config/sops/age/keys.txt).
 */
export async function resolveAgeKeyFile(opts: SopsOptions = {}): Promise<string | undefined> {
  const env = opts.env ?? process.env;
  const fromOption = opts.ageKeyFile !== undefined && opts.ageKeyFile !== '';
  const given = fromOption ? opts.ageKeyFile : env.SOPS_AGE_KEY_FILE;
  if (given === undefined || given === '') return undefined;
  const abs = path.resolve(given);
  try {
    await access(abs, constants.R_OK);
  } catch {
    throw new InputError(fromOption ? '--age-key' : 'SOPS_AGE_KEY_FILE', `age key file not found: ${abs}`);
  }
  return abs;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The `sops` binary: option, SOPS_BINARY, PATH, then `.tools/bin/sops` in a parent of this module (the repo). */
export async function findSopsBinary(opts: SopsOptions = {}): Promise<string | undefined> {
  const env = opts.env ?? process.env;
  for (const explicit of [opts.sopsBinary, env.SOPS_BINARY]) {
    if (explicit !== undefined && explicit !== '') return path.resolve(explicit);
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir !== '' && (await isExecutable(path.join(dir, 'sops')))) return path.join(dir, 'sops');
  }
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, '.tools', 'bin', 'sops');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Decrypts `bytes` (read from `file`, named in errors) with `sops decrypt`, fed on stdin so that exactly the bytes
 * that were checked are decrypted. Errors carry sops' own diagnostics (which name keys and recipients, never
 * plaintext) and the fix.
 */
export async function sopsDecrypt(
  bytes: Buffer,
  format: SopsFormat,
  file: string,
  opts: SopsOptions = {},
): Promise<Buffer> {
  const keyFile = await resolveAgeKeyFile(opts);
  const binary = await findSopsBinary(opts);
  if (binary === undefined) {
    throw new InputError(
      file,
      'is SOPS-encrypted but no sops binary was found (set SOPS_BINARY, put sops on PATH, or build it into .tools/bin)',
    );
  }
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
  if (keyFile !== undefined) env.SOPS_AGE_KEY_FILE = keyFile;
  const args = ['decrypt', '--input-type', format, '--output-type', format];
  return new Promise<Buffer>((resolve, reject) => {
    const child = execFile(
      binary,
      args,
      { env, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (!err) {
          resolve(stdout);
          return;
        }
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES') {
          reject(new InputError(file, `is SOPS-encrypted but the sops binary ${binary} cannot be run (${code})`));
          return;
        }
        const why = summarizeSopsError(stderr.toString('utf8'));
        const keyHint =
          keyFile !== undefined
            ? `with age key ${keyFile}`
            : 'no age key given (use --age-key <file> or SOPS_AGE_KEY_FILE)';
        reject(new InputError(file, `cannot decrypt with sops (${keyHint}): ${why}`));
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(bytes);
  });
}

/**
 * sops' stderr, reduced to its diagnostic lines. It never holds plaintext (sops prints nothing decrypted on failure),
 * but it is still cut short and stripped of anything that looks like an encrypted value.
 */
function summarizeSopsError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('[warning]'))
    .map((l) => l.replace(/ENC\[[^\]]*\]/g, 'ENC[…]'));
  const text = lines.join(' ').replace(/\s+/g, ' ');
  if (text === '') return 'sops exited with an error and no message';
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}
