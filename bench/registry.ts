// The benchmark table: name, what it needs started, and a lazy loader, so `npm run bench -- <name>` loads
// (and starts servers for) only what it runs. Add new benchmarks here.
import type { Benchmark, Need } from './types';

export interface BenchmarkEntry {
  name: string;
  summary: string;
  needs: Need[];
  load(): Promise<Benchmark>;
}

export const BENCHMARKS: BenchmarkEntry[] = [
  {
    name: 'migrate',
    summary: '1,000 small migrations via the schemaMigrate workflow vs psql running the same files (SPEC §12)',
    needs: ['postgres', 'temporal'],
    load: async () => (await import('./migrate')).migrateBenchmark,
  },
  {
    name: 'data-migrate',
    summary: 'rows/s of the dataMigration workflow vs a plain keyset loop and set-based SQL; pause latency (SPEC §12)',
    needs: ['postgres', 'temporal'],
    load: async () => (await import('./data-migrate')).dataMigrateBenchmark,
  },
  {
    name: 'upgrade-noop',
    summary: 'no-op upgrade --all, 100 services × 3 lab hosts: wall time (aim ≤ 3 s), activity round trips',
    needs: ['temporal'],
    load: async () => (await import('./upgrade-noop')).upgradeNoopBenchmark,
  },
  {
    name: 'upgrade-lab',
    summary:
      'real upgrade, N services × 3 lab hosts healthy after d: sequential ≤ 1.3× Σ restart-to-healthy, --parallel ≤ 1.3× critical path, rollback of that upgrade ≤ 1.3× Σ restart-to-healthy',
    needs: ['temporal'],
    load: async () => (await import('./upgrade-lab')).upgradeLabBenchmark,
  },
  {
    name: 'rollback',
    summary:
      'diagnostic on the demo lab: cluster rollback of v0.1.0 → v0.2.0 vs the replicas’ own restart-to-healthy (the issue’s target row: upgrade-lab)',
    needs: ['temporal'],
    load: async () => (await import('./rollback')).rollbackBenchmark,
  },
];
