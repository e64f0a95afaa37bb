// `frameworks cluster upgrade --canary` and `runs continue|rollback|watch` as an operator runs them (real CLI
// processes, the real dev server, a real worker), host activities stubbed by the in-memory cluster of
// test/helpers/canary-world.ts: the run pauses after the canary, the commands answer it, usage errors exit 2.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { changeWorkflowId } from '../../src/temporal/ids';
import { clusterUpgradeMessages } from '../../src/workflows/messages';
import { World } from '../helpers/canary-world';
import { frameworksAsync } from '../helpers/cli';
import { writeFixtureCluster } from '../helpers/fixtures';
import { temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'cli-canary';
const RUN = changeWorkflowId(CLUSTER);
const world = new World();
let workers: RunningWorkers;
let client: Client;
let manifest: string;
let configs: Record<string, string>;

const cli = (...args: string[]) =>
  frameworksAsync(args, { TEMPORAL_ADDRESS: temporalAddress(), FRAMEWORKS_OPERATOR: 'ana' }, 90_000);
const upgrade = (...args: string[]) => cli('cluster', 'upgrade', 'commodore', '--manifest', manifest, ...args);
const text = (r: { stdout: string; stderr: string }): string => `${r.stdout}\n${r.stderr}`;
const awaitingCanary = () =>
  waitFor('the run awaiting its canary', async () => {
    const p = await client.workflow.getHandle(RUN).query(clusterUpgradeMessages.progress);
    return p.state === 'awaiting-canary' && p;
  });

beforeAll(async () => {
  manifest = writeFixtureCluster({ name: CLUSTER });
  workers = await startWorkers([manifest], world.overrides());
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  const { createActivities } = await import('../../src/activities');
  const { loadClusterConfig } = await import('../../src/activities/cluster-config');
  const acts = createActivities({
    clusters: { [CLUSTER]: await loadClusterConfig(manifest) },
    fetcher: undefined as never,
    cacheDir: '/tmp',
  });
  configs = await acts.describeServiceConfigs({ cluster: CLUSTER, services: ['commodore', 'foghorn'] });
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});
beforeEach(() => world.reset(configs));

describe('upgrade --canary from the CLI', () => {
  it('the following upgrade shows the waiting canary; `runs continue` upgrades the rest; exit 0', async () => {
    const following = upgrade('--version', 'v0.2.0', '--canary', '--yes');
    await awaitingCanary();
    expect(world.activated).toEqual(['commodore@h2']);
    const listed = await cli('cluster', 'runs', 'list', '--manifest', manifest);
    expect(listed.stdout).toMatch(/fw\/cli-canary\/change .*awaiting-canary/);

    // A service that is not waiting is refused, and nothing is decided.
    const wrong = await cli('cluster', 'runs', 'continue', RUN, '--service', 'foghorn', '--manifest', manifest);
    expect(wrong.code, text(wrong)).toBe(1);
    expect(wrong.stderr).toContain('no canary of foghorn is awaiting a decision');

    const cont = await cli('cluster', 'runs', 'continue', RUN, '--manifest', manifest);
    expect(cont.code, text(cont)).toBe(0);
    expect(cont.stdout).toContain('canary commodore on h2: continued by ana');
    const r = await following;
    expect(r.code, text(r)).toBe(0);
    expect(r.stdout).toMatch(
      /canary commodore on h2: healthy, waiting until \S+ for: frameworks cluster runs continue fw\/cli-canary\/change \| frameworks cluster runs rollback fw\/cli-canary\/change/,
    );
    expect(r.stdout).toContain('commodore on h2: upgraded (v0.1.0 → v0.2.0) — canary; continued by ana');
    expect(r.stdout).toContain('commodore on h3: upgraded (v0.1.0 → v0.2.0)');
    expect(world.activated).toEqual(['commodore@h2', 'commodore@h3']);

    // Nothing waits any more: a late answer is refused.
    const late = await cli('cluster', 'runs', 'rollback', RUN);
    expect(late.code, text(late)).toBe(1);
  });

  it('--detach, then `runs rollback`: the canary returns to its previous identity and config; watch exits 1', async () => {
    const before = { ...world.hosts.get('commodore@h2')! };
    const started = await upgrade('--version', 'v0.2.0', '--canary', '--soak', '1s', '--yes', '--detach');
    expect(started.code, text(started)).toBe(0);
    await awaitingCanary();
    const rb = await cli('cluster', 'runs', 'rollback', RUN, '--manifest', manifest);
    expect(rb.code, text(rb)).toBe(0);
    expect(rb.stdout).toContain('canary commodore on h2: rolled-back by ana');
    const watched = await cli('cluster', 'runs', 'watch', RUN);
    expect(watched.code, text(watched)).toBe(1);
    expect(watched.stderr).toMatch(/the canary on h2 was rolled back by ana; it runs v0\.1\.0 again/);
    expect(watched.stdout).toContain('commodore on h2: rolled-back to v0.1.0 (canary of v0.2.0)');
    expect(world.hosts.get('commodore@h2')).toMatchObject({ identity: before.identity, configHash: 'old-config' });
    expect(world.hosts.get('commodore@h3')!.version).toBe('v0.1.0');
  });

  it('--help documents the flags and the commands that answer a canary', async () => {
    const help = await cli('cluster', 'upgrade', '--help');
    for (const flag of ['--canary', '--soak <duration>', '--canary-timeout <duration>', 'awaiting-canary']) {
      expect(help.stdout).toContain(flag);
    }
    const runs = await cli('cluster', 'runs', '--help');
    expect(runs.stdout).toMatch(/^\s+continue \[options\] <workflow-id>/m);
    expect(runs.stdout).toMatch(/^\s+rollback \[options\] <workflow-id>/m);
  });

  it('usage errors exit 2 before anything starts; answering a run without a canary exits 1', async () => {
    const soak = await upgrade('--canary', '--soak', '5x', '--yes');
    expect(soak.code).toBe(2);
    expect(soak.stderr).toContain('--soak: "5x" is not a duration');
    const noRollback = await upgrade('--canary', '--no-rollback', '--yes');
    expect(noRollback.code).toBe(2);
    expect(noRollback.stderr).toContain('--canary needs rollback');
    const soakAlone = await upgrade('--soak', '10m', '--yes');
    expect(soakAlone.code).toBe(2);
    const plain = await upgrade('--version', 'v0.2.0', '--yes');
    expect(plain.code, text(plain)).toBe(0);
    const answer = await cli('cluster', 'runs', 'continue', RUN);
    expect(answer.code).toBe(1);
    expect(answer.stderr).toContain('no canary waits for a decision');
  });
});
