import { describe, expect, it } from 'vitest';
import type { ServiceDefinitions } from '../../src/contracts/catalog';
import { planRollout, resolveUpgradeHosts } from '../../src/domain/planner';
import { InputError } from '../../src/errors';

type Def = ServiceDefinitions[string];

function def(over: Partial<Def> = {}): Def {
  return { role: 'api', port: 18000, depends_on: [], class: 'platform', reload_on_sighup: false, ...over };
}

/** The lab's shape: commodore → quartermaster, purser → commodore, foghorn → commodore, bridge → foghorn. */
const definitions: ServiceDefinitions = {
  quartermaster: def({ port: 18001 }),
  commodore: def({ port: 18002, depends_on: ['quartermaster'] }),
  purser: def({ port: 18003, depends_on: ['commodore'] }),
  foghorn: def({ port: 18004, depends_on: ['commodore'] }),
  bridge: def({ port: 18005, depends_on: ['foghorn'] }),
  chartroom: def({ role: 'interface', port: 18080 }),
  caddy: def({ role: 'proxy', port: 443, class: 'managed' }),
  postgres: def({ role: 'database', port: 5432, class: 'infrastructure' }),
};

function cluster(...names: string[]): Record<string, { mode: 'native' | 'docker'; hosts: string[] }> {
  return Object.fromEntries(names.map((n) => [n, { mode: 'docker' as const, hosts: ['h1'] }]));
}

function thrown(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

describe('planRollout', () => {
  it('puts quartermaster first, follows depends_on, and breaks ties lexically', () => {
    const plan = planRollout({
      services: cluster('bridge', 'purser', 'foghorn', 'commodore', 'quartermaster'),
      definitions,
    });
    expect(plan.batches).toEqual([['quartermaster'], ['commodore'], ['foghorn', 'purser'], ['bridge']]);
    expect(plan.order).toEqual(['quartermaster', 'commodore', 'foghorn', 'purser', 'bridge']);
    expect(plan.excluded).toEqual([]);
  });

  it('makes every platform service wait for quartermaster even without a declared edge', () => {
    const defs = { ...definitions, foghorn: def({ depends_on: [] }), bridge: def({ depends_on: [] }) };
    const plan = planRollout({ services: cluster('foghorn', 'bridge', 'quartermaster'), definitions: defs });
    expect(plan.batches).toEqual([['quartermaster'], ['bridge', 'foghorn']]);
  });

  it('plans interfaces after every backend', () => {
    const plan = planRollout({ services: cluster('chartroom', 'quartermaster', 'commodore', 'bridge'), definitions });
    expect(plan.batches).toEqual([['quartermaster'], ['bridge', 'commodore'], ['chartroom']]);
  });

  it('treats dependencies outside the rollout as satisfied', () => {
    // purser depends on commodore, which this cluster does not run.
    const plan = planRollout({ services: cluster('purser', 'quartermaster'), definitions });
    expect(plan.order).toEqual(['quartermaster', 'purser']);
  });

  it('lists a multi-replica service once and collapses duplicate edges', () => {
    const services = { ...cluster('quartermaster'), commodore: { mode: 'docker' as const, hosts: ['h1', 'h2', 'h3'] } };
    const defs = { ...definitions, commodore: def({ depends_on: ['quartermaster', 'quartermaster'] }) };
    const plan = planRollout({ services, definitions: defs });
    expect(plan.order).toEqual(['quartermaster', 'commodore']);
  });

  it('classifies managed and infrastructure services out, with the reason', () => {
    const plan = planRollout({ services: cluster('postgres', 'caddy', 'quartermaster'), definitions });
    expect(plan.order).toEqual(['quartermaster']);
    expect(plan.excluded.map((e) => [e.service, e.class])).toEqual([
      ['caddy', 'managed'],
      ['postgres', 'infrastructure'],
    ]);
    for (const e of plan.excluded) expect(e.reason).toMatch(/managed|infrastructure/);
  });

  it('names the cycle', () => {
    const defs = { ...definitions, commodore: def({ depends_on: ['bridge'] }) };
    const err = thrown(() =>
      planRollout({ services: cluster('quartermaster', 'commodore', 'foghorn', 'bridge'), definitions: defs }),
    );
    expect(err.message).toContain('dependency cycle: bridge -> foghorn -> commodore -> bridge');
  });

  it('names a self-dependency and a cycle through quartermaster', () => {
    const self = { ...definitions, purser: def({ depends_on: ['purser'] }) };
    expect(thrown(() => planRollout({ services: cluster('purser'), definitions: self })).message).toContain(
      'purser -> purser',
    );
    const viaRoot = { ...definitions, quartermaster: def({ depends_on: ['commodore'] }) };
    expect(
      thrown(() => planRollout({ services: cluster('quartermaster', 'commodore'), definitions: viaRoot })).message,
    ).toContain('commodore -> quartermaster -> commodore');
  });

  it('fails closed on services without a definition, naming all of them', () => {
    const err = thrown(() => planRollout({ services: cluster('quartermaster', 'navigator', 'decklog'), definitions }));
    expect(err.issues.map((i) => i.path)).toEqual(['decklog', 'navigator']);
    expect(err.message).toContain('catalog/services.yaml');
  });

  it('refuses a depends_on that names no defined service', () => {
    const defs = { ...definitions, purser: def({ depends_on: ['comodore'] }) };
    expect(thrown(() => planRollout({ services: cluster('purser'), definitions: defs })).message).toContain(
      '"comodore"',
    );
  });

  it('is deterministic whatever the key order of its inputs', () => {
    const names = ['bridge', 'chartroom', 'commodore', 'foghorn', 'purser', 'quartermaster', 'caddy'];
    const a = planRollout({ services: cluster(...names), definitions });
    const reversedDefs = Object.fromEntries(Object.entries(definitions).reverse()) as ServiceDefinitions;
    const b = planRollout({ services: cluster(...[...names].reverse()), definitions: reversedDefs });
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('plans nothing for an empty cluster', () => {
    expect(planRollout({ services: {}, definitions })).toEqual({ order: [], batches: [], excluded: [] });
  });
});

describe('resolveUpgradeHosts', () => {
  const topo = {
    services: {
      commodore: { mode: 'docker' as const, hosts: ['h2', 'h3', 'h1'] },
      postgres: { mode: 'native' as const, hosts: ['h1'] },
      purser: { mode: 'native' as const, hosts: ['h2', 'h2'] },
    },
  };

  it('returns every replica in manifest order', () => {
    expect(resolveUpgradeHosts(topo, 'commodore')).toEqual(['h2', 'h3', 'h1']);
    expect(resolveUpgradeHosts(topo, 'postgres')).toEqual(['h1']);
  });

  it('returns nothing for an unknown service and each host once', () => {
    expect(resolveUpgradeHosts(topo, 'navigator')).toEqual([]);
    expect(resolveUpgradeHosts(topo, 'toString')).toEqual([]);
    expect(resolveUpgradeHosts(topo, 'purser')).toEqual(['h2']);
  });
});
