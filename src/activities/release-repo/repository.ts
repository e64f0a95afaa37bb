// What a release repository string means, and how to read one file from it. A repository is a local
// directory (starts with `/`, `.` or `~`) or an HTTP(S) base URL (reference §2.2); anything else is refused
// rather than guessed at, because a typo here would otherwise surface as a confusing "not found".
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../../errors';
import { httpGetText, type HttpGetOptions } from './http';

export type Repository =
  { type: 'local'; repository: string; dir: string } | { type: 'http'; repository: string; baseUrl: string };

const SOURCE = 'release_repositories';

export function parseRepository(repository: string): Repository {
  if (/^https?:\/\//i.test(repository)) {
    let url: URL;
    try {
      url = new URL(repository);
    } catch {
      throw new InputError(SOURCE, `"${repository}" is not a valid URL`);
    }
    if (url.search || url.hash) {
      throw new InputError(SOURCE, `"${repository}": a repository URL is a base path; remove the query or fragment`);
    }
    return { type: 'http', repository, baseUrl: repository.replace(/\/+$/, '') };
  }
  if (repository.startsWith('/') || repository.startsWith('.')) {
    return { type: 'local', repository, dir: resolve(repository) };
  }
  if (repository === '~' || repository.startsWith('~/')) {
    return { type: 'local', repository, dir: join(homedir(), repository.slice(1)) };
  }
  if (repository.startsWith('~')) {
    throw new InputError(
      SOURCE,
      `"${repository}": only "~/" (the worker's own home) is expanded; use an absolute path`,
    );
  }
  throw new InputError(
    SOURCE,
    `"${repository}" is neither a local directory (starting with "/", "." or "~") nor an http(s):// URL`,
  );
}

/**
 * A path inside the repository, as named by us (`releases/<tag>.yaml`) or by a channel pointer's `manifest`.
 * The pointer is fetched data, so it must not be able to point outside the repository (`../`, absolute
 * paths, another host via `//`) or smuggle a query string into the URL.
 */
export function checkRelativePath(path: string, source: string): string {
  const segments = path.split('/');
  if (
    !/^[A-Za-z0-9._+\-/]+$/.test(path) ||
    path.startsWith('/') ||
    segments.some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new InputError(source, [
      {
        path: 'manifest',
        message: `"${path}" is not a relative path inside the release repository (e.g. releases/v0.3.0.yaml)`,
      },
    ]);
  }
  return path;
}

/** Where a path of the repository lives, for messages and for reading. */
export function locate(repo: Repository, path: string): string {
  return repo.type === 'local' ? join(repo.dir, path) : `${repo.baseUrl}/${path}`;
}

export async function readRepositoryFile(repo: Repository, path: string, http: HttpGetOptions): Promise<string> {
  if (repo.type === 'http') return httpGetText(locate(repo, path), http);
  const file = locate(repo, path);
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A missing file in a local repository will not appear on retry: report it as final (non-retryable).
    if (code === 'ENOENT') throw new InputError(file, 'not found', { cause: err });
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}
