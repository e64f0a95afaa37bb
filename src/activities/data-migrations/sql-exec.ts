// The SQL driver's statement helpers (moved whole from sql-driver.ts): typed errors naming the statement, JSONB
// as text, one statement run with its parameters, read-only rolled-back transactions, counts from result rows.
import pg from 'pg';
import type { DataMigrationDefinition, DataStatement } from '../../domain/data-migrations/definition';
import { FailureType } from '../../errors';
import { failure } from '../failures';
import { isTransientPgError, redact, type DatabaseTarget } from '../postgres/connect';

export const JSONB_OID = 3802;

export function statementError(
  target: DatabaseTarget,
  def: DataMigrationDefinition,
  stmt: DataStatement,
  err: unknown,
) {
  if (isTransientPgError(err)) return err as Error; // the activity retry policy retries these
  const e = err as { message?: string; position?: string };
  // pg reports `position` as a 1-based character offset into the statement text it was sent.
  const offset = e.position ? Number(e.position) - 1 : 0;
  const line = stmt.line + (stmt.sql.slice(0, offset).match(/\n/g)?.length ?? 0);
  return failure(
    FailureType.MigrationFailed,
    redact(`${def.source}:${line}: ${stmt.name} statement failed: ${e.message ?? String(err)}`, target.secrets),
  );
}

export function shapeError(def: DataMigrationDefinition, stmt: DataStatement, problem: string): Error {
  return failure(FailureType.MigrationFailed, `${def.source}:${stmt.line}: ${stmt.name} statement ${problem}`);
}

/**
 * Checkpoints stay text end to end, so a stored value is written back exactly as the batch produced it. Set per
 * query, not on the connection: pooled connections are shared with code that wants jsonb parsed.
 */
export const TEXT_JSONB: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === JSONB_OID
      ? (v: string) => v
      : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(
          oid,
          format,
        )) as pg.CustomTypesConfig['getTypeParser'],
};

export type Row = Record<string, unknown>;

export async function run(
  client: pg.ClientBase,
  target: DatabaseTarget,
  def: DataMigrationDefinition,
  stmt: DataStatement,
  params: unknown[],
  types?: pg.CustomTypesConfig,
) {
  try {
    const values = params.slice(0, stmt.params);
    return (await client.query<Row>(types ? { text: stmt.sql, values, types } : { text: stmt.sql, values })).rows;
  } catch (err) {
    throw statementError(target, def, stmt, err);
  }
}

/** Runs fn in a transaction that is always rolled back (READ ONLY when asked). */
export async function rolledBack<T>(client: pg.ClientBase, readOnly: boolean, fn: () => Promise<T>): Promise<T> {
  await client.query(readOnly ? 'BEGIN TRANSACTION READ ONLY' : 'BEGIN');
  try {
    return await fn();
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}

export function count(v: unknown): number | undefined {
  const s = typeof v === 'number' || typeof v === 'bigint' ? String(v) : v;
  return typeof s === 'string' && /^\d+$/.test(s) ? Number(s) : undefined;
}
