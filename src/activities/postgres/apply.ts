// Applying one migration, idempotently (reference §4.6, SPEC §7): under the per-database lock, the ledger row
// is checked first — same key and checksum ⇒ nothing to do; same key, other checksum ⇒ refuse; absent ⇒ run.
// Transactional migrations commit together with their ledger row, so a crash at any point leaves either both
// or neither. `.notx` migrations run statement by statement in autocommit (CREATE INDEX CONCURRENTLY cannot
// run in a transaction); their statements must be IF NOT EXISTS, so a retry after a crash between the DDL
// and the ledger insert is harmless.
import type pg from 'pg';
import type { MigrationItem } from '../../contracts/migrations';
import { lexSql, lineWithin, type LexedStatement } from '../../domain/migrations/sql-lexer';
import { FailureType } from '../../errors';
import { failure } from '../failures';
import { isTransientPgError, redact, withClient, withPooledClient, type DatabaseTarget } from './connect';
import { ensureLedger, findLedgerRow, insertLedgerRow } from './ledger';
import { LOCK_NAMESPACE, lockForSession, lockForTransaction } from './lock';

export interface ApplyResult {
  outcome: 'applied' | 'already-applied';
  durationMs: number;
}

function where(item: MigrationItem): string {
  return `${item.database}/${item.version}/${item.phase}/${item.filename}`;
}

function sqlFailure(item: MigrationItem, target: DatabaseTarget, err: unknown, stmt: LexedStatement): Error {
  if (isTransientPgError(err)) return err as Error; // retried by the activity policy
  const e = err as { message?: string; position?: string };
  // pg reports `position` as a 1-based character index into the statement it was sent.
  const line = e.position ? lineWithin(stmt, Number(e.position) - 1) : stmt.line;
  return failure(
    FailureType.MigrationFailed,
    redact(`${where(item)}:${line}: ${e.message ?? String(err)}`, target.secrets),
  );
}

async function checkLedger(client: pg.ClientBase, item: MigrationItem): Promise<'absent' | 'same'> {
  return judgeLedgerRow(item, await findLedgerRow(client, item));
}

function judgeLedgerRow(
  item: MigrationItem,
  existing: { checksum: string; filename: string } | undefined,
): 'absent' | 'same' {
  if (!existing) return 'absent';
  if (existing.checksum === item.checksum) return 'same';
  throw failure(
    FailureType.ChecksumMismatch,
    `${where(item)}: checksum mismatch — the ledger has ${existing.checksum} (applied as ${existing.filename}) ` +
      `but the file is ${item.checksum}. An applied migration was edited; restore the original file and ` +
      'ship the change as a new migration.',
  );
}

/**
 * One statement at a time, so a failure names the statement's line in the file (and, for .notx, so each
 * statement autocommits on its own: a multi-statement string would run as one implicit transaction).
 */
async function runStatements(
  client: pg.ClientBase,
  target: DatabaseTarget,
  item: MigrationItem,
  sql: string,
): Promise<void> {
  for (const stmt of lexSql(sql).statements) {
    const code = stmt.code.trim();
    if (code === '' || code === ';') continue;
    try {
      await client.query(stmt.text);
    } catch (err) {
      throw sqlFailure(item, target, err, stmt);
    }
  }
}

/**
 * What DISCARD ALL does, in a form allowed inside a transaction block (DISCARD ALL itself is not): run after a
 * migration's statements and before its ledger row and COMMIT, it leaves the session clean for the next file and
 * writes the ledger row as the session's own user with the default search_path, whatever the file SET.
 * PostgreSQL only (pg_advisory_unlock_all releases session-level advisory locks; the xact lock stays held).
 */
const RESET_SESSION =
  'SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; CLOSE ALL; UNLISTEN *; ' +
  'SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES';

