// The below-floor guard (reference §4.7; §9 items 104–108, 111–112): marker-aware folding, corrupt markers
// refused, an empty marker checks everything.
import { describe, expect, it } from 'vitest';
import { parseReleaseCatalog } from '../../src/contracts/catalog';
import {
  SENTINEL_FILENAME,
  baselineMarkerProblem,
  belowFloorGaps,
  expectedBelowFloor,
  formatBelowFloorRefusal,
  formatFloorReadFailure,
} from '../../src/domain/migrations/floor-guard';
import { item, row } from './migrations-support';

const SENTINEL_SUM = 'a'.repeat(64);
const catalog = parseReleaseCatalog(
  [
    'schema_migration_floor: v0.3.0',
    'schema_migration_sentinels:',
    `  - { engine: postgres, database: purser, version: v0.2.96, phase: expand, sequence: 1, checksum: ${SENTINEL_SUM} }`,
    `  - { engine: clickhouse, database: periscope, version: v0.2.96, phase: expand, sequence: 1, checksum: ${SENTINEL_SUM} }`,
    `  - { engine: postgres, database: skipper, version: v0.2.96, phase: expand, sequence: 1, checksum: ${SENTINEL_SUM} }`,
    'releases:',
    '  - version: v0.2.96',
    '  - version: v0.3.0',
  ].join('\n'),
  'releases.yaml',
);
const old = item('purser/v0.2.0/expand/001_old.sql');
const older = item('purser/v0.1.0/expand/001_older.sql');
const current = item('purser/v0.3.0/expand/001_now.sql');

describe('expectedBelowFloor', () => {
  const expected = expectedBelowFloor([older, old, current], catalog, { engine: 'postgres', databases: ['purser'] });

  it('holds only below-floor items and this engine’s sentinels for configured databases', () => {
    expect(expected.map((e) => `${e.database}/${e.version}/${e.phase}/${e.filename}`)).toEqual([
      'purser/v0.1.0/expand/001_older.sql',
      'purser/v0.2.0/expand/001_old.sql',
      `purser/v0.2.96/expand/${SENTINEL_FILENAME}`,
    ]);
  });

  it('sentinels carry a ledger identity and checksum but no SQL', () => {
    expect(expected[2]).toEqual({
      database: 'purser',
      version: 'v0.2.96',
      phase: 'expand',
      seq: 1,
      filename: SENTINEL_FILENAME,
      checksum: SENTINEL_SUM,
    });
  });

  it('is empty without a floor', () => {
    const noFloor = parseReleaseCatalog('releases:\n  - version: v0.2.0\n', 'releases.yaml');
    expect(expectedBelowFloor([old], noFloor, { engine: 'postgres', databases: ['purser'] })).toEqual([]);
  });
});

describe('belowFloorGaps', () => {
  const expected = expectedBelowFloor([older, old], catalog, { engine: 'postgres', databases: ['purser'] });
  const sentinelRow = { ...row(old), version: 'v0.2.96', seq: 1, filename: 'x', checksum: SENTINEL_SUM };
  const gaps = (marker: string, rows = [] as ReturnType<typeof row>[]) =>
    belowFloorGaps({ floor: 'v0.3.0', marker, expectedBelowFloor: expected, rows });

  it('a marker at the floor folds everything below it: no gap', () => {
    expect(gaps('v0.3.0')).toEqual({ gaps: [] });
  });

  it('no marker (existing in-place cluster) and an empty ledger: every expected item is missing', () => {
    const r = gaps('');
    expect('gaps' in r && r.gaps.map((g) => g.reason)).toEqual(['missing', 'missing', 'missing']);
  });

  it('no marker and a complete ledger: no gap', () => {
    expect(gaps('', [row(older), row(old), sentinelRow])).toEqual({ gaps: [] });
  });

  it('an older marker folds only what lies below itself', () => {
    const r = gaps('v0.2.0');
    expect('gaps' in r && r.gaps.map((g) => g.item.version)).toEqual(['v0.2.0', 'v0.2.96']);
  });

  it('a ledger row with another checksum is a gap', () => {
    const r = gaps('', [row(older), row(old, 'b'.repeat(64)), sentinelRow]);
    expect(r).toEqual({ gaps: [{ item: expected[1], reason: 'checksum mismatch', ledgerChecksum: 'b'.repeat(64) }] });
  });

  it('refuses a corrupt marker', () => {
    const r = gaps('garbage');
    expect(r).toHaveProperty('error');
    expect((r as { error: string }).error).toMatch(/corrupt _schema_baseline marker/);
  });
});

describe('baselineMarkerProblem', () => {
  it.each(['', 'v0.3.0', 'v1.20.300'])('accepts %j', (m) => expect(baselineMarkerProblem(m)).toBeUndefined());
  it.each(['garbage', 'v99999999999.0.0', '0.3.0', 'v0.3', 'v0.03.0', 'vNaN.0.0', 'v0.3.0-rc1', ' v0.3.0'])(
    'rejects %j',
    (m) => expect(baselineMarkerProblem(m)).toBeDefined(),
  );
});

describe('refusal messages', () => {
  it('name the engine, floor, count and every db/version/phase/file', () => {
    const expected = expectedBelowFloor([old], catalog, { engine: 'postgres', databases: ['purser'] });
    const r = belowFloorGaps({ floor: 'v0.3.0', marker: '', expectedBelowFloor: expected, rows: [] });
    if (!('gaps' in r)) throw new Error('expected gaps');
    const text = formatBelowFloorRefusal({ engine: 'postgres', floor: 'v0.3.0', gaps: r.gaps, stepRelease: 'v0.2.96' });
    expect(text).toContain('postgres');
    expect(text).toContain('v0.3.0');
    expect(text).toContain('2 folded migration(s)');
    expect(text).toContain('purser/v0.2.0/expand/001_old.sql');
    expect(text).toContain(`purser/v0.2.96/expand/${SENTINEL_FILENAME}`);
    expect(text).toContain('frameworks cluster upgrade --all --version v0.2.96');
  });

  it('a read failure refuses', () => {
    expect(formatFloorReadFailure('postgres', 'purser', 'timeout')).toMatch(/cannot read purser \(timeout\); refusing/);
  });
});
