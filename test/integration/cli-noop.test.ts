// `frameworks cluster noop` as an operator runs it (real processes, a real worker): the one runChange path every
// mutating command shares — start on the change lock, follow, approve, render, exit codes — and `runs watch`
// reattaching through the same followChange.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NoopProgress } from '../../src/contracts/noop';
import { noopMessages } from '../../src/workflows/messages';
import { frameworksAsync } from '../helpers/cli';
import { writeFixtureCluster } from '../helpers/fixtures';
import { temporalAddress } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { startWorkers, type RunningWorkers } from '../helpers/worker';

const CLUSTER = 'cli-noop';
let workers: RunningWorkers;
let manifest: string;

const noop = (...args: string[]) =>
  frameworksAsync(
    ['cluster', 'noop', '--manifest', manifest, ...args],
    { TEMPORAL_ADDRESS: temporalAddress() },
    60_000,
  );
const text = (r: { stdout: string; stderr: string }): string => `${r.stdout}\n${r.stderr}`;

beforeAll(async () => {
  manifest = writeFixtureCluster({ name: CLUSTER });
  workers = await startWorkers([manifest]);
});
afterAll(async () => {
  await workers?.stop();
});

describe('frameworks cluster noop (runChange)', () => {
  it('--yes: runs on the change lock, prints the gate and each step, exits 0', async () => {
    const r = await noop('--yes', '--steps', 'a,b');
    expect(r.code, text(r)).toBe(0);
    expect(r.stdout).toContain(`Run fw/${CLUSTER}/change`);
    expect(r.stdout).toContain('[gate] noop gate: ok — 2 step(s), none changes anything');
    expect(r.stdout).toContain('✓ a: done');
    expect(r.stdout).toContain('✓ b: done');
    expect(r.stdout).toContain('[OK] noop: 2 step(s) done; nothing changed');
  });

  it('a refusing gate: the refusal and its fix are printed, exit 1', async () => {
    const r = await noop('--yes', '--refuse', 'not today');
    expect(r.code, text(r)).toBe(1);
    expect(r.stdout).toContain('[gate] noop gate: REFUSE — not today');
    expect(r.stdout).toContain('fix: run it without --refuse');
    expect(r.stderr).toContain('[FAIL] noop refused');
  });

  it('--dry-run --json: a read-only id (no lock) and the final progress as JSON', async () => {
    const r = await noop('--dry-run', '--json', '--steps', 'x');
    expect(r.code, text(r)).toBe(0);
    const p = JSON.parse(r.stdout) as NoopProgress & { run: { workflowId: string } };
    expect(p).toMatchObject({ state: 'dry-run', steps: [{ name: 'x', status: 'pending' }] });
    expect(p.run.workflowId).toMatch(new RegExp(`^fw/${CLUSTER}/noop-dry-run/`));
  });

  it('without a terminal and without --yes it refuses before starting anything', async () => {
    const r = await noop();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no terminal to ask for approval on: pass --yes to approve, or --dry-run to preview');
  });

  it('--detach starts it; `runs watch` reattaches, approves nothing by itself, and reports the end', async () => {
    const started = await noop('--detach');
    expect(started.code, text(started)).toBe(0);
    expect(started.stdout).toContain(`Started; follow it with: frameworks cluster runs watch fw/${CLUSTER}/change`);
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    try {
      const handle = client.workflow.getHandle(`fw/${CLUSTER}/change`);
      await waitFor(
        'the detached run to await approval',
        async () => (await handle.query(noopMessages.progress)).state === 'awaiting-approval',
      );
      const watching = frameworksAsync(['cluster', 'runs', 'watch', `fw/${CLUSTER}/change`], {
        TEMPORAL_ADDRESS: temporalAddress(),
      });
      const p = await handle.query(noopMessages.progress);
      await handle.executeUpdate(noopMessages.approve, { args: [{ planHash: p.planHash }] });
      const watched = await watching;
      expect(watched.code, text(watched)).toBe(0);
      expect(watched.stdout).toContain('✓ one: done');
      expect(watched.stdout).toContain(`fw/${CLUSTER}/change completed`);
    } finally {
      await client.connection.close();
    }
  });

  it('`runs cancel` cancels a run awaiting approval through its cancel update', async () => {
    const started = await noop('--detach');
    expect(started.code, text(started)).toBe(0);
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    try {
      const handle = client.workflow.getHandle(`fw/${CLUSTER}/change`);
      await waitFor(
        'the detached run to await approval',
        async () => (await handle.query(noopMessages.progress)).state === 'awaiting-approval',
      );
      const r = await frameworksAsync(['cluster', 'runs', 'cancel', `fw/${CLUSTER}/change`], {
        TEMPORAL_ADDRESS: temporalAddress(),
      });
      expect(r.code, text(r)).toBe(0);
      expect(r.stdout).toContain('cancelled before changing anything');
      expect(((await handle.result()) as NoopProgress).state).toBe('cancelled');
    } finally {
      await client.connection.close();
    }
  });
});
