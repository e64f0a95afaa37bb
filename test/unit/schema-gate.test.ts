// The upgrade's schema gate (reference §6.2.4; §9 items 19–21; §10 items 2–3): expand ≤ target plus the
// cumulative postdeploy of the highest prior catalog release, proven from the ledger; fail closed otherwise.
import { describe, expect, it } from 'vitest';
import { parseReleaseCatalog } from '../../src/contracts/catalog';
import {
  checkSchemaGate,
  formatSchemaGateRefusal,
  type SchemaGateInput,
} from '../../src/domain/migrations/schema-gate';
import { item, okLedger, row } from './migrations-support';

const catalog = parseReleaseCatalog(
  'releases:\n  - version: v0.1.0\n  - version: v0.2.0\n  - version: v0.3.0\n',
  'releases.yaml',
);
const items = [
  'purser/v0.1.0/expand/001_base.sql',
  'purser/v0.1.0/postdeploy/001_p1.sql',
  'purser/v0.2.0/expand/001_e2.sql',
  'purser/v0.2.0/postdeploy/001_p2.sql',
  'purser/v0.2.0/contract/001_c2.sql',
  'purser/v0.3.0/expand/001_e3.sql',
  'purser/v0.3.0/postdeploy/001_p3.sql',
  'commodore/v0.3.0/expand/001_other_db.sql',
].map(item);
const byPath = (p: string) => items.find((i) => i.relPath === p)!;
const applied = (...paths: string[]) =>
  okLedger(
    'purser',
    paths.map((p) => row(byPath(p))),
  );

function gate(over: Partial<SchemaGateInput>) {
  return checkSchemaGate({ items, catalog, target: 'v0.3.0', ledgers: [applied()], database: 'purser', ...over });
}

const EXPAND_OK = [
  'purser/v0.1.0/expand/001_base.sql',
  'purser/v0.2.0/expand/001_e2.sql',
  'purser/v0.3.0/expand/001_e3.sql',
];
const PRIOR_POSTDEPLOY = ['purser/v0.1.0/postdeploy/001_p1.sql', 'purser/v0.2.0/postdeploy/001_p2.sql'];

