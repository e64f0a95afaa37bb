// The judgement of `cluster rollback` (src/domain/rollback-plan.ts) by value: what is reverted, in which order,
// and every refusal.
import { describe, expect, it } from 'vitest';
import type { LedgerRead, LedgerRow } from '../../src/contracts/migrations';
import type { RollbackHostFacts, RunRecord, RunReplica } from '../../src/contracts/rollback';
import type { ServiceUpgradeResult } from '../../src/contracts/upgrade';
import { planRollback, replicasOfResults, withVersionTag, type RollbackFacts } from '../../src/domain/rollback-plan';

const id = (c: string): string => `sha256:${c.repeat(64)}`;
const OLD = { q: id('a'), c: id('b'), b: id('c') };
const NEW = { q: id('d'), c: id('e') };
const CFG = { q: id('1'), c: id('2'), b: id('3') };

function replica(service: string, host: string, action: RunReplica['action'], from: string, to: string, cfg: string) {
  return {
    service,
    host,
    action,
    from: { identity: from, configHash: cfg, version: 'v0.1.0' },
    to: { identity: to, configHash: cfg, version: 'v0.2.0' },
  };
}

function record(over: Partial<RunRecord> = {}): RunRecord {
  return {
    workflowId: 'fw/lab/change',
    runId: 'run-1',
    type: 'clusterUpgrade',
    state: 'completed',
    target: 'v0.2.0',
    closedAt: '2026-12-02T10:00:00Z',
    order: ['quartermaster', 'commodore', 'bridge'],
    replicas: [
      replica('quartermaster', 'h1', 'upgraded', OLD.q, NEW.q, CFG.q),
      replica('commodore', 'h2', 'upgraded', OLD.c, NEW.c, CFG.c),
      replica('commodore', 'h3', 'upgraded', OLD.c, NEW.c, CFG.c),
      replica('bridge', 'h3', 'skipped', OLD.b, OLD.b, CFG.b),
    ],
    ...over,
  };
}

function at(service: string, host: string, identity: string, configHash: string, running = true): RollbackHostFacts {
  const docker = service !== 'quartermaster';
  return {
    service,
    host,
    detection: { host, present: true, identity, version: 'v0.2.0', configHash, running, arch: null },
    artifact: docker
      ? { present: true, imageRef: `reg/${service}@${OLD.c}`, where: `image reg/${service}@${OLD.c}` }
      : { present: true, where: '/opt/frameworks/quartermaster/releases/aaaa is there' },
  };
}

function ledger(database: string, rows: Partial<LedgerRow>[]): LedgerRead {
  return {
    state: 'ok',
    database,
    tableExists: true,
    rows: rows.map((r, i) => ({
      version: 'v0.2.0',
      phase: 'expand',
      seq: i + 1,
      filename: `00${i + 1}_x.sql`,
      checksum: 'c',
      transactional: true,
      ...r,
    })),
  };
}

function facts(over: Partial<RollbackFacts> = {}): RollbackFacts {
  return {
    record: record(),
    later: [],
    exclude: [],
    modes: { quartermaster: 'native', commodore: 'docker', bridge: 'docker' },
    rollbackDisabled: [],
    hosts: [
      at('quartermaster', 'h1', NEW.q, CFG.q),
      at('commodore', 'h2', NEW.c, CFG.c),
      at('commodore', 'h3', NEW.c, CFG.c),
    ],
    configs: { quartermaster: CFG.q, commodore: CFG.c, bridge: CFG.b },
    ledgers: [ledger('quartermaster', [{ version: 'v0.1.0' }, { version: 'v0.2.0', filename: '001_add.sql' }])],
    ...over,
  };
}

const refusals = (p: ReturnType<typeof planRollback>) =>
  Object.fromEntries(p.checks.filter((c) => c.status === 'refuse').map((c) => [c.id, c.detail]));

