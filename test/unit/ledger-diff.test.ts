// Doctor's ledger check (reference §7.1; §9 item 118): missing vs mismatched vs pending contract.
import { describe, expect, it } from 'vitest';
import { diffExpectedAgainstLedger, summarizeLedgerDiff } from '../../src/domain/migrations/ledger-diff';
import { item, row } from './migrations-support';

const expand = item('purser/v0.2.0/expand/001_a.sql');
const post = item('purser/v0.2.0/postdeploy/001_b.sql');
const contract = item('purser/v0.2.0/contract/001_c.sql');
const expected = [expand, post, contract];

describe('diffExpectedAgainstLedger', () => {
  it('an empty ledger: expand and postdeploy missing, contract pending (a note, not an error)', () => {
    expect(diffExpectedAgainstLedger(expected, [])).toEqual({
      missing: [expand, post],
      mismatched: [],
      pendingContract: [contract],
    });
  });

  it('a complete ledger is consistent', () => {
    const diff = diffExpectedAgainstLedger(
      expected,
      expected.map((i) => row(i)),
    );
    expect(diff).toEqual({ missing: [], mismatched: [], pendingContract: [] });
    expect(summarizeLedgerDiff(diff, 'v0.2.0')).toMatchObject({
      status: 'healthy',
      message: 'ledger consistent up to v0.2.0',
    });
  });

  it('mismatches are reported in any phase, contract included, with "checksum mismatch"', () => {
    const drifted = 'e'.repeat(64);
    const diff = diffExpectedAgainstLedger(expected, [row(expand), row(post), row(contract, drifted)]);
    expect(diff.missing).toEqual([]);
    expect(diff.pendingContract).toEqual([]);
    expect(diff.mismatched).toHaveLength(1);
    expect(diff.mismatched[0]).toMatchObject({ item: contract, ledgerChecksum: drifted });
    expect(diff.mismatched[0]!.message).toContain('checksum mismatch');
    expect(summarizeLedgerDiff(diff, 'v0.2.0')).toMatchObject({
      status: 'unhealthy',
      message: '1 ledger checksum mismatch(es) — applied migration was edited after the fact',
    });
  });

  it('summarizes missing as degraded and pending contract as healthy with a note', () => {
    expect(summarizeLedgerDiff(diffExpectedAgainstLedger(expected, []), 'v0.2.0')).toMatchObject({
      status: 'degraded',
      message: '2 migration(s) missing from ledger up to v0.2.0',
    });
    const pendingOnly = diffExpectedAgainstLedger(expected, [row(expand), row(post)]);
    expect(summarizeLedgerDiff(pendingOnly, 'v0.2.0')).toMatchObject({
      status: 'healthy',
      message: 'required ledger consistent up to v0.2.0; 1 contract migration(s) pending explicit cleanup',
      details: ['pending contract: purser/v0.2.0/contract/001_c.sql'],
    });
  });
});
