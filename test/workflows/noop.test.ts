// `noop` on the real dev server with a real worker: the shared change-run lifecycle (src/workflows/change-run.ts)
// end to end — approved up front, approval of the shown plan hash only, cancel before changes, refusal by a gate,
// dry-run, expiry — with FwState following every state. This is what a new mutating command inherits.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NoopInput, NoopProgress } from '../../src/contracts/noop';
import { failureMessage } from '../../src/temporal/failures';
import { taskQueueFor } from '../../src/temporal/ids';
import { FwState, FwTargetVersion } from '../../src/temporal/search-attributes';
import { noopMessages } from '../../src/workflows/messages';
import { writeFixtureCluster } from '../helpers/fixtures';
import { temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'wf-noop';
let client: Client;
let workers: RunningWorkers;
let seq = 0;

beforeAll(async () => {
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  workers = await startWorkers([writeFixtureCluster({ name: CLUSTER })]);
});
afterAll(async () => {
  await workers?.stop();
  await client?.connection.close();
});

async function start(input: Partial<NoopInput>) {
  const handle = await client.workflow.start('noop', {
    taskQueue: taskQueueFor(CLUSTER),
    workflowId: `fw/${CLUSTER}/change-${++seq}`,
    args: [{ cluster: CLUSTER, ...input }],
  });
  return { handle, result: () => handle.result() as Promise<NoopProgress> };
}

async function fwState(id: string): Promise<string | undefined> {
  return (await client.workflow.getHandle(id).describe()).typedSearchAttributes.get(FwState);
}

const awaiting = (h: Awaited<ReturnType<typeof start>>['handle']) =>
  waitFor(
    'the run to await approval',
    async () => (await h.query(noopMessages.progress)).state === 'awaiting-approval',
  );

describe('noop (changeRun)', () => {
  it('approved up front: plans, passes its gate, runs every step and completes; FwState says so', async () => {
    const run = await start({ approved: true, steps: ['a', 'b'] });
    const p = await run.result();
    expect(p).toMatchObject({
      state: 'completed',
      checks: [{ id: 'noop', status: 'pass' }],
      steps: [
        { name: 'a', status: 'done' },
        { name: 'b', status: 'done' },
      ],
    });
    expect(p.planHash).not.toBe('');
    expect(await fwState(run.handle.workflowId)).toBe('completed');
    // noop pins no target version: FwTargetVersion is only upserted by runs that have one.
    expect((await run.handle.describe()).typedSearchAttributes.get(FwTargetVersion)).toBeUndefined();
  });

  it('waits for approval of the plan it shows: another hash is refused, the shown one runs it', async () => {
    const run = await start({ steps: ['x'] });
    await awaiting(run.handle);
    expect(await fwState(run.handle.workflowId)).toBe('awaiting-approval');
    const shown = await run.handle.query(noopMessages.progress);
    expect(shown.steps).toEqual([{ name: 'x', status: 'pending' }]);
    const stale = await run.handle
      .executeUpdate(noopMessages.approve, { args: [{ planHash: 'not-the-plan' }] })
      .catch((e: unknown) => e);
    expect(failureMessage(stale)).toMatch(/the plan changed since it was shown/);
    await run.handle.executeUpdate(noopMessages.approve, { args: [{ planHash: shown.planHash, operator: 'alice' }] });
    expect(await run.result()).toMatchObject({ state: 'completed', steps: [{ name: 'x', status: 'done' }] });
  });

  it('a cancel before approval ends it as cancelled with nothing run', async () => {
    const run = await start({});
    await awaiting(run.handle);
    await run.handle.executeUpdate(noopMessages.cancel, { args: [{ reason: 'changed my mind' }] });
    const p = await run.result();
    expect(p).toMatchObject({ state: 'cancelled', steps: [{ name: 'one', status: 'pending' }] });
    expect(await fwState(run.handle.workflowId)).toBe('cancelled');
  });

  it('a refusing gate ends it as refused before approval; a dry-run plans and stops', async () => {
    const refused = await (await start({ refuse: 'not today' })).result();
    expect(refused).toMatchObject({
      state: 'refused',
      checks: [{ id: 'noop', status: 'refuse', detail: 'not today' }],
      steps: [{ status: 'pending' }],
    });
    const dry = await start({ dryRun: true, steps: ['a'] });
    expect(await dry.result()).toMatchObject({ state: 'dry-run', steps: [{ name: 'a', status: 'pending' }] });
    expect(await fwState(dry.handle.workflowId)).toBe('dry-run');
  });

  it('an unapproved run expires after its approval timeout; nothing to do completes at once', async () => {
    const expired = await (await start({ approvalTimeout: '1 second' })).result();
    expect(expired).toMatchObject({ state: 'expired', steps: [{ status: 'pending' }] });
    const empty = await (await start({ steps: [] })).result();
    expect(empty).toMatchObject({ state: 'completed', steps: [] });
  });

  it('refuses an invalid input by naming the key (not zod JSON)', async () => {
    const run = await start({ approvalTimeout: 'soon' });
    const err = await run.result().catch((e: unknown) => e);
    expect(failureMessage(err)).toMatch(/invalid noop input: approvalTimeout: /);
  });
});
