// The migration tree's layout, ordering and selection, and the ledger comparisons every consumer shares
// (reference §4.1–§4.3): `migrate` picks items with `selectMigrations`, refuses on `checksumMismatches`, applies
// `pendingAgainstLedger`; the gates and doctor build on the same functions so they can never disagree.
//
// Pure and free of Node builtins: workflow code uses it.
import {
  PHASES,
  SQL_IDENTIFIER,
  ledgerKey,
  type LedgerRow,
  type MigrationItem,
  type Phase,
} from '../../contracts/migrations';
import { InputError } from '../../errors';
import { baseVersion, compareVersions, versionProblem } from '../../contracts/version';

export interface ParsedMigrationPath {
  database: string;
  version: string;
  phase: Phase;
  seq: number;
  filename: string;
  /** false for `.notx.sql`: applied in autocommit, reserved for CREATE INDEX CONCURRENTLY. */
  transactional: boolean;
}

const LAYOUT = '<database>/<vX.Y.Z>/<phase>/<NNN>_<description>.sql';
/** `_migrations.seq` is an INT column, so a larger sequence could never be recorded. */
const MAX_SEQ = 2_147_483_647;

/** Parses `<db>/<vX.Y.Z>/<phase>/<NNN>_<desc>.sql` (or `.notx.sql`), relative to the migrations root. */
export function parseMigrationPath(
  relPath: string,
  knownDatabases?: readonly string[],
): ParsedMigrationPath | { error: string } {
  const parts = relPath.split('/');
  if (parts.length !== 4 || parts.some((p) => p === '')) {
    return { error: `expected ${LAYOUT} (exactly four path segments), got ${relPath}` };
  }
  const [database, version, phase, filename] = parts as [string, string, string, string];
  if (!SQL_IDENTIFIER.test(database)) {
    return { error: `database folder "${database}" is not an SQL identifier ([A-Za-z_][A-Za-z0-9_]*)` };
  }
  if (knownDatabases && !knownDatabases.includes(database)) {
    const known = knownDatabases.length > 0 ? [...knownDatabases].sort().join(', ') : 'none';
    return { error: `unknown database "${database}" (known: ${known})` };
  }
  const problem = versionProblem(version);
  if (problem) return { error: `version folder: ${problem}` };
  // Migrations belong to a release line; an rc applies its final's folder (selection uses the base version).
  if (baseVersion(version) !== version) {
    return {
      error: `version folder "${version}" must be a release line vX.Y.Z (an rc applies its final's migrations)`,
    };
  }
  if (!(PHASES as readonly string[]).includes(phase)) {
    return { error: `unknown phase "${phase}" (expected one of ${PHASES.join(', ')})` };
  }
  const m = /^([^_]*)_(.*?)(\.notx)?\.sql$/.exec(filename);
  if (!m) return { error: `file name "${filename}" must look like <NNN>_<description>.sql or .notx.sql` };
  const [, digits, description, notx] = m;
  const seq = /^\d+$/.test(digits!) ? Number(digits) : 0;
  if (seq <= 0 || seq > MAX_SEQ) {
    return { error: `file name "${filename}" needs a sequence number 1..${MAX_SEQ} before the first "_"` };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(description!)) {
    return {
      error: `file name "${filename}" needs a description of letters, digits, "_", "." or "-" after the sequence`,
    };
  }
  return { database, version, phase: phase as Phase, seq, filename, transactional: notx === undefined };
}

type Sortable = { database: string; version: string; phase: string; seq: number; filename?: string };

function phaseIndex(phase: string): number {
  const i = (PHASES as readonly string[]).indexOf(phase);
  return i < 0 ? PHASES.length : i;
}

