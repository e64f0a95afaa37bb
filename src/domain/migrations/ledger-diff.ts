// Doctor's ledger check (reference §7.1, §9 item 118): what the tree says should be applied up to the target
// versus one database's `_migrations` rows. Ledger-only: it cannot see schema drift made outside migrations.
//
// Pure and free of Node builtins.
import { ledgerKey, type LedgerRow, type MigrationItem } from '../../contracts/migrations';
import { checksumMismatchMessage, describeItem } from './layout';

export interface LedgerMismatch {
  item: MigrationItem;
  ledgerChecksum: string;
  message: string;
}

export interface LedgerDiff {
  /** expand/postdeploy items with no ledger row: the cluster is behind (doctor: degraded). */
  missing: MigrationItem[];
  /** Items of ANY phase whose row has another checksum: an applied file was edited (doctor: unhealthy). */
  mismatched: LedgerMismatch[];
  /** contract items not applied yet: cleanup an operator runs deliberately, a note rather than an error. */
  pendingContract: MigrationItem[];
}

/**
 * `expected` = the items of ONE database up to the target (all phases, see `selectMigrations`); `rows` = that
 * database's ledger. An empty ledger makes every expected expand/postdeploy item missing.
 */
export function diffExpectedAgainstLedger(expected: readonly MigrationItem[], rows: readonly LedgerRow[]): LedgerDiff {
  const applied = new Map(rows.map((r) => [ledgerKey(r), r]));
  const diff: LedgerDiff = { missing: [], mismatched: [], pendingContract: [] };
  for (const item of expected) {
    const row = applied.get(ledgerKey(item));
    if (!row) {
      if (item.phase === 'contract') diff.pendingContract.push(item);
      else diff.missing.push(item);
    } else if (row.checksum !== item.checksum) {
      diff.mismatched.push({
        item,
        ledgerChecksum: row.checksum,
        message: checksumMismatchMessage(item, row.checksum),
      });
    }
  }
  return diff;
}

/** Doctor's one-line verdict for a diff, following reference §7.1's wording. */
export function summarizeLedgerDiff(
  diff: LedgerDiff,
  target: string,
): { status: 'healthy' | 'degraded' | 'unhealthy'; message: string; details: string[] } {
  const details = [
    ...diff.mismatched.map((m) => m.message),
    ...diff.missing.map((i) => `missing: ${describeItem(i)}`),
    ...diff.pendingContract.map((i) => `pending contract: ${describeItem(i)}`),
  ];
  if (diff.mismatched.length > 0) {
    return {
      status: 'unhealthy',
      message: `${diff.mismatched.length} ledger checksum mismatch(es) — applied migration was edited after the fact`,
      details,
    };
  }
  if (diff.missing.length > 0) {
    return {
      status: 'degraded',
      message: `${diff.missing.length} migration(s) missing from ledger up to ${target}`,
      details,
    };
  }
  if (diff.pendingContract.length > 0) {
    return {
      status: 'healthy',
      message: `required ledger consistent up to ${target}; ${diff.pendingContract.length} contract migration(s) pending explicit cleanup`,
      details,
    };
  }
  return { status: 'healthy', message: `ledger consistent up to ${target}`, details };
}
