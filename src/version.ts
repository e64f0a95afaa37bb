// The orchestrator's own version: what `min_cli_version` in a release is compared against.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function readVersion(): string {
  // src/version.ts (tsx) and lib/version.js (built) both sit one level below package.json.
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return `v${pkg.version}`;
}

export const ORCHESTRATOR_VERSION: string = process.env.FRAMEWORKS_VERSION_OVERRIDE ?? readVersion();
