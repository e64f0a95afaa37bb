// scripts/check-release-manifests.ts over a gitops-shaped directory of our own: one verdict per releases/*.yaml
// (in version order, with the first reason), then each channel pointer and the verdict of what it names.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkChannels, checkReleaseManifests } from '../../scripts/check-release-manifests';

function gitops(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fw-gitops-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('check-release-manifests', () => {
  const dir = gitops({
    'releases/v0.2.10.yaml': 'platform_version: v0.2.10\n',
    'releases/v0.2.9.yaml': 'platform_version: v0.2.9\ninfrastructure:\n  - name: kafka\n    notes: x\n',
    'releases/v0.2.40.yaml': 'platform_version: v0.2.41\n',
    'releases/v0.2.3-rc1.yaml':
      'platform_version: v0.2.3-rc1\nservices:\n  - { name: bridge, service_version: 0.2.0 }\n' +
      'native_binaries:\n  - name: bridge\n    artifacts:\n      - { arch: linux-amd64, url: https://x/v0.2.3-rc1/b.tgz }\n',
    'channels/stable.yaml':
      'platform_version: v0.2.10\nmanifest: releases/v0.2.10.yaml\nupdated_at: 2026-01-01T00:00:00Z\n',
    'channels/rc.yaml': 'platform_version: v0.2.3-rc1\nmanifest: releases/v0.2.3-rc1.yaml\n',
  });

  it('gives one verdict per manifest in version order, with the first reason and the problem count', () => {
    expect(checkReleaseManifests(dir)).toEqual([
      {
        tag: 'v0.2.3-rc1',
        accepted: false,
        reason:
          "native_binaries[0].artifacts[0].url: bridge (linux-amd64): url https://x/v0.2.3-rc1/b.tgz does not contain the service's version 0.2.0 (its service_version)",
        problems: 1,
      },
      { tag: 'v0.2.9', accepted: false, reason: 'infrastructure[0].notes: unknown key', problems: 1 },
      { tag: 'v0.2.10', accepted: true, reason: '', problems: 0 },
      {
        tag: 'v0.2.40',
        accepted: false,
        reason:
          'platform_version: manifest declares "v0.2.41" but "v0.2.40" was requested; refusing a manifest whose identity does not match exactly',
        problems: 1,
      },
    ]);
  });

  it('follows each channel pointer to the release it names', () => {
    const [rc, stable] = checkChannels(dir);
    expect(rc).toMatchObject({ channel: 'rc', accepted: false });
    expect(rc!.reason).toContain("does not contain the service's version 0.2.0");
    expect(stable).toEqual({ channel: 'stable', accepted: true, reason: '→ v0.2.10' });
  });
});