/** Order of application: database (lexical), version (semver), phase (expand → postdeploy → contract), seq. */
export function compareMigrations(a: Sortable, b: Sortable): number {
  if (a.database !== b.database) return a.database < b.database ? -1 : 1;
  const byVersion = compareVersions(a.version, b.version);
  if (byVersion !== 0) return byVersion;
  const byPhase = phaseIndex(a.phase) - phaseIndex(b.phase);
  if (byPhase !== 0) return byPhase;
  if (a.seq !== b.seq) return a.seq - b.seq;
  // Only duplicates (which lint rejects) reach here; the filename keeps the order deterministic anyway.
  const fa = a.filename ?? '';
  const fb = b.filename ?? '';
  return fa < fb ? -1 : fa > fb ? 1 : 0;
}

export function sortMigrations<T extends Sortable>(items: readonly T[]): T[] {
  return [...items].sort(compareMigrations);
}

export interface SelectOptions {
  phase: string;
  /** The release being migrated to; an rc target (`v0.2.0-rc1`) includes its final's (`v0.2.0`) files. */
  target: string;
  /** Logical databases to include; all when omitted. */
  databases?: readonly string[];
  /** Baseline floor: versions strictly below it are folded into the baseline and never offered. */
  floor?: string;
}

/** Items of one phase up to the target's release line, at or above the floor, in application order. */
export function selectMigrations<T extends MigrationItem>(items: readonly T[], opts: SelectOptions): T[] {
  if (opts.target.trim() === '')
    throw new InputError('--to-version', 'a target version is required to select migrations');
  const problem = versionProblem(opts.target);
  if (problem) throw new InputError('--to-version', problem);
  if (!(PHASES as readonly string[]).includes(opts.phase)) {
    throw new InputError('--phase', `unknown phase "${opts.phase}" (expected one of ${PHASES.join(', ')})`);
  }
  const ceiling = baseVersion(opts.target);
  const floor = opts.floor ? baseVersion(opts.floor) : undefined;
  return sortMigrations(
    items.filter(
      (it) =>
        it.phase === opts.phase &&
        compareVersions(it.version, ceiling) <= 0 &&
        (floor === undefined || compareVersions(it.version, floor) >= 0) &&
        (opts.databases === undefined || opts.databases.includes(it.database)),
    ),
  );
}

/** `purser/v0.2.0/expand/001_x.sql`: how every message names a migration. */
export function describeItem(item: { database: string; version: string; phase: string; filename: string }): string {
  return `${item.database}/${item.version}/${item.phase}/${item.filename}`;
}

function rowsByKey(rows: readonly LedgerRow[]): Map<string, LedgerRow> {
  return new Map(rows.map((r) => [ledgerKey(r), r]));
}

/**
 * Items (of ONE database) whose key has no ledger row. The filename is not part of the key (reference §4.3,
 * §10 item 17): a renamed file with the same version/phase/seq counts as applied.
 */
export function pendingAgainstLedger<T extends MigrationItem>(items: readonly T[], rows: readonly LedgerRow[]): T[] {
  const applied = rowsByKey(rows);
  return items.filter((it) => !applied.has(ledgerKey(it)));
}

export interface ChecksumMismatch {
  item: MigrationItem;
  ledgerChecksum: string;
  message: string;
}

export function checksumMismatchMessage(item: MigrationItem, ledgerChecksum: string): string {
  return (
    `checksum mismatch: ${describeItem(item)} was applied with checksum ${ledgerChecksum} but the file now has ` +
    `${item.checksum}; an applied migration must never be edited — restore the original file and put the change ` +
    `in a new migration`
  );
}

/** Items (of ONE database) whose key is in the ledger with a different checksum: edited after being applied. */
export function checksumMismatches(items: readonly MigrationItem[], rows: readonly LedgerRow[]): ChecksumMismatch[] {
  const applied = rowsByKey(rows);
  const out: ChecksumMismatch[] = [];
  for (const item of items) {
    const row = applied.get(ledgerKey(item));
    if (row && row.checksum !== item.checksum) {
      out.push({ item, ledgerChecksum: row.checksum, message: checksumMismatchMessage(item, row.checksum) });
    }
  }
  return out;
}