describe('planRollback', () => {
  it('reverts every moved replica, services in reverse run order, hosts of a service grouped; skipped untouched', () => {
    const p = planRollback(facts());
    expect(refusals(p)).toEqual({});
    expect(p.nothingToDo).toBe(false);
    expect(p.steps).toEqual([
      {
        service: 'commodore',
        mode: 'docker',
        hosts: ['h2', 'h3'],
        identity: OLD.c,
        configHash: CFG.c,
        version: 'v0.1.0',
        imageRef: `reg/commodore:v0.1.0@${OLD.c}`,
      },
      {
        service: 'quartermaster',
        mode: 'native',
        hosts: ['h1'],
        identity: OLD.q,
        configHash: CFG.q,
        version: 'v0.1.0',
      },
    ]);
    const lines = p.preview.map((x) => x.line);
    expect(lines).toContain('would roll back quartermaster on h1 from v0.2.0 to v0.1.0 (aaaaaaaaaaaa)');
    expect(lines).toContain('bridge on h3: not changed by the run (skipped), untouched');
  });

  it('lists the expand migrations of the rolled-back release that stay applied, and says why that is safe', () => {
    const p = planRollback(facts());
    expect(p.migrations.stayApplied).toEqual(['quartermaster v0.2.0/expand/001_add.sql']);
    expect(p.migrations.note).toMatch(/stay applied, which is safe by the expand\/contract rule/);
  });

  it('refuses once a contract migration of the rolled-back release ran, naming it', () => {
    const p = planRollback(
      facts({ ledgers: [ledger('purser', [{ version: 'v0.2.0', phase: 'contract', filename: '001_drop.sql' }])] }),
    );
    expect(refusals(p).contract).toMatch(
      /contract migrations of v0\.2\.0 already ran.*purser v0\.2\.0\/contract\/001_drop\.sql/,
    );
  });

  it('does not count an older release’s contract migrations, but refuses an unreadable ledger (fail closed)', () => {
    expect(
      refusals(planRollback(facts({ ledgers: [ledger('purser', [{ version: 'v0.1.0', phase: 'contract' }])] }))),
    ).toEqual({});
    const p = planRollback(facts({ ledgers: [{ state: 'error', database: 'purser', error: 'connection refused' }] }));
    expect(refusals(p).contract).toMatch(/purser: ledger unreadable \(connection refused\)/);
  });

  it('refuses when rollback_disabled names a moved service, unless that service is excluded', () => {
    const disabled = [{ service: 'commodore', reason: 'rollback_disabled in release manifest v0.2.0' }];
    const p = planRollback(facts({ rollbackDisabled: disabled }));
    expect(refusals(p)['rollback-disabled']).toBe('commodore: rollback_disabled in release manifest v0.2.0');
    expect(p.checks.find((c) => c.id === 'rollback-disabled')!.fix).toMatch(/--exclude commodore/);

    const ex = planRollback(facts({ rollbackDisabled: disabled, exclude: ['commodore'] }));
    expect(refusals(ex)).toEqual({});
    expect(ex.steps.map((s) => s.service)).toEqual(['quartermaster']);
    expect(ex.preview.map((x) => x.line)).toContain('commodore on h2: excluded, stays at v0.2.0');
  });

  it('refuses when a later run moved the same replicas, naming the run; other replicas are no conflict', () => {
    const later = [
      { runId: 'run-2', type: 'clusterUpgrade', startedAt: 'T', moved: [{ service: 'commodore', host: 'h3' }] },
    ];
    expect(refusals(planRollback(facts({ later })))['later-runs']).toBe(
      'clusterUpgrade run run-2 (started T) moved commodore@h3',
    );
    const unrelated = [
      { runId: 'run-2', type: 'clusterUpgrade', startedAt: 'T', moved: [{ service: 'bridge', host: 'h3' }] },
    ];
    expect(refusals(planRollback(facts({ later: unrelated })))).toEqual({});
  });

  it('refuses a replica that runs neither what the run left nor what it ran before (changed since)', () => {
    const hosts = facts().hosts.map((h) => (h.host === 'h2' ? at('commodore', 'h2', id('f'), CFG.c) : h));
    expect(refusals(planRollback(facts({ hosts }))).hosts).toMatch(
      /^commodore@h2: runs v0\.2\.0 \(ffffffffffff.*changed since the run$/,
    );
  });

  it('names the pre-run artifact that is gone from the host', () => {
    const hosts = facts().hosts.map((h) =>
      h.service === 'quartermaster'
        ? { ...h, artifact: { present: false, where: '/opt/frameworks/quartermaster/releases/aaaa is missing' } }
        : h,
    );
    expect(refusals(planRollback(facts({ hosts }))).artifacts).toBe(
      `quartermaster@h1: v0.1.0 (${OLD.q}) is gone from h1: /opt/frameworks/quartermaster/releases/aaaa is missing`,
    );
  });

  it('refuses when the pre-run config is not what the cluster files render now', () => {
    const p = planRollback(facts({ configs: { quartermaster: id('9'), commodore: CFG.c } }));
    expect(refusals(p).config).toMatch(/^quartermaster@h1: the config before the run had hash 111111111111/);
  });

  it('leaves replicas already back at their pre-run identity and config alone; all back ⇒ nothing to do', () => {
    const hosts = facts().hosts.map((h) => (h.service === 'commodore' ? at('commodore', h.host, OLD.c, CFG.c) : h));
    const p = planRollback(facts({ hosts }));
    expect(p.steps.map((s) => `${s.service}:${s.hosts.join(',')}`)).toEqual(['quartermaster:h1']);
    expect(p.preview.map((x) => x.line)).toContain(
      'commodore on h2: already at v0.1.0 (identity and config), untouched',
    );

    const all = facts().hosts.map((h) =>
      at(h.service, h.host, h.service === 'quartermaster' ? OLD.q : OLD.c, h.detection.configHash!),
    );
    expect(planRollback(facts({ hosts: all })).nothingToDo).toBe(true);
  });

  it('starts a replica that is at its pre-run state but stopped', () => {
    const hosts = facts().hosts.map((h) => (h.host === 'h2' ? at('commodore', 'h2', OLD.c, CFG.c, false) : h));
    const p = planRollback(facts({ hosts }));
    expect(p.steps[0]!.hosts).toEqual(['h2', 'h3']);
    expect(p.preview.find((x) => x.host === 'h2' && x.service === 'commodore')!.line).toMatch(
      /stopped: would start it$/,
    );
  });

  it('refuses runs that are still going, are not upgrades or releases, or recorded no identities', () => {
    expect(refusals(planRollback(facts({ record: record({ state: 'running', closedAt: null }) }))).record).toMatch(
      /has not finished \(running\)/,
    );
    expect(refusals(planRollback(facts({ record: record({ type: 'schemaMigrate' }) }))).record).toMatch(
      /schemaMigrate run; only upgrade and release runs/,
    );
    const blind = record();
    blind.replicas[0] = { ...blind.replicas[0]!, from: null };
    expect(refusals(planRollback(facts({ record: blind }))).record).toMatch(
      /did not record the identities of quartermaster@h1/,
    );
    expect(refusals(planRollback(facts({ exclude: ['nope'] }))).record).toMatch(/--exclude names .*nope/);
  });
});

describe('withVersionTag', () => {
  it('puts the pre-run version into a digest-only reference and leaves tagged or unknown ones alone', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(withVersionTag(`10.0.0.1:5000/fw/foghorn@${d}`, 'v0.1.0')).toBe(`10.0.0.1:5000/fw/foghorn:v0.1.0@${d}`);
    expect(withVersionTag(`reg/foghorn:v0.1.0@${d}`, 'v0.2.0')).toBe(`reg/foghorn:v0.1.0@${d}`);
    expect(withVersionTag(`reg/foghorn@${d}`, null)).toBe(`reg/foghorn@${d}`);
    expect(withVersionTag(`reg/foghorn@${d}`, 'not a tag!')).toBe(`reg/foghorn@${d}`);
  });
});

describe('replicasOfResults', () => {
  it('reads identities and configs from the per-host outcomes; outcomes without them have none', () => {
    const r: ServiceUpgradeResult = {
      service: 'commodore',
      outcome: 'upgraded',
      hosts: [
        {
          host: 'h2',
          action: 'upgraded',
          from: 'v0.1.0',
          to: 'v0.2.0',
          fromIdentity: OLD.c,
          fromConfigHash: CFG.c,
          toIdentity: NEW.c,
          toConfigHash: CFG.c,
        },
        { host: 'h3', action: 'upgraded', from: 'v0.1.0', to: 'v0.2.0' },
      ],
    };
    expect(replicasOfResults([r, undefined])).toEqual([
      {
        service: 'commodore',
        host: 'h2',
        action: 'upgraded',
        from: { identity: OLD.c, configHash: CFG.c, version: 'v0.1.0' },
        to: { identity: NEW.c, configHash: CFG.c, version: 'v0.2.0' },
      },
      { service: 'commodore', host: 'h3', action: 'upgraded', from: null, to: null },
    ]);
  });
});
