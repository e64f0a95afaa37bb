// The live upgrade gates as a pure function (issue 11 items 1–4, 9): floors and stops judged on the release line a
// replica is PROVEN to be on (content identity first, label only when no manifest pins the identity, unknown ⇒
// refuse or an explicit bypass), downgrades named and refused, the below-floor guard, catalog transitions.
import { describe, expect, it } from 'vitest';
import { parseReleaseCatalog, type ServiceDefinitions } from '../../src/contracts/catalog';
import type { ServiceTarget } from '../../src/contracts/plan';
import { pinKey, type HostDetection, type ReleasePins } from '../../src/contracts/upgrade';
import { checkTransitions, rollbackDisabledReasons } from '../../src/domain/catalog';
import { upgradeGates, type UpgradeGateFacts } from '../../src/domain/gates/upgrade-gates';
import { judgeReplicaLine, pinQueries, targetIdentityFor } from '../../src/domain/gates/replica-lines';

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
/** Lab-like identities: foghorn's v0.1.0 image is carried, unchanged, into v0.2.0. */
const FOGHORN_V1 = D(1);
const FOGHORN_RC = D(3);
const BRIDGE_V1 = D(4);
const BRIDGE_V2 = D(5);
const BRIDGE_RC = D(6);

const PINS: ReleasePins = {
  scanned: ['v0.1.0', 'v0.2.0', 'v0.3.0-rc1'],
  pins: {
    [pinKey('foghorn', FOGHORN_V1)]: ['v0.1.0', 'v0.2.0'],
    [pinKey('foghorn', FOGHORN_RC)]: ['v0.3.0-rc1'],
    [pinKey('bridge', BRIDGE_V1)]: ['v0.1.0'],
    [pinKey('bridge', BRIDGE_V2)]: ['v0.2.0'],
    [pinKey('bridge', BRIDGE_RC)]: ['v0.3.0-rc1'],
  },
  warnings: [],
};

const catalog = parseReleaseCatalog(
  [
    'releases:',
    '  - version: v0.1.0',
    '  - version: v0.2.0',
    '  - version: v0.3.0',
    '    compatible_from: v0.2.0',
    '    rollback_disabled: [foghorn]',
  ].join('\n'),
  'releases.yaml',
);
const definitions: ServiceDefinitions = {
  foghorn: { role: 'x', port: 1, depends_on: [], class: 'platform', reload_on_sighup: false },
  bridge: { role: 'x', port: 2, depends_on: [], class: 'platform', reload_on_sighup: false },
};
const target = (service: string, digest: string): ServiceTarget => ({
  service,
  mode: 'docker',
  hosts: ['h2'],
  imageRef: `registry/${service}@${digest}`,
  artifacts: [],
  problems: [],
});
const replica = (host: string, identity: string | null, version: string | null): HostDetection => ({
  host,
  present: true,
  identity,
  version,
  configHash: 'sha256:c',
  running: true,
  arch: 'linux-amd64',
});

function facts(over: Partial<UpgradeGateFacts> & { detections: UpgradeGateFacts['detections'] }): UpgradeGateFacts {
  const services = Object.keys(over.detections);
  return {
    target: 'v0.3.0-rc1',
    services,
    targets: services.map((s) => target(s, s === 'foghorn' ? FOGHORN_RC : BRIDGE_RC)),
    catalog,
    definitions,
    migrationItems: [],
    ledgers: [],
    liveStates: {},
    skipMigrationCheck: false,
    skipDataMigrationCheck: false,
    proven: { pins: PINS, markers: {}, allowUnknownVersion: false, allowDowngrade: false },
    ...over,
  };
}
const check = (r: ReturnType<typeof upgradeGates>, id: string) => r.checks.find((c) => c.id === id)!;
const refused = (r: ReturnType<typeof upgradeGates>) => r.checks.filter((c) => c.status === 'refuse').map((c) => c.id);

