// The installer's "what is missing" judgement (scripts/deps.ts), asked about an empty machine and about one that
// has everything, through the same file probe the real run uses.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  aptCommand,
  DepsError,
  ensureDebianPackages,
  fileProbe,
  installedFromStatus,
  missingPackages,
  REQUIREMENTS,
} from '../../scripts/deps';

const ALL = [...new Set(REQUIREMENTS.flatMap((r) => r.packages))];

function machine(files: string[], dpkgInstalled: string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'fw-deps-'));
  for (const f of files) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  mkdirSync(join(root, 'var/lib/dpkg'), { recursive: true });
  writeFileSync(
    join(root, 'var/lib/dpkg/status'),
    dpkgInstalled.map((p) => `Package: ${p}\nStatus: install ok installed\nVersion: 1\n`).join('\n'),
  );
  return root;
}

describe('missing Debian packages', () => {
  it('an empty machine (empty prefix, empty PATH) lacks every package, each listed once in list order', () => {
    const probe = fileProbe(mkdtempSync(join(tmpdir(), 'fw-empty-')), '');
    expect(missingPackages(probe)).toEqual(ALL);
    expect(ALL).toEqual(
      expect.arrayContaining([
        'openssh-server',
        'docker.io',
        'docker-registry',
        'docker-compose',
        'busybox-static',
        'chromium',
      ]),
    );
  });

  it('a machine with every file and package lacks nothing', () => {
    const root = machine(
      [
        '/usr/lib/postgresql/15/bin/initdb',
        '/usr/bin/python3',
        '/usr/sbin/sshd',
        '/usr/sbin/ip',
        '/usr/sbin/dockerd',
        '/usr/bin/docker-registry',
        '/usr/bin/docker-compose',
        '/usr/bin/chromium',
        '/usr/sbin/debootstrap',
        '/usr/bin/systemd-nspawn',
      ],
      ['busybox-static'],
    );
    expect(missingPackages(fileProbe(root, '/usr/bin:/usr/sbin'))).toEqual([]);
  });

  it('busybox that is not the static package still counts as missing; dpkg stanzas not fully installed do not count', () => {
    const root = machine(['/usr/bin/busybox'], ['busybox']);
    expect(missingPackages(fileProbe(root, '/usr/bin'))).toContain('busybox-static');
    const s = installedFromStatus(
      'Package: a\nStatus: install ok installed\n\nPackage: b\nStatus: deinstall ok config-files\n',
    );
    expect([...s]).toEqual(['a']);
  });

  it('not root: refuses with the exact apt command, installs nothing', () => {
    const probe = fileProbe(mkdtempSync(join(tmpdir(), 'fw-empty-')), '');
    let err: unknown;
    try {
      ensureDebianPackages({ probe, isRoot: false, hasApt: true, log: () => undefined });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DepsError);
    expect((err as Error).message).toContain(aptCommand(ALL));
    expect((err as Error).message).toContain('openssh-server: a real sshd');
  });

  it('nothing missing: returns without calling apt', () => {
    const probe = { exists: () => true, onPath: () => true, installed: () => true };
    expect(ensureDebianPackages({ probe, isRoot: false, hasApt: false })).toEqual([]);
  });
});
