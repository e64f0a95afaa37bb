// The migrate benchmark's inputs: a tree of N small, realistic expand migrations
// (`<db>/v0.1.0/expand/NNNN_<desc>.sql`), and the psql scripts that apply the very same files with the same
// per-migration work our activity does (advisory lock, ledger check, the file, ledger row, one transaction).
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MigrationItem } from '../src/contracts/migrations';

export const BENCH_VERSION = 'v0.1.0';
export const BENCH_PHASE = 'expand';
/** Migrations per table: one creates it, the other nine evolve it (see `migrationSql`). */
const PER_TABLE = 10;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/**
 * The i-th migration (1-based): every table gets a CREATE, columns (nullable, with a constant default, jsonb),
 * indexes, a NOT VALID check and foreign key (what the expand lint demands), a comment and a child table — the
 * small DDL a service accumulates release after release. All of it passes `frameworks cluster migrate validate`.
 */
export function migrationSql(i: number): { description: string; sql: string } {
  const k = Math.ceil(i / PER_TABLE);
  const t = `bench_t${pad(k, 4)}`;
  const prev = `bench_t${pad(k - 1, 4)}`;
  switch ((i - 1) % PER_TABLE) {
    case 0:
      return {
        description: `create_${t}`,
        sql: `CREATE TABLE ${t} (\n  id bigserial PRIMARY KEY,\n  created_at timestamptz NOT NULL DEFAULT now(),\n  name text NOT NULL\n);\n`,
      };
    case 1:
      return { description: `${t}_email`, sql: `ALTER TABLE ${t} ADD COLUMN email text;\n` };
    case 2:
      return { description: `${t}_email_idx`, sql: `CREATE INDEX ${t}_email_idx ON ${t} (email);\n` };
    case 3:
      return {
        description: `${t}_status`,
        sql: `ALTER TABLE ${t} ADD COLUMN status text NOT NULL DEFAULT 'active';\n`,
      };
    case 4:
      return {
        description: `${t}_status_check`,
        sql: `ALTER TABLE ${t} ADD CONSTRAINT ${t}_status_check CHECK (status IN ('active', 'disabled')) NOT VALID;\n`,
      };
    case 5:
      return {
        description: `${t}_parent`,
        sql:
          `ALTER TABLE ${t} ADD COLUMN parent_id bigint;\n` +
          (k > 1
            ? `ALTER TABLE ${t} ADD CONSTRAINT ${t}_parent_fk FOREIGN KEY (parent_id) REFERENCES ${prev} (id) NOT VALID;\n`
            : ''),
      };
    case 6:
      return { description: `${t}_parent_idx`, sql: `CREATE INDEX ${t}_parent_idx ON ${t} (parent_id);\n` };
    case 7:
      return { description: `${t}_comment`, sql: `COMMENT ON TABLE ${t} IS 'benchmark table ${k}';\n` };
    case 8:
      return {
        description: `${t}_metadata`,
        sql: `ALTER TABLE ${t} ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb;\n`,
      };
    default:
      return {
        description: `${t}_events`,
        sql:
          `CREATE TABLE ${t}_events (\n  id bigserial PRIMARY KEY,\n  ${t}_id bigint NOT NULL REFERENCES ${t} (id),\n` +
          `  kind text NOT NULL,\n  at timestamptz NOT NULL DEFAULT now()\n);\n` +
          `CREATE INDEX ${t}_events_owner_idx ON ${t}_events (${t}_id, at);\n`,
      };
  }
}

/** Tables the first `count` migrations create (for verifying that both sides did the same work). */
export function expectedTables(count: number): number {
  return Math.ceil(count / PER_TABLE) + Math.floor(count / PER_TABLE);
}

/** Writes `<root>/<database>/v0.1.0/expand/NNNN_<desc>.sql` for i = 1..count. */
export function writeMigrationTree(root: string, database: string, count: number): void {
  const dir = join(root, database, BENCH_VERSION, BENCH_PHASE);
  mkdirSync(dir, { recursive: true });
  const width = Math.max(3, String(count).length);
  for (let i = 1; i <= count; i++) {
    const m = migrationSql(i);
    writeFileSync(join(dir, `${pad(i, width)}_${m.description}.sql`), `-- benchmark migration ${i}\n${m.sql}`);
  }
}

