// `frameworks cluster upgrade --canary` against the REAL lab (issue 12 item 3 acceptance): real hosts over pinned
// SSH (commodore runs on the dockerds of h2 and h3), a real worker process, the real CLI. Each step reads the
// hosts back (the container's image digest, config hash, container id, /health):
//   v0.1.0 → upgrade commodore --canary → h2 alone at v0.2.0, waiting → runs rollback → h2 back at its v0.1.0
//   identity and config, h3 never restarted → upgrade commodore --canary again → runs continue → both at v0.2.0.
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labPaths } from '../../lab/config';
import { labDown, labUp, type LabState } from '../../lab/lab';
import { acquireLabForTest, releaseLabForTest } from '../../lab/lock';
import { changeWorkflowId } from '../../src/temporal/ids';
import { clusterUpgradeMessages } from '../../src/workflows/messages';
import { frameworksAsync, type CliResult } from '../helpers/cli';
import { releaseIdentity, snapshot, type Snapshot } from '../helpers/lab-hosts';
import { temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

let state: LabState;
let worker: WorkerProcess | undefined;
let env: NodeJS.ProcessEnv;
let client: Client;
const paths = () => labPaths(state.root);
const CHANGE = changeWorkflowId('lab');
const WAIT = { FRAMEWORKS_HEALTH_INTERVAL: '500 milliseconds', FRAMEWORKS_HEALTH_DEADLINE: '20 seconds' };

function cli(args: string[]): Promise<CliResult> {
  return frameworksAsync(['cluster', ...args], { ...env, ...WAIT, FRAMEWORKS_OPERATOR: 'ana' }, 240_000);
}
const text = (r: CliResult): string => `${r.stdout}\n${r.stderr}`;
const view = (s: Snapshot, key: string) => {
  const r = s[key]!;
  return { identity: r.identity, config: r.configHash, version: r.version, instance: r.instance, health: r.health };
};

/** Starts `upgrade commodore --canary` detached and waits until its canary is healthy and waiting. */
async function startCanary(): Promise<void> {
  const r = await cli(['upgrade', 'commodore', '--version', 'v0.2.0', '--canary', '--yes', '--detach']);
  expect(r.code, text(r)).toBe(0);
  const p = await waitFor(
    'the canary of commodore awaiting a decision',
    async () => {
      const x = await client.workflow.getHandle(CHANGE).query(clusterUpgradeMessages.progress);
      return x.state === 'awaiting-canary' && x;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  expect(p.canaries).toMatchObject([{ service: 'commodore', host: 'h2', state: 'awaiting' }]);
}

beforeAll(async () => {
  await acquireLabForTest();
  state = await labUp({ fresh: true, log: (l) => console.error(`[lab] ${l}`) });
  const dbUrl = /FRAMEWORKS_DATABASE_URL=(\S+)/.exec(readFileSync(state.envFile!, 'utf8'))![1]!;
  env = { TEMPORAL_ADDRESS: temporalAddress(), FRAMEWORKS_DATABASE_URL: dbUrl, FRAMEWORKS_MANIFEST: state.clusterFile };
  worker = await spawnWorker(state.clusterFile!, env);
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  const expand = await cli(['migrate', '--phase', 'expand', '--to-version', 'v0.2.0', '--yes']);
  expect(expand.code, text(expand)).toBe(0);
}, 300_000);

afterAll(async () => {
  try {
    await worker?.kill('SIGTERM');
    await client?.connection.close();
    await labDown();
  } finally {
    releaseLabForTest();
  }
}, 180_000);

describe('upgrade --canary on the lab', () => {
  it('rollback: the canary replica returns to its v0.1.0 identity and config; the other is never touched', async () => {
    const before = await snapshot(paths());
    const v020 = releaseIdentity(paths().releases, 'v0.2.0', 'commodore');
    expect(before['commodore@h2']!.identity).not.toBe(v020);

    await startCanary();
    const paused = await snapshot(paths());
    expect(paused['commodore@h2']).toMatchObject({ identity: v020, health: 200 });
    expect(view(paused, 'commodore@h3')).toEqual(view(before, 'commodore@h3'));

    const rb = await cli(['runs', 'rollback', CHANGE]);
    expect(rb.code, text(rb)).toBe(0);
    const watched = await cli(['runs', 'watch', CHANGE]);
    expect(watched.code, text(watched)).toBe(1);
    expect(watched.stderr).toMatch(/the canary on h2 was rolled back by ana/);

    const after = await snapshot(paths());
    const h2 = view(after, 'commodore@h2');
    const was = view(before, 'commodore@h2');
    expect({ identity: h2.identity, config: h2.config, version: h2.version, health: h2.health }).toEqual({
      identity: was.identity,
      config: was.config,
      version: was.version,
      health: 200,
    });
    expect(h2.instance).not.toBe(was.instance);
    expect(view(after, 'commodore@h3')).toEqual(view(before, 'commodore@h3'));
  });

  it('continue: the rest of the replicas upgrade', async () => {
    const before = await snapshot(paths());
    const v020 = releaseIdentity(paths().releases, 'v0.2.0', 'commodore');
    await startCanary();
    const cont = await cli(['runs', 'continue', CHANGE]);
    expect(cont.code, text(cont)).toBe(0);
    const watched = await cli(['runs', 'watch', CHANGE]);
    expect(watched.code, text(watched)).toBe(0);
    expect(watched.stdout).toContain('commodore on h3: upgraded (v0.1.0 → v0.2.0)');
    const after = await snapshot(paths());
    for (const key of ['commodore@h2', 'commodore@h3']) {
      expect(after[key], key).toMatchObject({ identity: v020, version: 'v0.2.0', health: 200 });
      expect(after[key]!.instance, key).not.toBe(before[key]!.instance);
    }
  });
});
