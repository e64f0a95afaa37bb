// The pure decisions moved out of the clusterUpgrade and release workflows (issue 13 item 3), tested by value:
// which services a run covers, the registry gate, the per-host preview lines, services settled at target, the
// release's judgement of a data migration's live state, its plan text, and how a child run's end is reported.
import { describe, expect, it } from 'vitest';
import type { ServiceTarget } from '../../src/contracts/plan';
import type { HostDetection } from '../../src/contracts/upgrade';
import { TERMINAL_STATES, ChangeRunStateSchema } from '../../src/contracts/change-run';
import { childOutcome, judgeLiveState, releasePlanText, releaseStateValue } from '../../src/domain/release-run';
import {
  archsFor,
  hostArchs,
  previewLines,
  registryCheck,
  selectServices,
  settledAtTarget,
  upgradeFailure,
} from '../../src/domain/upgrade-run';

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const target = (service: string, digest: string, hosts = ['h1']): ServiceTarget => ({
  service,
  mode: 'docker',
  hosts,
  version: 'v0.2.0',
  imageRef: `registry/${service}@${digest}`,
  artifacts: [],
  problems: [],
});
const det = (host: string, identity: string | null, over: Partial<HostDetection> = {}): HostDetection => ({
  host,
  present: true,
  identity,
  version: 'v0.1.0',
  configHash: 'cfg',
  running: true,
  arch: null,
  ...over,
});

describe('clusterUpgrade decisions', () => {
  const plan = { order: ['a', 'b'], excluded: [{ service: 'db', reason: 'infrastructure' }] };
  it('selects every planned service for --all, one known platform service, and refuses the others by name', () => {
    expect(selectServices(plan, 'all', {}, 'c.yaml')).toEqual({ services: ['a', 'b'] });
    expect(selectServices(plan, ['b'], { b: {} }, 'c.yaml')).toEqual({ services: ['b'] });
    expect(selectServices(plan, ['zz'], { b: {} }, 'c.yaml')).toMatchObject({
      refuse: { label: 'service known', status: 'refuse', detail: 'service zz is not in c.yaml' },
    });
    expect(selectServices(plan, ['db'], { db: {} }, 'c.yaml')).toMatchObject({
      refuse: { label: 'service upgradeable', detail: 'db is not a platform service (infrastructure)' },
    });
  });

  it('the registry gate passes when every digest resolves and names the missing ones otherwise', () => {
    expect(registryCheck([])).toMatchObject({ status: 'pass' });
    expect(registryCheck(['x@sha256:1 missing', 'y@sha256:2 missing'])).toMatchObject({
      status: 'refuse',
      detail: 'x@sha256:1 missing; y@sha256:2 missing',
    });
  });

  it('previews per host: skip at target, start when stopped, upgrade, config change, downgrade, carried', () => {
    const targets = [target('a', D(2), ['h1', 'h2', 'h3', 'h4']), { ...target('b', D(5)), carriedFrom: 'v0.1.0' }];
    const lines = previewLines({
      target: 'v0.2.0',
      services: ['a', 'b'],
      targets,
      detections: {
        a: [
          det('h1', D(2)),
          det('h2', D(2), { running: false }),
          det('h3', D(1)),
          det('h4', D(2), { configHash: 'old' }),
        ],
        b: [det('h1', D(9))],
      },
      configs: { a: 'cfg', b: 'cfg' },
      backwards: new Set(['b@h1']),
      proven: true,
    }).map((l) => l.line);
    expect(lines).toEqual([
      'a on h1: already at v0.2.0 (identity and config match), skip',
      'a on h2: at v0.2.0 but stopped: would start it and check its health',
      'would upgrade a on h3 from v0.1.0 to v0.2.0',
      'would upgrade a on h4 from v0.1.0 to v0.2.0 (config changed)',
      'would DOWNGRADE b on h1 from v0.1.0 to v0.2.0 [carried from v0.1.0]',
    ]);
  });

  it('before proven gates a stopped replica at target still reads as skip', () => {
    const [line] = previewLines({
      target: 'v0.2.0',
      services: ['a'],
      targets: [target('a', D(2))],
      detections: { a: [det('h1', D(2), { running: false })] },
      configs: { a: 'cfg' },
      backwards: new Set(),
      proven: false,
    });
    expect(line!.line).toContain('skip');
  });

  it('settles a service at target only when every replica is detected at identity, config (and running)', () => {
    const targets = [target('a', D(2), ['h1', 'h2']), target('b', D(3), ['h1', 'h2']), target('c', D(4), ['h1'])];
    const settled = settledAtTarget({
      target: 'v0.2.0',
      services: ['a', 'b', 'c'],
      targets,
      fresh: {
        a: [det('h1', D(2), { version: 'v0.2.0' }), det('h2', D(2), { version: 'v0.2.0' })],
        b: [det('h1', D(3))],
        c: [det('h1', D(4), { running: false })],
      },
      configs: { a: 'cfg', b: 'cfg', c: 'cfg' },
      proven: true,
    });
    expect([...settled.keys()]).toEqual(['a']);
    expect(settled.get('a')).toEqual({
      service: 'a',
      outcome: 'skipped',
      hosts: ['h1', 'h2'].map((host) => ({
        host,
        action: 'skipped',
        from: 'v0.2.0',
        to: 'v0.2.0',
        detail: 'identity and config already at target',
      })),
    });
  });

  it('a failed sequence says what succeeded, failed and remains', () => {
    expect(upgradeFailure('b: health', { succeeded: ['a'], failed: ['b'], remaining: ['c', 'd'] })).toBe(
      'b: health. Stopping upgrade sequence. Succeeded: [a], Failed: [b], Remaining: [c, d]',
    );
  });
});

