// The below-floor guard (reference §4.7, §9 items 104–112). Migrations below `schema_migration_floor` are folded
// into the baseline and never offered again, which is only safe for a database that really ran them: either it
// was created from a baseline at (or above) that floor — the `_schema_baseline` marker says so — or its ledger
// holds every folded migration. Anything else would silently skip schema changes, so the guard refuses, and it
// refuses when it cannot read the facts (fail closed).
//
// Pure and free of Node builtins: workflow code uses it.
import type { ReleaseCatalog } from '../../contracts/catalog';
import { ledgerKey, type LedgerRead, type LedgerRow, type MigrationItem, type Phase } from '../../contracts/migrations';
import { compareVersions, versionProblem } from '../../contracts/version';
import { describeItem, sortMigrations } from './layout';

export type SchemaEngine = 'postgres' | 'clickhouse';

/** Catalog sentinels carry a ledger identity only (no SQL); this is the filename they are reported under. */
export const SENTINEL_FILENAME = 'source-release-sentinel';

/** What must be in the ledger of a database without a marker: identity and checksum, never SQL. */
export interface FloorExpectedItem {
  database: string;
  version: string;
  phase: Phase;
  seq: number;
  filename: string;
  checksum: string;
}

/**
 * The expected below-floor set: discovered items strictly below the floor plus the catalog's sentinels for the
 * engine, restricted to the databases this cluster has (an unconfigured database has no ledger to check).
 */
export function expectedBelowFloor(
  items: readonly MigrationItem[],
  catalog: ReleaseCatalog,
  opts: { engine: SchemaEngine; databases: readonly string[] },
): FloorExpectedItem[] {
  const floor = catalog.schema_migration_floor;
  if (!floor) return [];
  const below = (v: string) => compareVersions(v, floor) < 0;
  const fromTree: FloorExpectedItem[] =
    opts.engine === 'postgres'
      ? items
          .filter((i) => below(i.version) && opts.databases.includes(i.database))
          .map(({ database, version, phase, seq, filename, checksum }) => ({
            database,
            version,
            phase,
            seq,
            filename,
            checksum,
          }))
      : [];
  const sentinels = catalog.schema_migration_sentinels
    .filter((s) => s.engine === opts.engine && below(s.version) && opts.databases.includes(s.database))
    .map((s) => ({
      database: s.database,
      version: s.version,
      phase: s.phase,
      seq: s.sequence,
      filename: SENTINEL_FILENAME,
      checksum: s.checksum,
    }));
  return sortMigrations([...fromTree, ...sentinels]);
}

/**
 * A marker read from `_schema_baseline` must be "" (no marker: an existing in-place cluster) or a plain
 * vX.Y.Z. Anything else is corruption, and folding on a corrupt marker could skip real migrations.
 */
export function baselineMarkerProblem(marker: string): string | undefined {
  if (marker === '') return undefined;
  const problem = versionProblem(marker);
  if (problem) return problem;
  if (!/^v\d+\.\d+\.\d+$/.test(marker)) return `"${marker}" is not a plain release line vX.Y.Z`;
  // No real release has a ten-digit component; such a marker is damage, and would fold everything.
  if (/\d{10,}/.test(marker)) return `"${marker}" has an implausibly large version component`;
  return undefined;
}

export type FloorGap =
  | { item: FloorExpectedItem; reason: 'missing' }
  | { item: FloorExpectedItem; reason: 'checksum mismatch'; ledgerChecksum: string };

export interface BelowFloorInput {
  floor: string;
  /** Newest `_schema_baseline.floor` of the database; "" when the table is empty or missing. */
  marker: string;
  /** `expectedBelowFloor` entries of ONE database. */
  expectedBelowFloor: readonly FloorExpectedItem[];
  /** That database's `_migrations` rows. */
  rows: readonly LedgerRow[];
}

/**
 * Gaps for one database. A marker M folds only what lies below M (a baseline at M contains exactly those);
 * without a marker every expected item must be in the ledger with its checksum.
 */
