// Reads a migration tree from disk (reference §4.1, §4.3): `<root>/<db>/<version>/<phase>/*.sql`, checksum =
// lowercase hex SHA-256 of the raw bytes (no normalisation, so a changed line ending is an edit). Data-migration
// definitions in `<db>/<version>/data/` are a different feature and are skipped. Layout problems are returned
// with the items, all at once, never thrown one by one.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { MigrationItem } from '../contracts/migrations';
import { FailureType, errorMessage } from '../errors';
import { parseMigrationPath, sortMigrations } from '../domain/migrations/layout';
import { LINT_RULES, type LintFile, type LintProblem } from '../domain/migrations/lint';

export interface DiscoveredTree {
  /** Valid migrations, in application order. */
  items: MigrationItem[];
  /** Every `.sql` file found (valid or not), for the lint. */
  files: LintFile[];
  problems: LintProblem[];
}

/** Deeper than any legal file, so a misplaced `.sql` is still found and reported, without unbounded walks. */
const MAX_DEPTH = 8;
const DATA_FOLDER = 'data';

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isFile(path: string, entry: Dirent): boolean {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function discoverMigrations(root: string, opts: { knownDatabases?: readonly string[] } = {}): DiscoveredTree {
  const tree: DiscoveredTree = { items: [], files: [], problems: [] };
  try {
    if (!statSync(root).isDirectory()) {
      tree.problems.push({ file: '', line: 0, rule: 'unreadable', message: `${root} is not a folder` });
      return tree;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return tree; // no migrations shipped: nothing to do
    tree.problems.push({ file: '', line: 0, rule: 'unreadable', message: `cannot read ${root}: ${errorMessage(err)}` });
    return tree;
  }

  const walk = (dir: string, segments: string[]) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      tree.problems.push({
        file: segments.join('/'),
        line: 0,
        rule: 'unreadable',
        message: `cannot read folder: ${errorMessage(err)}`,
      });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      const rel = [...segments, entry.name];
      // Symlinked folders are not followed (Dirent.isDirectory is false for links): they could loop or leave.
      if (entry.isDirectory()) {
        // `<db>/<version>/data/` holds data-migration definitions, not schema migrations.
        if (segments.length === 2 && entry.name === DATA_FOLDER) continue;
        if (rel.length < MAX_DEPTH) walk(path, rel);
      } else if (entry.name.endsWith('.sql') && isFile(path, entry)) {
        addFile(path, rel.join('/'));
      }
    }
  };

  const addFile = (path: string, relPath: string) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      tree.problems.push({ file: relPath, line: 0, rule: 'unreadable', message: `cannot read: ${errorMessage(err)}` });
      return;
    }
    tree.files.push({ relPath, sql: bytes.toString('utf8') });
    const parsed = parseMigrationPath(relPath, opts.knownDatabases);
    if ('error' in parsed) {
      tree.problems.push({ file: relPath, line: 0, rule: LINT_RULES.layout, message: parsed.error });
      return;
    }
    tree.items.push({ ...parsed, checksum: sha256Hex(bytes), relPath });
  };

  walk(root, []);
  tree.items = sortMigrations(tree.items);
  return tree;
}

/** The file behind an item changed (or vanished) between discovery and apply; never apply unverified SQL. */
export class MigrationFileChangedError extends Error {
  override readonly name = 'MigrationFileChangedError';
  readonly type = FailureType.ChecksumMismatch;
}

/** Re-reads an item's SQL and proves it is still the file whose checksum the run was planned with. */
export function readMigrationSql(root: string, item: Pick<MigrationItem, 'relPath' | 'checksum'>): string {
  const base = resolve(root);
  const path = resolve(base, item.relPath);
  // relPath comes from workflow history, so it is checked to stay inside the tree.
  if (relative(base, path).startsWith('..') || !path.startsWith(base + sep)) {
    throw new MigrationFileChangedError(`migration path ${item.relPath} leaves the migrations folder ${base}`);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new MigrationFileChangedError(`cannot read migration ${item.relPath}: ${errorMessage(err)}`, { cause: err });
  }
  const actual = sha256Hex(bytes);
  if (actual !== item.checksum) {
    throw new MigrationFileChangedError(
      `checksum mismatch: ${item.relPath} changed on disk since it was discovered (expected ${item.checksum}, ` +
        `found ${actual}); re-run the migration so it is planned against the current file`,
    );
  }
  return bytes.toString('utf8');
}