describe('host architectures read once per run (reference item 11)', () => {
  it('one architecture per host from any service detected there; unknown hosts are left for a later read', () => {
    const archs = hostArchs({
      a: [det('h1', null, { arch: 'linux-amd64' }), det('h2', null, { arch: null, error: 'unreachable' })],
      b: [det('h1', null, { arch: 'linux-amd64' }), det('h3', null, { arch: 'linux-arm64' })],
    });
    expect(archs).toEqual({ h1: 'linux-amd64', h3: 'linux-arm64' });
    expect(archsFor(archs, ['h3', 'h2'])).toEqual({ h3: 'linux-arm64' });
  });
});

describe('release decisions', () => {
  it('judges a data migration by its live state', () => {
    expect(judgeLiveState(undefined)).toEqual({ ok: false, completed: false, detail: 'no state reported' });
    expect(judgeLiveState({ kind: 'status', status: 'completed' } as never)).toMatchObject({
      ok: true,
      completed: true,
    });
    expect(judgeLiveState({ kind: 'status', status: 'paused' } as never)).toMatchObject({
      ok: false,
      detail: 'paused by an operator: resume it first (data-migrate resume)',
    });
    expect(judgeLiveState({ kind: 'status', status: 'running' } as never)).toMatchObject({
      ok: true,
      completed: false,
      detail: 'running: this run continues it from its checkpoint',
    });
    expect(judgeLiveState({ kind: 'missing_table' } as never)).toMatchObject({ ok: true, completed: false });
    expect(judgeLiveState({ kind: 'not_adopted' } as never)).toMatchObject({ ok: false });
    expect(judgeLiveState({ kind: 'not_registered' } as never)).toMatchObject({ ok: false });
    expect(judgeLiveState({ kind: 'fetch_error', error: 'timeout' } as never)).toEqual({
      ok: false,
      completed: false,
      detail: 'state unreadable: timeout',
    });
  });

  it('builds each step summary and the approval lines from the dry-runs, in step order', () => {
    const text = releasePlanText({
      target: 'v0.2.0',
      expand: { alreadyApplied: 1, migrations: [{ relPath: 'db/v0.2.0/expand/001.sql', transactional: true }] },
      upgrade: { order: ['a', 'b'], preview: [{ line: 'would upgrade a on h1' }, { line: 'b on h1: ..., skip' }] },
      postdeploy: {
        alreadyApplied: 0,
        migrations: [{ relPath: 'db/v0.2.0/postdeploy/001.notx.sql', transactional: false }],
      },
      dataMigrations: [
        { key: 'p.x', service: 'p', id: 'x', status: 'pending', workflowId: 'w', detail: 'not started' },
        { key: 'p.y', service: 'p', id: 'y', status: 'already-completed', workflowId: 'w2', detail: 'done' },
      ],
    });
    expect(text.summaries).toEqual({
      expand: '1 pending expand migration(s), 1 already applied',
      upgrade: '2 service(s) in order: a -> b',
      'data-migrations': '1 to run, 1 already completed',
      postdeploy: '1 pending postdeploy migration(s), 0 already applied',
    });
    expect(text.preview).toEqual([
      'expand: db/v0.2.0/expand/001.sql',
      'upgrade: would upgrade a on h1',
      'upgrade: b on h1: ..., skip',
      'data migration: p.x (not started)',
      'postdeploy: db/v0.2.0/postdeploy/001.notx.sql (notx)',
    ]);
    const idle = releasePlanText({
      target: 'v0.2.0',
      expand: { alreadyApplied: 0, migrations: [] },
      upgrade: { order: ['a'], preview: [{ line: 'a on h1: already at v0.2.0 (identity and config match), skip' }] },
      postdeploy: { alreadyApplied: 0, migrations: [] },
      dataMigrations: [],
    });
    expect(idle.summaries.upgrade).toBe('every service already at v0.2.0');
    expect(idle.summaries['data-migrations']).toBe('none required');
  });

  it('reports a child that did not complete by its state and refusing gates; FwState names the running step', () => {
    expect(
      childOutcome({
        state: 'refused',
        checks: [
          { status: 'pass', label: 'x', detail: 'ok' },
          { status: 'refuse', label: 'schema', detail: 'edited file' },
        ],
      }),
    ).toBe('refused — schema: edited file');
    expect(childOutcome({ state: 'expired', checks: [] })).toBe('expired');
    const steps = [
      { name: 'expand' as const, status: 'completed' as const, summary: '' },
      { name: 'upgrade' as const, status: 'running' as const, summary: '' },
    ];
    expect(releaseStateValue({ steps }, 'running')).toBe('running:upgrade');
    expect(releaseStateValue({ steps }, 'completed')).toBe('completed');
  });
});

describe('change-run contract', () => {
  it('every terminal state is a run state, and the executing words of each run are kept', () => {
    for (const s of TERMINAL_STATES) expect(ChangeRunStateSchema.options).toContain(s);
    for (const s of ['applying', 'upgrading', 'running']) {
      expect(ChangeRunStateSchema.options).toContain(s);
      expect(TERMINAL_STATES.has(s)).toBe(false);
    }
  });
});
