// status's per-replica verdict: content identity decides "upgrade available" (a carried service with the same
// bytes is up to date), a newer deployed label is "ahead of target", and problems outrank upgrades.
import { describe, expect, it } from 'vitest';
import type { ReleaseServiceSlice } from '../../src/contracts/plan';
import type { HostDetection } from '../../src/contracts/upgrade';
import { attentionLines, replicaStatus, type ReplicaFacts } from '../../src/domain/status/replicas';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

const running = (over: Partial<HostDetection> = {}): HostDetection => ({
  host: 'h1',
  present: true,
  identity: A,
  version: 'v0.1.0',
  configHash: 'c1',
  running: true,
  arch: 'linux-amd64',
  ...over,
});
const nativeTarget = (checksum: string, version = 'v0.2.0', carriedFrom?: string): ReleaseServiceSlice => ({
  name: 'purser',
  version,
  artifacts: [
    { arch: 'linux-arm64', url: 'u-arm', checksum: B },
    { arch: 'linux-amd64', url: 'u', checksum },
  ],
  ...(carriedFrom ? { carriedFrom } : {}),
});
const facts = (over: Partial<ReplicaFacts>): ReplicaFacts => ({
  service: 'purser',
  host: 'h1',
  mode: 'native',
  detection: running(),
  health: { healthy: true },
  target: nativeTarget(B),
  desiredConfigHash: 'c1',
  ...over,
});

describe('replicaStatus', () => {
  it('a different artifact for the host arch is an upgrade; the same bytes under an older label are up to date', () => {
    const up = replicaStatus(facts({}));
    expect(up).toMatchObject({ state: 'upgrade available', upgradeAvailable: true, health: 'healthy' });
    expect(up.available).toEqual({ version: 'v0.2.0', identity: B });
    const carried = replicaStatus(facts({ target: nativeTarget(A, 'v0.1.0', 'v0.1.0') }));
    expect(carried).toMatchObject({ state: 'up to date', upgradeAvailable: false });
    expect(carried.available.carriedFrom).toBe('v0.1.0');
  });

  it('docker compares the image digest; a newer deployed label is ahead of target, not an upgrade', () => {
    const docker = { name: 'x', version: 'v0.2.0', digest: B, artifacts: [] };
    expect(replicaStatus(facts({ mode: 'docker', target: docker })).state).toBe('upgrade available');
    expect(replicaStatus(facts({ mode: 'docker', target: { ...docker, digest: A } })).state).toBe('up to date');
    const ahead = replicaStatus(facts({ detection: running({ version: 'v0.3.0' }) }));
    expect(ahead).toMatchObject({ state: 'ahead of target', upgradeAvailable: false });
  });

  it('same artifact with changed config is an upgrade that reloads', () => {
    const r = replicaStatus(facts({ target: nativeTarget(A), desiredConfigHash: 'c2' }));
    expect(r).toMatchObject({ state: 'upgrade available', upgradeAvailable: true });
    expect(r.detail).toContain('config changed');
  });

  it('unreachable, not installed, not running and unhealthy need attention; a missing target does not', () => {
    const cases: [Partial<ReplicaFacts>, string][] = [
      [
        {
          detection: running({ present: false, identity: null, version: null, running: false, error: 'ECONNREFUSED' }),
        },
        'unreachable',
      ],
      [{ detection: running({ present: false, identity: null, version: null, running: false }) }, 'not installed'],
      [{ detection: running({ running: false }) }, 'not running'],
      [{ health: { healthy: false, error: 'HTTP 503' } }, 'unhealthy'],
      [{ target: null }, 'no target'],
    ];
    const rows = cases.map(([f, state]) => {
      const r = replicaStatus(facts(f));
      expect(r.state).toBe(state);
      return r;
    });
    expect(attentionLines(rows)).toEqual([
      'purser@h1: unreachable (ECONNREFUSED)',
      'purser@h1: not installed',
      'purser@h1: not running',
      'purser@h1: unhealthy (HTTP 503)',
    ]);
    expect(attentionLines([], 'no channel pointer')).toEqual(['target release unavailable: no channel pointer']);
  });
});
