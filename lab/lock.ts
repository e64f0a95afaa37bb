// The lab uses fixed addresses and namespace names, so whoever brings it up (a test file, the demo, a benchmark)
// must not overlap with another even when vitest runs files in parallel. A directory lock held for the whole use.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const LOCK = join(resolve(__dirname, '..'), '.data', 'lab-test.lock');

export async function acquireLabForTest(timeoutMs = 20 * 60_000): Promise<void> {
  mkdirSync(resolve(LOCK, '..'), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`another test file held the lab for ${timeoutMs} ms (${LOCK})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export function releaseLabForTest(): void {
  rmSync(LOCK, { recursive: true, force: true });
}
