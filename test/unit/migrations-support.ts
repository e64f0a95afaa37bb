// Builders shared by the migration unit tests: items and ledger rows from a compact `db/version/phase/file`.
import type { LedgerRead, LedgerRow, MigrationItem } from '../../src/contracts/migrations';
import { parseMigrationPath } from '../../src/domain/migrations/layout';

/** A deterministic fake checksum per (path, edit) so "edited" files differ. */
export function checksumOf(relPath: string, edit = 0): string {
  let h = 0;
  for (const ch of `${relPath}#${edit}`) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, '0').repeat(8);
}

export function item(relPath: string): MigrationItem {
  const p = parseMigrationPath(relPath);
  if ('error' in p) throw new Error(p.error);
  return { ...p, checksum: checksumOf(relPath), relPath };
}

export function row(x: MigrationItem, checksum = x.checksum): LedgerRow {
  return {
    version: x.version,
    phase: x.phase,
    seq: x.seq,
    filename: x.filename,
    checksum,
    transactional: x.transactional,
  };
}

export function okLedger(database: string, rows: LedgerRow[]): LedgerRead {
  return { state: 'ok', database, tableExists: true, rows };
}
