// follow() (src/cli/follow.ts) reads a run's progress every poll interval; when the run closes it reads once more
// AT ONCE instead of up to an interval later (issue 12: the CLI's share of an upgrade's wall time). A fake handle
// stands in for Temporal; the interval is an hour, so a follow that waited it out would never end in this test.
import type { WorkflowHandle } from '@temporalio/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { follow } from '../../src/cli/follow';

interface Fake {
  handle: WorkflowHandle;
  close: () => void;
  signals: AbortSignal[];
}

function fakeHandle(): Fake {
  let close!: () => void;
  const result = new Promise<void>((r) => (close = r));
  const signals: AbortSignal[] = [];
  const client = {
    withAbortSignal: <R>(signal: AbortSignal, fn: () => Promise<R>) => {
      signals.push(signal);
      return fn();
    },
  };
  return { handle: { client, result: () => result } as unknown as WorkflowHandle, close, signals };
}

const printed: string[] = [];
beforeEach(() => {
  printed.length = 0;
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

describe('follow', () => {
  it('reads the progress again as soon as the run closes, not a poll interval later', async () => {
    const fake = fakeHandle();
    let state = 'running';
    let reads = 0;
    const followed = follow({
      handle: fake.handle,
      query: () => {
        reads++;
        return Promise.resolve({ state });
      },
      render: (p) => [`state ${p.state}`],
      done: (p) => p.state === 'completed',
      pollMs: 3_600_000,
      reattach: 'frameworks cluster runs watch x',
    });
    await vi.waitFor(() => expect(reads).toBe(1));
    state = 'completed';
    fake.close();
    await expect(followed).resolves.toEqual({ state: 'completed' });
    expect(reads).toBe(2);
    expect(printed).toEqual(['state running\n', 'state completed\n']);
    // The long poll on the result was given up when following ended.
    expect(fake.signals).toHaveLength(1);
    expect(fake.signals[0]!.aborted).toBe(true);
  });

  it('a progress still not terminal after the close is read again after the interval, not in a loop', async () => {
    vi.useFakeTimers();
    try {
      const fake = fakeHandle();
      let reads = 0;
      const followed = follow({
        handle: fake.handle,
        query: () => Promise.resolve({ state: ++reads >= 4 ? 'completed' : 'running' }),
        render: () => [],
        done: (p) => p.state === 'completed',
        pollMs: 1_000,
        reattach: 'x',
      });
      fake.close();
      await vi.advanceTimersByTimeAsync(0);
      // Read 1, then the close woke the wait for read 2; read 3 waits the interval.
      expect(reads).toBe(2);
      await vi.advanceTimersByTimeAsync(999);
      expect(reads).toBe(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(reads).toBe(3);
      await vi.advanceTimersByTimeAsync(1_000);
      await expect(followed).resolves.toEqual({ state: 'completed' });
    } finally {
      vi.useRealTimers();
    }
  });
});