/** The ledger DDL of src/activities/postgres/ledger.ts (current shape), created once by the psql side. */
const LEDGER_DDL = `CREATE TABLE IF NOT EXISTS _migrations (
  version       TEXT        NOT NULL,
  phase         TEXT        NOT NULL DEFAULT 'expand',
  seq           INT         NOT NULL,
  filename      TEXT        NOT NULL,
  checksum      TEXT        NOT NULL,
  transactional BOOLEAN     NOT NULL DEFAULT true,
  applied_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  PRIMARY KEY (version, phase, seq)
);
`;

const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * psql for one migration, the work of `applyTransactional`: lock, ledger check (same checksum ⇒ skip, other
 * checksum ⇒ fail), the file itself via \i, the ledger row, all in one transaction.
 */
export function psqlBlock(item: MigrationItem, migrationsRoot: string): string {
  const key = `version = ${literal(item.version)} AND phase = ${literal(item.phase)} AND seq = ${item.seq}`;
  const sum = literal(item.checksum);
  return [
    'BEGIN;',
    `SELECT pg_advisory_xact_lock(hashtext('frameworks_migrations'), hashtext(${literal(item.database)}));`,
    `SELECT coalesce(bool_or(checksum = ${sum}), false) AS fw_applied, coalesce(bool_or(checksum <> ${sum}), false) AS fw_edited FROM _migrations WHERE ${key} \\gset`,
    '\\if :fw_edited',
    `DO $$ BEGIN RAISE EXCEPTION ${literal(`checksum mismatch: ${item.relPath}`)}; END $$;`,
    '\\elif :fw_applied',
    '\\else',
    `\\i ${literal(join(migrationsRoot, item.relPath))}`,
    `INSERT INTO _migrations (version, phase, seq, filename, checksum, transactional) VALUES (${literal(item.version)}, ${literal(item.phase)}, ${item.seq}, ${literal(item.filename)}, ${sum}, ${item.transactional});`,
    '\\endif',
    'COMMIT;',
    '',
  ].join('\n');
}

/**
 * The psql binary itself. On Debian `psql` on PATH is pg_wrapper, a Perl script that picks a cluster version
 * and then execs the real binary: ~17 ms more per process here, which would inflate a per-file baseline for no
 * reason a deploy tool must pay. PG_BIN_DIR wins, then the newest /usr/lib/postgresql/<major>/bin, then PATH.
 */
export function psqlBinary(): string {
  if (process.env.PG_BIN_DIR) return join(process.env.PG_BIN_DIR, 'psql');
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v)) : [];
  for (const v of majors.sort((a, b) => Number(b) - Number(a))) {
    const bin = join(base, v, 'bin', 'psql');
    if (existsSync(bin)) return bin;
  }
  return 'psql';
}

/**
 * libpq tries SSL and GSS encryption before plain TCP by default; node-postgres (our side) does not. Turning
 * the attempts off keeps the baseline from paying for a negotiation our path skips.
 */
export function psqlUrl(url: string): string {
  return `${url}?sslmode=disable&gssencmode=disable`;
}

export interface PsqlScripts {
  /** One psql session for everything: `psql -f session.psql`. */
  session: string;
  /** A shell script running one psql process per migration (plus one for the ledger), `set -e`. */
  perFile: string;
}

export function writePsqlScripts(
  dir: string,
  items: MigrationItem[],
  migrationsRoot: string,
  psqlBin: string,
): PsqlScripts {
  if ([dir, migrationsRoot, psqlBin].some((p) => /['\n]/.test(p))) {
    throw new Error(`unusable path for psql scripts: ${dir}`);
  }
  mkdirSync(join(dir, 'per-file'), { recursive: true });
  const header = '\\set ON_ERROR_STOP 1\n';
  const session = join(dir, 'session.psql');
  writeFileSync(session, header + LEDGER_DDL + items.map((it) => psqlBlock(it, migrationsRoot)).join(''));

  const psql = `'${psqlBin}' -X -q -v ON_ERROR_STOP=1 -d "$BENCH_PSQL_URL" -f`;
  const ledger = join(dir, 'per-file', 'ledger.psql');
  writeFileSync(ledger, header + LEDGER_DDL);
  const lines = ['#!/bin/sh', 'set -e', `${psql} '${ledger}'`];
  items.forEach((it, n) => {
    const file = join(dir, 'per-file', `${pad(n + 1, 5)}.psql`);
    writeFileSync(file, header + psqlBlock(it, migrationsRoot));
    lines.push(`${psql} '${file}'`);
  });
  const perFile = join(dir, 'per-file.sh');
  writeFileSync(perFile, `${lines.join('\n')}\n`);
  return { session, perFile };
}