export function belowFloorGaps(input: BelowFloorInput): { gaps: FloorGap[] } | { error: string } {
  const problem = baselineMarkerProblem(input.marker);
  if (problem) {
    return {
      error: `corrupt _schema_baseline marker: ${problem}; refusing, because folding migrations on it could skip real schema changes`,
    };
  }
  const applied = new Map(input.rows.map((r) => [ledgerKey(r), r.checksum]));
  const gaps: FloorGap[] = [];
  for (const item of input.expectedBelowFloor) {
    if (input.marker !== '' && compareVersions(item.version, input.marker) < 0) continue;
    const checksum = applied.get(ledgerKey(item));
    if (checksum === undefined) gaps.push({ item, reason: 'missing' });
    else if (checksum !== item.checksum) gaps.push({ item, reason: 'checksum mismatch', ledgerChecksum: checksum });
  }
  return { gaps };
}

/**
 * The refusal: names the engine, floor, count and every missing `db/version/phase/file`, and how to fix it —
 * step through the last release below the floor, which still ships (and applies) the folded migrations.
 */
export function formatBelowFloorRefusal(opts: {
  engine: SchemaEngine;
  floor: string;
  gaps: readonly FloorGap[];
  /** The highest catalog release below the floor, when known. */
  stepRelease?: string;
}): string {
  const step = opts.stepRelease ?? 'the last release below the floor';
  return [
    `[gate] ${opts.engine} schema below the baseline floor ${opts.floor} is incomplete: ${opts.gaps.length} folded migration(s) are not in the ledger:`,
    ...opts.gaps.map(
      (g) =>
        `  - ${describeItem(g.item)}${g.reason === 'checksum mismatch' ? ` (checksum mismatch: ledger=${g.ledgerChecksum})` : ''}`,
    ),
    `Migrations below ${opts.floor} are no longer applied by this release. Upgrade through ${step} first ` +
      `(frameworks cluster upgrade --all --version ${opts.stepRelease ?? '<release below the floor>'}), then retry.`,
  ].join('\n');
}

/** Refusal when the marker or ledger of a database could not be read. */
export function formatFloorReadFailure(engine: SchemaEngine, database: string, error: string): string {
  return `[gate] ${engine} below-floor guard cannot read ${database} (${error}); refusing because folded migrations cannot be proven applied`;
}

/** A database's `_schema_baseline` marker as read: "" for none, or why it could not be read. */
export type BaselineMarkerRead = { state: 'ok'; marker: string } | { state: 'error'; error: string };

/**
 * The guard over several databases at once (the upgrade gate runs it for the owners of the services it deploys,
 * reference §6.2.4 step 5): one refusal text per database with a gap, a corrupt marker or an unreadable fact.
 */
export function belowFloorProblems(opts: {
  items: readonly MigrationItem[];
  catalog: ReleaseCatalog;
  databases: readonly string[];
  ledgers: readonly LedgerRead[];
  markers: Readonly<Record<string, BaselineMarkerRead>>;
}): string[] {
  const floor = opts.catalog.schema_migration_floor;
  if (!floor) return [];
  const expected = expectedBelowFloor(opts.items, opts.catalog, { engine: 'postgres', databases: opts.databases });
  const stepRelease = opts.catalog.releases.filter((r) => compareVersions(r.version, floor) < 0).at(-1)?.version;
  const problems: string[] = [];
  for (const db of opts.databases) {
    const marker = opts.markers[db];
    const ledger = opts.ledgers.find((l) => l.database === db);
    if (!marker || marker.state === 'error') {
      problems.push(formatFloorReadFailure('postgres', db, marker?.state === 'error' ? marker.error : 'not read'));
      continue;
    }
    if (!ledger || ledger.state === 'error') {
      problems.push(formatFloorReadFailure('postgres', db, ledger?.state === 'error' ? ledger.error : 'not read'));
      continue;
    }
    const r = belowFloorGaps({
      floor,
      marker: marker.marker,
      expectedBelowFloor: expected.filter((e) => e.database === db),
      rows: ledger.rows,
    });
    if ('error' in r) problems.push(`${db}: ${r.error}`);
    else if (r.gaps.length > 0) {
      problems.push(
        formatBelowFloorRefusal({ engine: 'postgres', floor, gaps: r.gaps, ...(stepRelease ? { stepRelease } : {}) }),
      );
    }
  }
  return problems;
}
