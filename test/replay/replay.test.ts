// Every captured history (real runs on the dev server) must replay against the current workflow code: a change
// that would break determinism for in-flight runs fails here. Recapture with FW_CAPTURE_HISTORIES=1.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../helpers/worker';

const dir = join(__dirname, 'histories');
/**
 * The workflow id a history ran under, where the workflow derives ids from its own (release names its children
 * `<its id>/…`); other histories replay under their file name.
 */
const WORKFLOW_IDS: Record<string, string> = { 'release-v0.2.0.json': 'fw/lab/change' };
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('replay of captured histories', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      const history: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      await expect(
        Worker.runReplayHistory(
          { workflowBundle: await workflowBundle() },
          history,
          WORKFLOW_IDS[file] ?? file.replace(/\.json$/, ''),
        ),
      ).resolves.toBeUndefined();
    });
  }
});