describe('compatibility floor judged by content identity (item 1)', () => {
  it('a carried service (label v0.1.0, content pinned by v0.2.0) is on v0.2.0 and passes the v0.2.0 floor', () => {
    const r = upgradeGates(
      facts({
        detections: { foghorn: [replica('h2', FOGHORN_V1, 'v0.1.0')], bridge: [replica('h3', BRIDGE_V2, 'v0.2.0')] },
      }),
    );
    expect(refused(r)).toEqual([]);
    expect(check(r, 'replica-lines').detail).toBe(
      [
        'foghorn on h2: v0.2.0 by content identity (pinned by v0.1.0, v0.2.0)',
        'bridge on h3: v0.2.0 by content identity (pinned by v0.2.0)',
      ].join('\n'),
    );
    expect(check(r, 'compatibility-floor').status).toBe('pass');
  });

  it('the same replica judged by its label alone (the pre-identity gate) is refused: the bug this fixes', () => {
    const r = upgradeGates(
      facts({ detections: { foghorn: [replica('h2', FOGHORN_V1, 'v0.1.0')] }, proven: undefined }),
    );
    expect(check(r, 'compatibility-floor').detail).toMatch(/foghorn on h2 runs v0\.1\.0: below/);
  });

  it('a replica that truly runs below the floor is refused, and the refusal names the evidence', () => {
    const r = upgradeGates(facts({ detections: { bridge: [replica('h3', BRIDGE_V1, 'v0.1.0')] } }));
    expect(refused(r)).toEqual(['compatibility-floor']);
    expect(check(r, 'compatibility-floor').detail).toBe(
      "bridge on h3 runs v0.1.0 (by content identity, pinned by v0.1.0): below v0.3.0-rc1's compatibility floor v0.2.0; deploy v0.2.0 first",
    );
  });

  it('an identity no manifest pins falls back to the label, and says so', () => {
    const r = upgradeGates(facts({ detections: { bridge: [replica('h3', D(9), 'v0.1.0')] } }));
    expect(refused(r)).toEqual(['compatibility-floor']);
    expect(check(r, 'compatibility-floor').detail).toMatch(
      /^bridge on h3 runs v0\.1\.0 \(by version label; identity sha256:999999999999… is pinned by no release manifest\): below/,
    );
    const ok = upgradeGates(facts({ detections: { bridge: [replica('h3', D(9), 'v0.2.0')] } }));
    expect(refused(ok)).toEqual([]);
    expect(check(ok, 'replica-lines').detail).toBe(
      'bridge on h3: v0.2.0 by version label (identity sha256:999999999999… is pinned by no release manifest)',
    );
  });
});

describe('unknown release line refuses, with an explicit bypass (item 2)', () => {
  const unknown = { bridge: [replica('h3', D(9), null)] };

  it('no pinned identity and no label: refused, naming the replica; floor and stops are not silently passed', () => {
    const r = upgradeGates(facts({ detections: unknown }));
    expect(refused(r)).toEqual(['replica-lines']);
    const c = check(r, 'replica-lines');
    expect(c.detail).toBe(
      'cannot tell which release bridge on h3 run(s), so the compatibility floor, required stops and downgrades cannot be checked:\n' +
        'bridge on h3: unknown (identity sha256:999999999999… is pinned by no release manifest and no version label)',
    );
    expect(c.fix).toMatch(/--unsafe-allow-unknown-version/);
  });

  it('a label that is not a release version, or no identity at all, is unknown too', () => {
    expect(judgeReplicaLine('bridge', replica('h3', null, 'latest'), PINS)).toEqual({
      kind: 'unknown',
      service: 'bridge',
      host: 'h3',
      why: 'content identity not detected and version label "latest" is not a release version',
    });
  });

  it('--unsafe-allow-unknown-version passes it as BYPASSED, with a warning', () => {
    const r = upgradeGates(
      facts({
        detections: unknown,
        proven: { pins: PINS, markers: {}, allowUnknownVersion: true, allowDowngrade: false },
      }),
    );
    expect(refused(r)).toEqual([]);
    expect(check(r, 'replica-lines').status).toBe('bypassed');
    expect(r.warnings).toContain(
      'the release line of bridge on h3 is unknown; floor, stop and downgrade checks for it BYPASSED by --unsafe-allow-unknown-version',
    );
  });
});