async function applyTransactional(
  client: pg.ClientBase,
  target: DatabaseTarget,
  item: MigrationItem,
  sql: string,
  opts: { ledgerCurrent?: boolean } = {},
): Promise<ApplyResult['outcome']> {
  await client.query('BEGIN');
  try {
    await lockForTransaction(client, target.engine, target.database);
    // A ledger once found current stays current (nothing downgrades it), so a stretch checks it once.
    if (!opts.ledgerCurrent) await ensureLedger(client);
    if ((await checkLedger(client, item)) === 'same') {
      await client.query('COMMIT');
      return 'already-applied';
    }
    await runStatements(client, target, item, sql);
    // The ledger row is written with the session's own user and search_path, whatever the file SET.
    if (target.engine === 'postgres') await client.query(RESET_SESSION);
    await insertLedgerRow(client, item);
    await client.query('COMMIT');
    return 'applied';
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The rows of the last statement of a simple-protocol query string (pg returns one result per statement). */
async function lastRows<T extends pg.QueryResultRow>(client: pg.ClientBase, text: string): Promise<T[]> {
  const res = (await client.query(text)) as unknown as pg.QueryResult<T> | pg.QueryResult<T>[];
  return (Array.isArray(res) ? res[res.length - 1]! : res).rows;
}

/**
 * One transactional migration on a PostgreSQL session whose ledger is known current (inside a stretch), in as
 * few round trips as the same guarantees allow — the per-file statements plus two: (1) BEGIN, the xact lock and
 * the ledger check; (2) the session reset, the ledger row and COMMIT. The same transaction, lock, checks and
 * failure handling as applyTransactional; the values are literals because a multi-statement string cannot carry
 * parameters (escaped by the driver; the database name is an SQL identifier, checked where the target is built).
 */
async function applyTransactionalInStretch(
  client: pg.ClientBase,
  target: DatabaseTarget,
  item: MigrationItem,
  sql: string,
): Promise<ApplyResult['outcome']> {
  const lit = (v: string): string => client.escapeLiteral(v);
  try {
    const existing = await lastRows<{ checksum: string; filename: string }>(
      client,
      `BEGIN; SELECT pg_advisory_xact_lock(hashtext(${lit(LOCK_NAMESPACE)}), hashtext(${lit(target.database)})); ` +
        `SELECT checksum, filename FROM _migrations WHERE version = ${lit(item.version)} AND phase = ` +
        `${lit(item.phase)} AND seq = ${Number(item.seq)}`,
    );
    if (judgeLedgerRow(item, existing[0]) === 'same') {
      await client.query('COMMIT');
      return 'already-applied';
    }
    await runStatements(client, target, item, sql);
    await client.query(
      `${RESET_SESSION}; INSERT INTO _migrations (version, phase, seq, filename, checksum, transactional) VALUES ` +
        `(${lit(item.version)}, ${lit(item.phase)}, ${Number(item.seq)}, ${lit(item.filename)}, ` +
        `${lit(item.checksum)}, true); COMMIT`,
    );
    return 'applied';
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

async function applyAutocommit(
  client: pg.ClientBase,
  target: DatabaseTarget,
  item: MigrationItem,
  sql: string,
  holder: string,
): Promise<ApplyResult['outcome']> {
  const release = await lockForSession(client, target.engine, target.database, holder);
  try {
    await ensureLedger(client);
    if ((await checkLedger(client, item)) === 'same') return 'already-applied';
    await runStatements(client, target, item, sql);
    await insertLedgerRow(client, item);
    return 'applied';
  } finally {
    await release().catch(() => {});
  }
}

export async function applyMigrationTo(
  target: DatabaseTarget,
  item: MigrationItem,
  sql: string,
  holder: string,
  heartbeat: () => void = () => {},
): Promise<ApplyResult> {
  const started = Date.now();
  // Long DDL keeps the activity alive; a dead worker stops heartbeating and Temporal retries elsewhere.
  const timer = setInterval(heartbeat, 2_000);
  try {
    // A transactional migration on PostgreSQL is a short unit of work on a pooled connection (reset afterwards:
    // a file may SET session parameters); .notx work and YugabyteDB's lock row hold a session of their own.
    const outcome =
      target.engine === 'postgres' && item.transactional
        ? await withPooledClient(target, (client) => applyTransactional(client, target, item, sql), { reset: true })
        : await withClient(target, async (client) => {
            if (target.engine === 'yugabyte' && item.transactional) {
              // No advisory locks on older YSQL: take the lock row outside the transaction, hold it across it.
              const release = await lockForSession(client, target.engine, target.database, holder);
              try {
                return await applyTransactional(client, target, item, sql);
              } finally {
                await release().catch(() => {});
              }
            }
            return item.transactional
              ? applyTransactional(client, target, item, sql)
              : applyAutocommit(client, target, item, sql, holder);
          });
    return { outcome, durationMs: Date.now() - started };
  } catch (err) {
    if (err instanceof Error) err.message = redact(err.message, target.secrets);
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/**
 * A stretch of transactional migrations of one database, back to back on ONE connection — each still in its own
 * transaction with its ledger row (a crash leaves every migration applied and recorded, or neither), under the
 * per-database lock taken inside that transaction, exactly as `applyMigrationTo` does one. What a stretch saves
 * is everything around the transaction: one connection checkout, one ledger shape check, and one call (one
 * activity, one history marker) for many migrations.
 *
 * Returns the results of `items[0..n)` in order, n ≥ 1. It stops early — returning what it did — when
 * `budgetMs` has passed after a migration (so a call stays short and the workflow records progress), or when a
 * migration after the first fails: the caller calls again from that one, which then fails as the FIRST item and
 * is thrown exactly as `applyMigrationTo` throws it (named by file and line; retried when transient). So a
 * failure is always reported for the migration it belongs to, and nothing after it runs.
 *
 * `readSql` reads (and checksum-verifies) a file only when its turn comes.
 */
export async function applyStretchTo(
  target: DatabaseTarget,
  items: MigrationItem[],
  readSql: (item: MigrationItem) => string,
  holder: string,
  opts: { budgetMs: number; heartbeat?: () => void },
): Promise<ApplyResult[]> {
  const database = items[0]?.database;
  const foreign = items.find((i) => !i.transactional || i.database !== database);
  if (items.length === 0 || foreign) {
    throw failure(
      FailureType.InvalidInput,
      foreign
        ? `a stretch holds only transactional migrations of one database (${database}); ${foreign.relPath} is not one`
        : 'an empty stretch of migrations',
    );
  }
  const started = Date.now();
  const timer = setInterval(opts.heartbeat ?? (() => {}), 2_000);
  const results: ApplyResult[] = [];
  const run = async (client: pg.ClientBase): Promise<void> => {
    for (const item of items) {
      if (results.length > 0 && Date.now() - started >= opts.budgetMs) return;
      const t0 = Date.now();
      try {
        const sql = readSql(item);
        let outcome: ApplyResult['outcome'];
        if (results.length > 0 && target.engine === 'postgres') {
          // The ledger was checked by the first; the session reset rides in the migration's last round trip.
          outcome = await applyTransactionalInStretch(client, target, item, sql);
        } else {
          outcome = await applyTransactional(client, target, item, sql, { ledgerCurrent: results.length > 0 });
          // A file may SET session parameters: the next one starts from a clean session, as in its own call.
          await client.query('DISCARD ALL');
        }
        results.push({ outcome, durationMs: Date.now() - t0 });
      } catch (err) {
        if (results.length === 0) throw err;
        // Reported by the next call, where this migration is the first: the session may be unusable now.
        throw new StretchStopped();
      }
    }
  };
  try {
    if (target.engine === 'postgres') {
      await withPooledClient(target, run);
    } else {
      // YugabyteDB: the lock row is a session's, taken once for the stretch and held across its transactions.
      await withClient(target, async (client) => {
        const release = await lockForSession(client, target.engine, target.database, holder);
        try {
          await run(client);
        } finally {
          await release().catch(() => {});
        }
      });
    }
    return results;
  } catch (err) {
    if (err instanceof StretchStopped) return results;
    if (err instanceof Error) err.message = redact(err.message, target.secrets);
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/** A migration after the first of a stretch failed; the results so far are returned (thrown to drop the connection). */
class StretchStopped extends Error {}