describe('checkSchemaGate', () => {
  it('passes when every expand ≤ target and the prior postdeploy set are applied (target postdeploy and contract not needed)', () => {
    expect(gate({ ledgers: [applied(...EXPAND_OK, ...PRIOR_POSTDEPLOY)] })).toEqual({
      ok: true,
      checked: 5,
      prior: 'v0.2.0',
    });
  });

  it('expand gaps only ⇒ only the expand command, with the TARGET', () => {
    const r = gate({ ledgers: [applied(EXPAND_OK[0]!, EXPAND_OK[1]!, ...PRIOR_POSTDEPLOY)] });
    expect(r).toEqual({
      ok: false,
      problems: [expect.objectContaining({ kind: 'missing', section: 'expand', item: byPath(EXPAND_OK[2]!) })],
      remediation: ['frameworks cluster migrate --phase expand --to-version v0.3.0'],
    });
  });

  it('postdeploy gaps only ⇒ only the postdeploy command, with the PRIOR release, never the target', () => {
    const r = gate({ ledgers: [applied(...EXPAND_OK, PRIOR_POSTDEPLOY[0]!)] });
    expect(r).toEqual({
      ok: false,
      problems: [expect.objectContaining({ kind: 'missing', section: 'prior postdeploy' })],
      remediation: ['frameworks cluster migrate --phase postdeploy --to-version v0.2.0'],
    });
  });

  it('both ⇒ both commands, each with its own version; an empty ledger lists everything', () => {
    const r = gate({});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(5);
    expect(r.remediation).toEqual([
      'frameworks cluster migrate --phase expand --to-version v0.3.0',
      'frameworks cluster migrate --phase postdeploy --to-version v0.2.0',
    ]);
    expect(formatSchemaGateRefusal('purser', 'v0.3.0', r)).toBe(
      [
        '[gate] migrations required before deploying purser v0.3.0:',
        '  expand:',
        '    purser/v0.1.0/expand/001_base.sql',
        '    purser/v0.2.0/expand/001_e2.sql',
        '    purser/v0.3.0/expand/001_e3.sql',
        '  prior postdeploy:',
        '    purser/v0.1.0/postdeploy/001_p1.sql',
        '    purser/v0.2.0/postdeploy/001_p2.sql',
        'run: frameworks cluster migrate --phase expand --to-version v0.3.0',
        'run: frameworks cluster migrate --phase postdeploy --to-version v0.2.0',
      ].join('\n'),
    );
  });

  it('an edited applied migration is a gap, shown with both checksums and a fix that is not itself refused', () => {
    const drifted = 'd'.repeat(64);
    const rows = [...EXPAND_OK, ...PRIOR_POSTDEPLOY].map((p) => row(byPath(p)));
    rows[1] = row(byPath(EXPAND_OK[1]!), drifted);
    const r = gate({ ledgers: [okLedger('purser', rows)] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'checksum-mismatch', ledgerChecksum: drifted })]);
    const file = byPath(EXPAND_OK[1]!).checksum;
    const text = formatSchemaGateRefusal('purser', 'v0.3.0', r);
    expect(text).toContain(`purser/v0.2.0/expand/001_e2.sql (checksum mismatch: ledger=${drifted}, file=${file})`);
    // `migrate --phase expand` refuses edited migrations too: it must not be the suggested fix.
    expect(r.remediation).toEqual([
      'restore purser/v0.2.0/expand/001_e2.sql to the bytes that were applied (the ledger checksum; e.g. git ' +
        'checkout of the release that shipped it) and put the change in a new migration',
    ]);
    expect(text).not.toContain('run: frameworks cluster migrate');
    expect(text.split('\n').at(-1)).toMatch(/^fix: restore purser\/v0\.2\.0\/expand\/001_e2\.sql/);
  });

  it("an rc target needs its final's expand but excludes its own line from the prior postdeploy", () => {
    const r = gate({ target: 'v0.3.0-rc1', ledgers: [applied(...EXPAND_OK, ...PRIOR_POSTDEPLOY)] });
    expect(r).toEqual({ ok: true, checked: 5, prior: 'v0.2.0' });
    const missing = gate({ target: 'v0.3.0-rc1', ledgers: [applied(...PRIOR_POSTDEPLOY)] });
    expect(missing.ok === false && missing.remediation).toEqual([
      'frameworks cluster migrate --phase expand --to-version v0.3.0-rc1',
    ]);
  });

  it('with no prior catalog release the postdeploy check is a no-op', () => {
    expect(gate({ target: 'v0.1.0', ledgers: [applied('purser/v0.1.0/expand/001_base.sql')] })).toEqual({
      ok: true,
      checked: 1,
    });
  });

  it('fails closed on a ledger read error or a missing read', () => {
    const err = gate({ ledgers: [{ state: 'error', database: 'purser', error: 'connection refused' }] });
    expect(err).toMatchObject({ ok: false, remediation: ['frameworks cluster doctor'] });
    expect(err.ok === false && err.problems[0]!.message).toContain('connection refused');
    expect(gate({ ledgers: [applied(...EXPAND_OK)].map((l) => ({ ...l, database: 'commodore' })) }).ok).toBe(false);
  });

  it('a missing _migrations table reads as an empty ledger (everything missing), not as an error', () => {
    const r = gate({ ledgers: [{ state: 'ok', database: 'purser', tableExists: false, rows: [] }] });
    expect(r.ok === false && r.problems.every((p) => p.kind === 'missing')).toBe(true);
  });

  it('skips migrations folded below the catalog floor (the floor guard covers those)', () => {
    const floored = parseReleaseCatalog(
      'schema_migration_floor: v0.2.0\nreleases:\n  - version: v0.1.0\n  - version: v0.2.0\n  - version: v0.3.0\n',
      'releases.yaml',
    );
    const r = gate({
      catalog: floored,
      ledgers: [applied('purser/v0.2.0/expand/001_e2.sql', 'purser/v0.3.0/expand/001_e3.sql', PRIOR_POSTDEPLOY[1]!)],
    });
    expect(r).toEqual({ ok: true, checked: 3, prior: 'v0.2.0' });
  });

  it('refuses an unusable target', () => {
    expect(gate({ target: '' }).ok).toBe(false);
  });
});