describe('downgrades are named and refused unless --allow-downgrade (item 9)', () => {
  const toV2 = (over: Partial<UpgradeGateFacts> = {}) =>
    facts({
      target: 'v0.2.0',
      detections: {
        foghorn: [replica('h2', FOGHORN_RC, 'v0.3.0-rc1')],
        bridge: [replica('h3', BRIDGE_RC, 'v0.3.0-rc1')],
      },
      targets: [target('foghorn', FOGHORN_V1), target('bridge', BRIDGE_V2)],
      ...over,
    });

  it('rc → v0.2.0 names every replica that would go back', () => {
    const r = upgradeGates(toV2());
    expect(refused(r)).toEqual(['downgrade']);
    expect(check(r, 'downgrade').detail).toBe(
      [
        'foghorn on h2 runs v0.3.0-rc1 (content first shipped in v0.3.0-rc1, pinned by v0.3.0-rc1) and would go back to v0.2.0',
        'bridge on h3 runs v0.3.0-rc1 (content first shipped in v0.3.0-rc1, pinned by v0.3.0-rc1) and would go back to v0.2.0',
      ].join('\n'),
    );
    expect(check(r, 'downgrade').fix).toMatch(/--allow-downgrade/);
  });

  it('with --allow-downgrade it passes as BYPASSED and says so', () => {
    const r = upgradeGates(
      toV2({ proven: { pins: PINS, markers: {}, allowUnknownVersion: false, allowDowngrade: true } }),
    );
    expect(refused(r)).toEqual([]);
    expect(check(r, 'downgrade').status).toBe('bypassed');
    expect(r.warnings).toContain('downgrade of 2 replica(s) to v0.2.0 BYPASSED by --allow-downgrade');
  });

  it('a replica already at the target content, or carried content first shipped at or below the target, is no downgrade', () => {
    const pins: ReleasePins = {
      ...PINS,
      pins: { ...PINS.pins, [pinKey('bridge', BRIDGE_V2)]: ['v0.2.0', 'v0.3.0-rc1'] },
    };
    const r = upgradeGates(
      facts({
        target: 'v0.2.1',
        detections: { foghorn: [replica('h2', FOGHORN_V1, 'v0.1.0')], bridge: [replica('h3', BRIDGE_V2, 'v0.2.0')] },
        targets: [target('foghorn', FOGHORN_V1), target('bridge', D(7))],
        proven: { pins, markers: {}, allowUnknownVersion: false, allowDowngrade: false },
      }),
    );
    expect(check(r, 'downgrade')).toMatchObject({ status: 'pass' });
  });

  it('a newer label without a pinned identity is a downgrade too', () => {
    const r = upgradeGates(toV2({ detections: { bridge: [replica('h3', D(9), 'v0.4.0')] } }));
    expect(check(r, 'downgrade').detail).toBe(
      'bridge on h3 runs v0.4.0 (by version label; identity sha256:999999999999… is pinned by no release manifest) and would go back to v0.2.0',
    );
  });
});

describe('below-floor guard in the upgrade gate (item 3)', () => {
  const SUM = 'a'.repeat(64);
  const floorCatalog = parseReleaseCatalog(
    [
      'service_databases: { purser: purser }',
      'schema_migration_floor: v0.3.0',
      'schema_migration_sentinels:',
      `  - { engine: postgres, database: purser, version: v0.2.96, phase: expand, sequence: 1, checksum: ${SUM} }`,
      'releases:',
      '  - version: v0.2.96',
      '  - version: v0.3.0',
    ].join('\n'),
    'releases.yaml',
  );
  const purserDefs: ServiceDefinitions = {
    purser: { role: 'x', port: 1, depends_on: [], class: 'platform', reload_on_sighup: false, database: 'purser' },
  };
  const base = (marker: string, over: Partial<UpgradeGateFacts> = {}) =>
    upgradeGates({
      target: 'v0.3.0',
      services: ['purser'],
      targets: [],
      catalog: floorCatalog,
      definitions: purserDefs,
      detections: {},
      migrationItems: [],
      ledgers: [{ state: 'ok', database: 'purser', tableExists: true, rows: [] }],
      liveStates: {},
      skipMigrationCheck: false,
      skipDataMigrationCheck: false,
      proven: {
        pins: PINS,
        markers: { purser: { state: 'ok', marker } },
        allowUnknownVersion: false,
        allowDowngrade: false,
      },
      ...over,
    });

  it('a folded migration missing from the ledger of a database without a baseline marker refuses', () => {
    const r = base('');
    expect(refused(r)).toEqual(['below-floor']);
    expect(check(r, 'below-floor').detail).toMatch(
      /^\[gate\] postgres schema below the baseline floor v0\.3\.0 is incomplete: 1 folded migration\(s\) are not in the ledger:\n {2}- purser\/v0\.2\.96\/expand\/source-release-sentinel/,
    );
    expect(check(r, 'below-floor').detail).toMatch(/--version v0\.2\.96/);
  });

  it('a baseline marker at the floor proves it; an unreadable marker refuses; --skip-migration-check bypasses', () => {
    expect(check(base('v0.3.0'), 'below-floor').status).toBe('pass');
    const unread = base('', {
      proven: {
        pins: PINS,
        markers: { purser: { state: 'error', error: 'timeout' } },
        allowUnknownVersion: false,
        allowDowngrade: false,
      },
    });
    expect(check(unread, 'below-floor').detail).toMatch(/cannot read purser \(timeout\); refusing/);
    const skipped = base('', { skipMigrationCheck: true });
    expect(check(skipped, 'below-floor').status).toBe('bypassed');
    expect(skipped.warnings).toContain('below-floor guard BYPASSED by --skip-migration-check');
  });
});

