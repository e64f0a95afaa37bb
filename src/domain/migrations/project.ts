// The ledgers as they will be once `migrate --phase expand --to-version <target>` has run: what a release run
// checks its upgrade's schema gate against before its own expand step has applied anything (SPEC §5 release:
// every gate up front). Pure; used by workflow code.
import { ledgerKey, type LedgerRead, type MigrationItem } from '../../contracts/migrations';
import { selectMigrations } from './layout';

/**
 * Adds a row for every expand migration ≤ target that the ledger lacks. A key already present keeps its row —
 * with another checksum the schema gate still refuses it, exactly as the expand step would. An unreadable
 * ledger stays unreadable (nothing can be proven about it).
 */
export function ledgersAfterExpand(
  ledgers: readonly LedgerRead[],
  items: readonly MigrationItem[],
  target: string,
): LedgerRead[] {
  const expand = selectMigrations(items, { phase: 'expand', target });
  return ledgers.map((l) => {
    if (l.state !== 'ok') return l;
    const have = new Set(l.rows.map((r) => ledgerKey(r)));
    const added = expand
      .filter((it) => it.database === l.database && !have.has(ledgerKey(it)))
      .map((it) => ({
        version: it.version,
        phase: it.phase,
        seq: it.seq,
        filename: it.filename,
        checksum: it.checksum,
        transactional: it.transactional,
      }));
    return added.length === 0 ? l : { ...l, tableExists: true, rows: [...l.rows, ...added] };
  });
}
