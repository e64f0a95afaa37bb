// A CLI following a run while Temporal is unreachable (src/cli/reconnect.ts): it says so once with the reattach
// command, carries on when the server answers again, and gives up with exit code 3 and the same command.
import { describe, expect, it } from 'vitest';
import { ExitError } from '../../src/errors';
import { isTemporalUnreachable, reconnecting } from '../../src/cli/reconnect';

const unavailable = (): Error => Object.assign(new Error('14 UNAVAILABLE: Connection refused'), { code: 14 });

describe('reconnecting', () => {
  it('classifies transport failures, not refusals', () => {
    expect(isTemporalUnreachable(unavailable())).toBe(true);
    expect(isTemporalUnreachable(new Error('wrapped', { cause: unavailable() }))).toBe(true);
    expect(isTemporalUnreachable(new Error('workflow not found'))).toBe(false);
    expect(isTemporalUnreachable(Object.assign(new Error('5 NOT_FOUND: no such run'), { code: 5 }))).toBe(false);
  });

  it('tells the operator once, retries, and says when it is back', async () => {
    const said: string[] = [];
    let calls = 0;
    const read = reconnecting(
      () => {
        calls++;
        return calls < 3 ? Promise.reject(unavailable()) : Promise.resolve('progress');
      },
      { reattach: 'frameworks cluster runs watch fw/x/change', say: (l) => said.push(l), retryMs: 1 },
    );
    expect(await read()).toBe('progress');
    expect(calls).toBe(3);
    expect(said).toHaveLength(2);
    expect(said[0]).toMatch(/^Lost contact with Temporal \(14 UNAVAILABLE: Connection refused\)\. The run continues/);
    expect(said[0]).toContain('Reattach later with: frameworks cluster runs watch fw/x/change');
    expect(said[1]).toBe('Reconnected to Temporal; following the run again.');
  });

  it('gives up after the window with exit code 3 and the reattach command; other errors pass through', async () => {
    const gone = reconnecting(() => Promise.reject(unavailable()), {
      reattach: 'frameworks cluster runs watch fw/x/change',
      say: () => {},
      windowMs: 5,
      retryMs: 1,
    });
    const err = await gone().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExitError);
    expect((err as ExitError).exitCode).toBe(3);
    expect((err as Error).message).toContain('Reattach with: frameworks cluster runs watch fw/x/change');
    const refused = reconnecting(() => Promise.reject(new Error('workflow not found')), { reattach: 'x' });
    await expect(refused()).rejects.toThrow('workflow not found');
  });
});