describe('catalog transitions (item 4)', () => {
  const withTransitions = parseReleaseCatalog(
    [
      'releases:',
      '  - version: v0.2.0',
      '  - version: v0.3.0',
      'release_transitions:',
      '  - { id: storage-descriptor-adoption, introduced_in: v0.3.0 }',
      '  - { id: future-step, introduced_in: v0.4.0 }',
    ].join('\n'),
    'releases.yaml',
  );

  it('a catalog transition at or below the target that is not implemented refuses, and is reported missing from the manifest', () => {
    const r = checkTransitions(withTransitions, 'v0.3.0-rc1', []);
    expect(r).toEqual({
      ok: false,
      problems: [
        'the release catalog requires transition(s) up to v0.3.0-rc1 that this orchestrator does not implement: storage-descriptor-adoption (introduced in v0.3.0)',
        'release catalog and manifest v0.3.0-rc1 disagree on required transitions: in the catalog but not the manifest: storage-descriptor-adoption',
      ],
      fix: 'upgrade the orchestrator (and its catalog) to a version that implements and declares these transitions',
    });
  });

  it('a manifest transition not implemented refuses, and one the catalog does not declare is a disagreement', () => {
    const r = checkTransitions(withTransitions, 'v0.2.0', ['adopt-x']);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual([
      'release manifest v0.2.0 requires transition(s) this orchestrator does not implement: adopt-x',
      'release catalog and manifest v0.2.0 disagree on required transitions: in the manifest but not the catalog: adopt-x',
    ]);
  });

  it('implemented and agreeing transitions pass; transitions above the target are ignored', () => {
    expect(
      checkTransitions(withTransitions, 'v0.3.0', ['storage-descriptor-adoption'], ['storage-descriptor-adoption']),
    ).toEqual({
      ok: true,
      detail: 'implemented: storage-descriptor-adoption',
    });
    expect(checkTransitions(withTransitions, 'v0.2.0', [])).toEqual({
      ok: true,
      detail: 'no transitions required up to v0.2.0',
    });
  });
});

describe('rollback_disabled by base version (item 5)', () => {
  it("an rc target gets its final's catalog entry; the manifest's list adds to it; reasons say where", () => {
    expect(rollbackDisabledReasons(catalog, 'v0.3.0-rc1', ['bridge'], ['foghorn', 'bridge', 'purser'])).toEqual([
      { service: 'foghorn', reason: 'rollback_disabled in the catalog entry v0.3.0 (applies to v0.3.0-rc1)' },
      { service: 'bridge', reason: 'rollback_disabled in release manifest v0.3.0-rc1' },
    ]);
  });
});

describe('helpers', () => {
  it('pinQueries asks once per (service, identity); targetIdentityFor picks digest or arch tarball', () => {
    expect(
      pinQueries({
        bridge: [replica('h2', BRIDGE_V1, 'v0.1.0'), replica('h3', BRIDGE_V1, 'v0.1.0'), replica('h4', null, null)],
      }),
    ).toEqual([{ service: 'bridge', identity: BRIDGE_V1 }]);
    expect(targetIdentityFor(target('bridge', BRIDGE_V2), { arch: null })).toBe(BRIDGE_V2);
    const native: ServiceTarget = {
      service: 'purser',
      mode: 'native',
      hosts: ['h1'],
      artifacts: [{ arch: 'linux-arm64', url: 'u', checksum: D(8) }],
      problems: [],
    };
    expect(targetIdentityFor(native, { arch: 'linux-arm64' })).toBe(D(8));
    // No artifact for the arch, or one without a SHA-256 pin: nothing is the target (never "already at target").
    expect(targetIdentityFor(native, { arch: 'linux-amd64' })).toBeNull();
    expect(
      targetIdentityFor({ ...native, artifacts: [{ arch: 'linux-arm64', url: 'u' }] }, { arch: 'linux-arm64' }),
    ).toBeNull();
    expect(targetIdentityFor({ ...target('bridge', ''), imageRef: 'registry/bridge' }, { arch: null })).toBeNull();
  });
});
