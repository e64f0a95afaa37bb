// What a clusterUpgrade run stages ahead of its children (src/domain/stage-ahead.ts): exactly the stage steps the
// children would run, for the replicas they would stage, and nothing it cannot judge the way they will.
import { describe, expect, it } from 'vitest';
import type { ServiceTarget } from '../../src/contracts/plan';
import type { HostDetection } from '../../src/contracts/upgrade';
import { stageAheadPlan, stageStep } from '../../src/domain/stage-ahead';

const OLD = 'sha256:' + 'a'.repeat(64);
const NEW = 'sha256:' + 'b'.repeat(64);
const IMG_OLD = 'sha256:' + 'c'.repeat(64);
const IMG_NEW = 'sha256:' + 'd'.repeat(64);
const AMD = { arch: 'linux-amd64', url: 'file:///r/qm-amd64.tar.gz', checksum: NEW, sizeBytes: 10 };
const ARM = { arch: 'linux-arm64', url: 'file:///r/qm-arm64.tar.gz', checksum: NEW, sizeBytes: 11 };

const targets: ServiceTarget[] = [
  { service: 'qm', mode: 'native', hosts: ['h1', 'h2', 'h3'], version: 'v2', artifacts: [AMD, ARM], problems: [] },
  {
    service: 'cm',
    mode: 'docker',
    hosts: ['h1', 'h2'],
    version: 'v2',
    imageRef: `reg/cm:v2@${IMG_NEW}`,
    artifacts: [],
    problems: [],
  },
];
const det = (host: string, identity: string | null, extra: Partial<HostDetection> = {}): HostDetection => ({
  host,
  present: identity !== null,
  identity,
  version: identity ? 'v1' : null,
  configHash: 'cfg',
  running: true,
  arch: 'linux-amd64',
  ...extra,
});
const facts = (fresh: Record<string, HostDetection[]>) => ({
  cluster: 'c',
  order: ['qm', 'cm'],
  targets,
  fresh,
  configs: { qm: 'cfg', cm: 'cfg' },
  hostArchs: { h1: 'linux-amd64', h2: 'linux-arm64', h3: 'linux-amd64' },
});

describe('stageAheadPlan', () => {
  it("stages, in run order, every replica not at target with its host's artifact or the pinned image", () => {
    const plan = stageAheadPlan(
      facts({
        qm: [det('h1', OLD), det('h2', OLD, { arch: 'linux-arm64' }), det('h3', null)],
        cm: [det('h1', IMG_OLD), det('h2', IMG_OLD)],
      }),
    );
    expect(plan).toEqual([
      {
        service: 'qm',
        steps: [
          { cluster: 'c', service: 'qm', host: 'h1', mode: 'native', artifact: AMD },
          { cluster: 'c', service: 'qm', host: 'h2', mode: 'native', artifact: ARM },
          // Not installed yet: the child installs it, so it stages it.
          { cluster: 'c', service: 'qm', host: 'h3', mode: 'native', artifact: AMD },
        ],
      },
      {
        service: 'cm',
        steps: ['h1', 'h2'].map((host) => ({
          cluster: 'c',
          service: 'cm',
          host,
          mode: 'docker',
          imageRef: `reg/cm:v2@${IMG_NEW}`,
        })),
      },
    ]);
  });

  it('leaves out replicas at target identity and config, which the child skips or starts without staging', () => {
    const plan = stageAheadPlan(
      facts({
        qm: [det('h1', NEW), det('h2', OLD, { arch: 'linux-arm64' }), det('h3', NEW, { running: false })],
        cm: [det('h1', IMG_NEW), det('h2', IMG_NEW, { configHash: 'stale' })],
      }),
    );
    expect(plan.map((s) => [s.service, s.steps.map((x) => x.host)])).toEqual([
      ['qm', ['h2']],
      // A config change still goes through stage → activate in the child.
      ['cm', ['h2']],
    ]);
  });

  it('leaves out what it cannot judge as the child will: unread hosts, unknown architectures, no pin', () => {
    const unpinned = targets.map((t) =>
      t.mode === 'native'
        ? { ...t, artifacts: [{ ...AMD, checksum: undefined }, ARM] }
        : { ...t, imageRef: 'reg/cm:v2' },
    );
    const plan = stageAheadPlan({
      ...facts({
        qm: [det('h1', OLD), det('h2', OLD, { arch: 'linux-arm64' }), det('h3', null, { error: 'unreachable' })],
        cm: [det('h1', IMG_OLD)],
      }),
      targets: unpinned,
    });
    // h1 (amd64) has no checksum, h3 was not read, cm has no digest and no detection of h2.
    expect(plan.map((s) => [s.service, s.steps.map((x) => x.host)])).toEqual([
      ['qm', ['h2']],
      ['cm', []],
    ]);
  });

  it("takes the run's architecture of a host before the detection's own (what the child's detection reports)", () => {
    const plan = stageAheadPlan({
      ...facts({ qm: [det('h2', OLD, { arch: null })], cm: [] }),
      order: ['qm'],
    });
    expect(plan[0]!.steps).toEqual([{ cluster: 'c', service: 'qm', host: 'h2', mode: 'native', artifact: ARM }]);
  });
});

describe('stageStep', () => {
  it('is the stage input serviceUpgrade has always sent: the image when there is one, the artifact when there is one', () => {
    expect(stageStep({ cluster: 'c', service: 'cm', mode: 'docker', imageRef: 'reg/cm@x' }, 'h1', undefined)).toEqual({
      cluster: 'c',
      service: 'cm',
      host: 'h1',
      mode: 'docker',
      imageRef: 'reg/cm@x',
    });
    expect(stageStep({ cluster: 'c', service: 'qm', mode: 'native' }, 'h2', AMD)).toEqual({
      cluster: 'c',
      service: 'qm',
      host: 'h2',
      mode: 'native',
      artifact: AMD,
    });
  });
});
