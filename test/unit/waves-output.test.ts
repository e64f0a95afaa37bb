// The operator sees the waves: `upgrade plan` prints them, and a --parallel run prints them with its bound.
import { describe, expect, it } from 'vitest';
import type { UpgradePlanReport } from '../../src/contracts/plan';
import type { ClusterUpgradeProgress } from '../../src/contracts/upgrade';
import { renderUpgradeProgress } from '../../src/cli/commands/upgrade';
import { printUpgradePlan } from '../../src/cli/commands/upgrade-plan';
import { createOutput } from '../../src/cli/output';

const WAVES = [['quartermaster'], ['commodore'], ['foghorn', 'purser'], ['bridge']];

describe('waves in CLI output', () => {
  it('upgrade plan lists the waves', () => {
    let text = '';
    const stream = { isTTY: false, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
    const report = {
      clusterChannel: 'stable',
      selector: 'v0.2.0',
      platformVersion: 'v0.2.0',
      release: { gitCommit: 'abc', releaseDate: '2026-01-01', path: '/r', fromCache: false, stale: false },
      warnings: [],
      order: WAVES.flat(),
      waves: WAVES,
      excluded: [],
      targets: [],
      rollbackDisabled: [],
      migrations: null,
      checks: [],
      refused: false,
      suggestedFlow: [],
      run: { workflowId: 'fw/x/plan/1', runId: 'r' },
    } as unknown as UpgradePlanReport;
    printUpgradePlan(createOutput({ color: false, stdout: stream, stderr: stream }), report);
    expect(text).toContain('Waves (services of one wave may upgrade at once with --parallel N):');
    expect(text).toContain('  wave 3: foghorn, purser\n');
    expect(text).toContain('  wave 4: bridge\n');
  });

  it('a --parallel run shows its waves and bound; a sequential one does not', () => {
    const p = {
      target: 'v0.2.0',
      order: WAVES.flat(),
      waves: WAVES,
      parallel: 1,
      checks: [],
      warnings: [],
      preview: [],
      services: [],
      state: 'upgrading',
    } as unknown as ClusterUpgradeProgress;
    expect(renderUpgradeProgress(p).join('\n')).not.toContain('wave');
    const lines = renderUpgradeProgress({ ...p, parallel: 3 });
    expect(lines).toContain('Waves (at most 3 service(s) at once):');
    expect(lines).toContain('  wave 3: foghorn, purser');
  });
});
