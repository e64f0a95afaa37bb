// Read-only views of a database for gates, plans and doctor: the migration ledger, the baseline marker and
// data-migration state. Missing tables have a defined meaning (empty ledger, no marker, "state table missing");
// every other failure is reported as an error state, never as an empty result, so gates fail closed.
import type { LedgerRead } from '../../contracts/migrations';
import type { LiveState } from '../../domain/data-migrations/gates';
import { redact, sqlState, withClient, type DatabaseTarget } from './connect';
import { readLedgerRows } from './ledger';

export type MarkerRead = { state: 'ok'; marker: string } | { state: 'error'; error: string };

export interface DatabaseState {
  database: string;
  ledger: LedgerRead;
  marker: MarkerRead;
}

export async function readDatabaseState(target: DatabaseTarget): Promise<DatabaseState> {
  const database = target.database;
  try {
    return await withClient(target, async (client) => {
      const rows = await readLedgerRows(client);
      let marker: MarkerRead;
      try {
        const r = await client.query<{ floor: string }>(
          'SELECT floor FROM public._schema_baseline ORDER BY applied_at DESC LIMIT 1',
        );
        marker = { state: 'ok', marker: r.rows[0]?.floor ?? '' };
      } catch (err) {
        marker =
          sqlState(err) === '42P01'
            ? { state: 'ok', marker: '' }
            : { state: 'error', error: redact((err as Error).message, target.secrets) };
      }
      return {
        database,
        ledger: { state: 'ok' as const, database, tableExists: rows !== null, rows: rows ?? [] },
        marker,
      };
    });
  } catch (err) {
    const error = redact((err as Error).message, target.secrets);
    return { database, ledger: { state: 'error', database, error }, marker: { state: 'error', error } };
  }
}

/** The `_data_migrations` status of one migration id in its owning database. */
export async function readDataMigrationStatus(target: DatabaseTarget, id: string): Promise<LiveState> {
  try {
    return await withClient(target, async (client) => {
      try {
        const r = await client.query<{ status: string }>('SELECT status FROM _data_migrations WHERE id = $1', [id]);
        // No row: the migration has never run here, which is exactly "pending".
        return { kind: 'status', status: r.rows[0]?.status ?? 'pending' } as const;
      } catch (err) {
        if (sqlState(err) === '42P01') return { kind: 'missing_table' } as const;
        throw err;
      }
    });
  } catch (err) {
    return { kind: 'fetch_error', error: redact((err as Error).message, target.secrets) };
  }
}
