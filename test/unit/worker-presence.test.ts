// Worker presence from the pollers Temporal lists: an idle live worker's last poll start can be ~60 s old (a
// long poll), a dead worker's stays listed for minutes; only a poll within the window counts.
import { describe, expect, it } from 'vitest';
import { judgePresence, noWorkerMessage, POLL_WINDOW_MS } from '../../src/cli/worker-presence';

describe('judgePresence', () => {
  const now = Date.parse('2026-12-02T16:00:00Z');
  it('no pollers: absent', () => {
    expect(judgePresence([], now)).toEqual({ polling: false, lastPollAt: null });
    expect(judgePresence([null], now)).toEqual({ polling: false, lastPollAt: null });
  });
  it('a poll started 58 s ago (an idle worker mid long-poll) counts; the newest poller decides', () => {
    expect(judgePresence([now - 200_000, now - 58_000], now)).toEqual({
      polling: true,
      lastPollAt: '2026-12-02T15:59:02.000Z',
    });
  });
  it('a poller last seen beyond the window is a worker that is gone, even though Temporal still lists it', () => {
    const r = judgePresence([now - POLL_WINDOW_MS - 1_000], now);
    expect(r.polling).toBe(false);
    expect(noWorkerMessage({ taskQueue: 'fw-lab', ...r }, '/c/cluster.yaml')).toMatch(
      /^no worker is polling fw-lab \(the last poll Temporal recorded was at .*, \d+ s ago\): start one with `frameworks worker --manifest \/c\/cluster.yaml`$/,
    );
  });
});
