// The shared test helpers that guard other tests: waitFor fails loudly instead of falling through, and a
// captured history never replaces one already checked in.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newHistoryPath } from '../helpers/history';
import { waitFor } from '../helpers/wait';

describe('waitFor', () => {
  it('returns the first value that is not undefined, null or false', async () => {
    let n = 0;
    await expect(waitFor('n to reach 3', () => (++n >= 3 ? n : false), { intervalMs: 1 })).resolves.toBe(3);
  });

  it('throws on timeout, naming what it waited for and the last error', async () => {
    await expect(
      waitFor(
        'the moon',
        () => {
          throw new Error('not yet');
        },
        { timeoutMs: 30, intervalMs: 5 },
      ),
    ).rejects.toThrow(/timed out after 30 ms waiting for the moon \(last error: not yet\)/);
  });
});

describe('newHistoryPath', () => {
  it('uses the plain name once, then dated names, never an existing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-histories-'));
    const day = new Date('2026-12-02T12:00:00Z');
    expect(newHistoryPath('dm', dir, day)).toBe(join(dir, 'dm.json'));
    writeFileSync(join(dir, 'dm.json'), '{}');
    expect(newHistoryPath('dm', dir, day)).toBe(join(dir, 'dm-2026-12-02.json'));
    writeFileSync(join(dir, 'dm-2026-12-02.json'), '{}');
    expect(newHistoryPath('dm', dir, day)).toBe(join(dir, 'dm-2026-12-02-2.json'));
  });
});
