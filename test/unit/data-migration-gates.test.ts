// Data-migration gate windows and live-state classification (reference §5.5–§5.6; §9 items 119–127; §10
// item 14): only `completed` passes, every unreportable state blocks.
import { describe, expect, it } from 'vitest';
import { parseReleaseCatalog, type DataMigrationRequirement } from '../../src/contracts/catalog';
import {
  blockerReason,
  catalogRequirements,
  formatPhaseRefusal,
  formatPhaseSuccess,
  formatPreDeployRefusal,
  formatPreDeploySuccess,
  isLiveStateReportable,
  noRequirementsMessage,
  preDeployBlockers,
  prePhaseBlockers,
  requirementKey,
  type LiveState,
} from '../../src/domain/data-migrations/gates';
import { InputError } from '../../src/errors';

function req(over: Partial<DataMigrationRequirement>): DataMigrationRequirement {
  return {
    id: 'invoice-line-items',
    service: 'purser',
    introduced_in: 'v0.2.0',
    required_before_phase: 'contract',
    driver: 'sql',
    ...over,
  };
}
const pending: LiveState = { kind: 'status', status: 'pending' };
const completed: LiveState = { kind: 'status', status: 'completed' };
const all = (state: LiveState) => () => state;

describe('catalogRequirements', () => {
  const catalog = parseReleaseCatalog(
    [
      'releases:',
      '  - version: v0.2.0',
      '    required_data_migrations:',
      '      - { id: a, service: purser, introduced_in: v0.2.0, required_before_phase: contract }',
      '  - version: v0.3.0',
      '    required_data_migrations:',
      '      - { id: b, service: commodore, introduced_in: v0.3.0, required_before_phase: postdeploy }',
    ].join('\n'),
    'releases.yaml',
  );

  it('collects requirements of every release at or below the target line (rc = its final)', () => {
    expect(catalogRequirements(catalog, 'v0.2.0').map((r) => r.id)).toEqual(['a']);
    expect(catalogRequirements(catalog, 'v0.3.0-rc1').map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('says explicitly when nothing is required', () => {
    expect(noRequirementsMessage(catalog, 'v0.1.0')).toBe('no required data migrations declared up to v0.1.0');
    const empty = parseReleaseCatalog('releases: []\n', 'releases.yaml');
    expect(noRequirementsMessage(empty, 'v0.1.0')).toBe(
      'release catalog is empty; no required data migrations declared up to v0.1.0',
    );
  });

  it('an empty window names what the target does declare instead of denying it (issue 11, point 11)', () => {
    // Deploying v0.2.0 waits for no data migration, but v0.2.0 declares one (due before its contract phase).
    expect(noRequirementsMessage(catalog, 'v0.2.0')).toBe(
      'none due before this step; declared up to v0.2.0: purser.a (introduced v0.2.0, required before contract)',
    );
  });
});

describe('preDeployBlockers', () => {
  it('no requirements ⇒ no blockers', () => {
    expect(preDeployBlockers([], 'v0.3.0', all(pending))).toEqual([]);
  });

  it('a prior pending requirement blocks with its status; completed passes', () => {
    const r = req({});
    expect(preDeployBlockers([r], 'v0.3.0', all(pending))).toEqual([{ requirement: r, reason: 'pending' }]);
    expect(preDeployBlockers([r], 'v0.3.0', all(completed))).toEqual([]);
    expect(preDeployBlockers([r], 'v0.3.0', { [requirementKey(r)]: completed })).toEqual([]);
  });

  it.each<[string, LiveState | undefined, string]>([
    ['not adopted', { kind: 'not_adopted' }, 'service binary has not adopted data-migrations'],
    ['not registered', { kind: 'not_registered' }, 'declared in catalog but not registered in service binary'],
    ['fetch error', { kind: 'fetch_error', error: 'ssh: timeout' }, 'fetch failed: ssh: timeout'],
    ['empty status', { kind: 'status', status: '' }, 'no live state reported'],
    ['nothing reported', undefined, 'no live state reported'],
    ['failed', { kind: 'status', status: 'failed' }, 'failed'],
    ['running', { kind: 'status', status: 'running' }, 'running'],
    ['paused', { kind: 'status', status: 'paused' }, 'paused'],
  ])('%s blocks', (_name, state, reason) => {
    expect(preDeployBlockers([req({})], 'v0.3.0', () => state)).toEqual([{ requirement: req({}), reason }]);
  });

  it('a missing state table blocks (fail closed)', () => {
    const [b] = preDeployBlockers([req({})], 'v0.3.0', all({ kind: 'missing_table' }));
    expect(b!.reason).toMatch(/_data_migrations/);
  });

  it("excludes the target's own line, also for an rc target", () => {
    expect(preDeployBlockers([req({})], 'v0.2.0', all(pending))).toEqual([]);
    expect(preDeployBlockers([req({})], 'v0.2.0-rc1', all(pending))).toEqual([]);
  });

  it('without required_before_version it blocks only once the target is past introduced_in', () => {
    expect(preDeployBlockers([req({ introduced_in: 'v0.3.0' })], 'v0.2.0', all(pending))).toEqual([]);
    expect(preDeployBlockers([req({ introduced_in: 'v0.2.0' })], 'v0.2.1', all(pending))).toHaveLength(1);
  });

  it('with required_before_version it blocks only from that version on', () => {
    const r = req({ required_before_version: 'v0.4.0' });
    expect(preDeployBlockers([r], 'v0.3.0', all(pending))).toEqual([]);
    expect(preDeployBlockers([r], 'v0.4.0-rc1', all(pending))).toHaveLength(1);
    expect(preDeployBlockers([r], 'v0.5.0', all(pending))).toHaveLength(1);
  });
});

describe('prePhaseBlockers', () => {
  const post = req({ id: 'p', required_before_phase: 'postdeploy' });
  const contract = req({ id: 'c', required_before_phase: 'contract' });

  it("postdeploy includes the target line's postdeploy requirements and ignores contract ones", () => {
    expect(
      prePhaseBlockers([post, contract], 'postdeploy', 'v0.2.0', all(pending)).map((b) => b.requirement.id),
    ).toEqual(['p']);
  });

  it("contract gates contract requirements; an rc target gates its own final's", () => {
    expect(
      prePhaseBlockers([post, contract], 'contract', 'v0.2.0-rc1', all(pending)).map((b) => b.requirement.id),
    ).toEqual(['c']);
    expect(prePhaseBlockers([contract], 'contract', 'v0.2.0', all(completed))).toEqual([]);
    expect(prePhaseBlockers([contract], 'contract', 'v0.1.0', all(pending))).toEqual([]);
  });

  it('rejects an empty phase or target', () => {
    expect(() => prePhaseBlockers([contract], '', 'v0.2.0', all(pending))).toThrow(InputError);
    expect(() => prePhaseBlockers([contract], 'contract', '', all(pending))).toThrow(InputError);
    expect(() => preDeployBlockers([contract], ' ', all(pending))).toThrow(InputError);
  });
});

describe('classification and messages', () => {
  it('reportable iff no fetch error, registered and adopted', () => {
    expect(isLiveStateReportable(pending)).toBe(true);
    expect(isLiveStateReportable({ kind: 'fetch_error', error: 'x' })).toBe(false);
    expect(isLiveStateReportable({ kind: 'not_adopted' })).toBe(false);
    expect(isLiveStateReportable({ kind: 'not_registered' })).toBe(false);
    expect(blockerReason(completed)).toBeUndefined();
  });

  it('formats the upgrade and phase gate lines of §5.6', () => {
    const blockers = [{ requirement: req({}), reason: 'pending' }];
    expect(formatPreDeployRefusal('purser', 'v0.3.0', blockers)).toBe(
      [
        '[gate] prior data migrations required before deploying purser v0.3.0:',
        '  - purser/invoice-line-items (introduced v0.2.0): pending',
        'run: frameworks cluster data-migrate run purser.invoice-line-items',
      ].join('\n'),
    );
    expect(formatPhaseRefusal('contract', blockers).split('\n')[0]).toBe(
      '[gate] contract blocked: required data migrations not completed:',
    );
    expect(formatPreDeploySuccess(2)).toBe('[gate] 2 prior required data migration(s) completed.');
    expect(formatPhaseSuccess(1, 'contract')).toBe('[gate] 1 required data migration(s) checked for contract.');
  });
});
