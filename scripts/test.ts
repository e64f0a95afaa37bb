// `npm test`: the whole suite (unit, workflow, integration, replay) against the real servers that
// vitest's global setup starts, then one plain summary line `N passed, N failed` for CI.
// Extra arguments go to vitest (e.g. `npm test -- test/unit`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DepsError, ensureAll } from './deps';

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numTotalTests: number;
  success: boolean;
}

// A fresh Debian machine lacks sshd, dockerd, the registry…: install them first (as root), or say what to run.
// FW_TEST_SERVERS=none (unit-only runs while editing) needs none of them.
if (process.env.FW_TEST_SERVERS !== 'none') {
  try {
    ensureAll();
  } catch (err) {
    console.error(err instanceof DepsError ? err.message : err);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

const root = resolve(__dirname, '..');
const artifacts = join(root, 'test-artifacts');
mkdirSync(artifacts, { recursive: true });
const report = join(artifacts, 'vitest-report.json');
rmSync(report, { force: true });

const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const r = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: root, env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(report)) {
  const json = JSON.parse(readFileSync(report, 'utf8')) as VitestJson;
  passed = json.numPassedTests;
  failed = json.numFailedTests;
  skipped = json.numPendingTests + json.numTodoTests;
}
// A run that crashed before reporting, or that reports failure with zero failed tests (e.g. a suite that did
// not load), still counts as a failure.
if (r.status !== 0 && failed === 0) failed = 1;
if (skipped > 0) console.log(`${skipped} skipped (not counted as passed)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(r.status === 0 && failed === 0 ? 0 : 1);
