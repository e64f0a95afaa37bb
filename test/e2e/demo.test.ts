// `npm run demo` (the README's first Quick start command) as a new user runs it: every step of the seed's flow
// on the real lab must run and show its outcome, and the demo must exit 0. It drives the shared dev server of
// this test run (TEMPORAL_ADDRESS) instead of starting its own; everything else — the lab, PostgreSQL, the
// worker — it brings up itself. Afterwards the lab it left up for exploring is removed.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labDown } from '../../lab/lab';
import { acquireLabForTest, releaseLabForTest } from '../../lab/lock';
import { temporalAddress } from '../helpers/servers';

const ROOT = join(__dirname, '..', '..');

function runDemo(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/demo.ts'], {
      cwd: ROOT,
      env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out }));
  });
}

afterAll(async () => {
  await acquireLabForTest();
  try {
    await labDown();
  } finally {
    releaseLabForTest();
  }
}, 180_000);

describe('npm run demo', () => {
  it('runs the whole recommended flow on the lab and exits 0', async () => {
    const { code, out } = await runDemo();
    expect(code, out.slice(-4000)).toBe(0);
    const steps: [string, RegExp][] = [
      ['status', /\$ frameworks cluster status\n[\s\S]*?upgrade available/],
      ['upgrade plan', /\$ frameworks cluster upgrade plan --version v0\.2\.0\n/],
      ['expand dry-run', /\$ frameworks cluster migrate --phase expand --to-version v0\.2\.0 --dry-run\n/],
      ['expand', /\$ frameworks cluster migrate --phase expand --to-version v0\.2\.0 --yes\n/],
      [
        'upgrade dry-run',
        /\$ frameworks cluster upgrade --all --version v0\.2\.0 --dry-run\n[\s\S]*?would upgrade purser on h1 from v0\.1\.0/,
      ],
      [
        'upgrade',
        /\$ frameworks cluster upgrade --all --version v0\.2\.0 --yes\n[\s\S]*?purser on h1: upgraded \(v0\.1\.0 → v0\.2\.0\)/,
      ],
      [
        'contract refused',
        /\$ frameworks cluster migrate --phase contract --to-version v0\.2\.0 --yes\n[\s\S]*?invoice-line-items/,
      ],
      ['data-migrate pause', /\$ frameworks cluster data-migrate pause purser\.invoice-line-items\n/],
      ['data-migrate resume', /\$ frameworks cluster data-migrate resume purser\.invoice-line-items\n/],
      ['verify', /\$ frameworks cluster data-migrate verify purser\.invoice-line-items\n/],
      ['postdeploy', /\$ frameworks cluster migrate --phase postdeploy --to-version v0\.2\.0 --yes\n/],
      ['doctor', /\$ frameworks cluster doctor\n[\s\S]*?HEALTHY/],
      [
        'rollback',
        /\$ frameworks cluster upgrade --all --version v0\.2\.1 --yes\n[\s\S]*?foghorn: rolled-back[\s\S]*?rolled back to v0\.2\.0/,
      ],
      ['runs list', /\$ frameworks cluster runs list\n/],
      // The worker's metrics after the flow: the refused contract, the upgrades, the rollback and the backfill.
      ['metrics', /\$ curl -s http:\/\/127\.0\.0\.1:\d+\/metrics[\s\S]*?frameworks_data_migration_rows\{/],
    ];
    for (const [name, re] of steps) expect(out, name).toMatch(re);
    // The steps appear in the seed's order.
    const at = (re: RegExp): number => out.search(re);
    const order = steps.map(([, re]) => at(re));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(out).toContain('npm run demo -- --down');
    const metric = (name: string, labels: string[]): number => {
      const lines = out.split('\n').filter((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)));
      return lines.reduce((acc, l) => acc + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    };
    expect(metric('frameworks_gate_refusals', ['gate="data-migrations"', 'cluster="lab"'])).toBeGreaterThanOrEqual(1);
    expect(metric('frameworks_upgrades_succeeded', ['service="purser"', 'outcome="upgraded"'])).toBeGreaterThanOrEqual(
      1,
    );
    expect(metric('frameworks_upgrades_failed', ['service="foghorn"', 'outcome="rolled-back"'])).toBe(1);
    expect(metric('frameworks_rollbacks', ['service="foghorn"', 'result="succeeded"'])).toBe(1);
    expect(metric('frameworks_data_migration_rows', ['migration="invoice-line-items"', 'kind="scanned"'])).toBe(20_000);
    expect(metric('temporal_workflow_completed', ['workflow_type="clusterUpgrade"'])).toBeGreaterThanOrEqual(1);
  }, 1_200_000);
});
