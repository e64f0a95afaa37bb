// `frameworks cluster status` against the REAL lab (SPEC §8; operator page step 1): a real worker process detects
// every replica over pinned SSH (installed.json / docker inspect; on h1, real systemd with the natives installed the
// FrameWorks provisioner's way: unit, binary SHA-256, `version --json`) and probes /health through the SSH connection.
// At v0.1.0 as the lab installs it, every replica shows its deployed identity and "upgrade available" for
// v0.2.0, except bridge, which v0.2.0 carries (same bytes, older label) and so is up to date. Read back against
// the hosts themselves (test/helpers/lab-hosts.ts), not against what the CLI says.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusReportSchema } from '../../src/contracts/status';
import { labPaths } from '../../lab/config';
import { labDown, labUp, type LabState } from '../../lab/lab';
import { frameworksAsync, type CliResult } from '../helpers/cli';
import { acquireLabForTest, releaseLabForTest } from '../../lab/lock';
import { releaseBinaryIdentity, releaseIdentity, releaseServiceVersion, snapshot } from '../helpers/lab-hosts';
import { temporalAddress } from '../helpers/servers';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

let state: LabState;
let worker: WorkerProcess | undefined;
let env: NodeJS.ProcessEnv;

const cli = (args: string[]): Promise<CliResult> => frameworksAsync(['cluster', ...args], env, 180_000);
const text = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;

beforeAll(async () => {
  await acquireLabForTest();
  state = await labUp({ log: (l) => console.error(`[lab] ${l}`) });
  const dbUrl = /FRAMEWORKS_DATABASE_URL=(\S+)/.exec(readFileSync(state.envFile!, 'utf8'))![1]!;
  env = { TEMPORAL_ADDRESS: temporalAddress(), FRAMEWORKS_DATABASE_URL: dbUrl, FRAMEWORKS_MANIFEST: state.clusterFile };
  worker = await spawnWorker(state.clusterFile!, env);
}, 600_000);

afterAll(async () => {
  try {
    await worker?.kill('SIGTERM');
    await labDown();
  } finally {
    releaseLabForTest();
  }
}, 180_000);

describe('cluster status on the lab', () => {
  it('shows the deployed identities and "upgrade available" for v0.2.0 (bridge carried: up to date); exit 0', async () => {
    const hosts = await snapshot(labPaths(state.root));
    const r = await cli(['status', '--json']);
    expect(r.code, text(r)).toBe(0);
    const report = StatusReportSchema.parse(JSON.parse(r.stdout));
    expect(report.status?.target.platformVersion).toBe('v0.2.0');
    const replicas = report.status!.replicas;
    expect(replicas.map((x) => `${x.service}@${x.host}`).sort()).toEqual(Object.keys(hosts).sort());
    for (const x of replicas) {
      const key = `${x.service}@${x.host}`;
      const onHost = hosts[key]!;
      // What the CLI reports is what the host runs. A provisioner install (h1, before any upgrade adopted it)
      // holds only the executable (its SHA-256 is what the host snapshot reads); status names the release tarball
      // whose executable has exactly those bytes, so a replica this tool never touched compares by content.
      expect(x.deployed.version, key).toBe(onHost.version);
      expect(x.deployed.identity, key).toBe(releaseIdentity(state.releaseRepository!, 'v0.1.0', x.service));
      if (onHost.layout === 'provisioner') {
        expect(onHost.identity, key).toBe(releaseBinaryIdentity(state.releaseRepository!, 'v0.1.0', x.service));
      } else {
        expect(x.deployed.identity, key).toBe(onHost.identity);
      }
      if (x.mode === 'native') expect(onHost.layout, key).toBe('provisioner');
      expect(x.available.version, key).toBe(releaseServiceVersion(state.releaseRepository!, 'v0.2.0', x.service));
      expect(x.available.identity, key).toBe(releaseIdentity(state.releaseRepository!, 'v0.2.0', x.service));
      expect(x.health, key).toBe('healthy');
      if (x.service === 'bridge') {
        expect(x, key).toMatchObject({
          state: 'up to date',
          upgradeAvailable: false,
          available: { carriedFrom: 'v0.1.0' },
        });
      } else {
        expect(x, key).toMatchObject({ state: 'upgrade available', upgradeAvailable: true });
      }
    }
    expect(report.needsAttention).toBe(false);
  }, 180_000);

  it('human output: one row per service and host with "upgrade available", and the next command', async () => {
    const r = await cli(['status']);
    expect(r.code, text(r)).toBe(0);
    expect(r.stdout).toContain('Target: v0.2.0 (head of channel stable)');
    expect(r.stdout).toMatch(
      /quartermaster\s*│\s*h1\s*│\s*native\s*│\s*v0\.1\.0 [0-9a-f]{12}\s*│\s*v0\.2\.0 [0-9a-f]{12}\s*│\s*healthy\s*│\s*upgrade available/,
    );
    expect(r.stdout).toMatch(/bridge\s*│\s*h3\s*│\s*docker\s*│.*\(carried\)\s*│\s*healthy\s*│\s*up to date/);
    expect(r.stdout).toContain('frameworks cluster upgrade plan --version v0.2.0');
  }, 180_000);
});
