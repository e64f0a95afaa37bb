// `npm run bench [-- <name>…]`: runs the selected benchmarks (all by default), starting PostgreSQL and — only
// when a selected benchmark needs it — the Temporal dev server with in-process workers; writes
// bench/results/<name>.json, regenerates bench/results/README.md, prints a summary and stops everything it
// started. Exit code: 0 when every benchmark ran (a missed target is reported, not an error); 1 when a benchmark
// or the setup failed; 2 for bad arguments.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Cleanup, revision, startPostgres } from './infra';
import { describeMachine } from './machine';
import { BENCHMARKS, type BenchmarkEntry } from './registry';
import { formatRatio, formatValue, writeReadme, writeResult } from './report';
import { meets, type BenchContext, type BenchResult, type TemporalEnv } from './types';

const log = (line: string): void => console.error(`[bench] ${line}`);

function usage(): string {
  return [
    'usage: npm run bench [-- <benchmark>…]',
    '',
    'benchmarks:',
    ...BENCHMARKS.map((b) => `  ${b.name.padEnd(12)} ${b.summary}`),
    '',
    'environment: DATABASE_URL (use that PostgreSQL), TEMPORAL_ADDRESS (use that Temporal), BENCH_PG_FAST=1',
    '(fsync off on the private PostgreSQL), BENCH_REPS, BENCH_MIGRATE_COUNT (smaller runs while developing),',
    'BENCH_SOURCE_COMMIT (the commit of a tree exported with `git archive`, which has no .git to ask).',
  ].join('\n');
}

function select(args: string[]): BenchmarkEntry[] | string {
  const names = args.filter((a) => a !== '--');
  if (names.some((a) => a === '-h' || a === '--help')) return usage();
  if (names.length === 0) return BENCHMARKS;
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    return `unknown benchmark ${unknown.map((u) => `"${u}"`).join(', ')} (known: ${BENCHMARKS.map((b) => b.name).join(', ')})\n\n${usage()}`;
  }
  return BENCHMARKS.filter((b) => names.includes(b.name));
}

function summarise(result: BenchResult): string[] {
  const lines = [`${result.name}: target ${result.target.text} — ${result.met ? 'MET' : 'MISSED'}`];
  for (const c of result.comparisons) {
    lines.push(
      `  ${c.metric}: ${formatValue(c.ours, c.unit)} (${c.oursLabel}) vs ${formatValue(c.baseline, c.unit)} ` +
        `(${c.baselineLabel}) = ${formatRatio(c.ratio)}${c.target ? ` [target ${c.target.op} ${c.target.value}×]` : ''}`,
    );
  }
  for (const f of result.findings) lines.push(`  - ${f}`);
  return lines;
}

async function runAll(entries: BenchmarkEntry[], cleanup: Cleanup, workDir: string): Promise<boolean> {
  const needs = new Set(entries.flatMap((e) => e.needs));
  const postgresUrl = await startPostgres(cleanup, log);
  let temporal: TemporalEnv | undefined;
  let temporalBinary: string | undefined;
  if (needs.has('temporal')) {
    // Loaded lazily: the worker pulls in every workflow and activity of src/.
    const { startTemporal } = await import('./temporal');
    const t = await startTemporal(cleanup, workDir, log);
    temporal = t.env;
    temporalBinary = t.binary;
  }
  const machine = await describeMachine({ postgresUrl, ...(temporalBinary ? { temporalBinary } : {}) });

  let allRan = true;
  const summary: string[] = [];
  for (const entry of entries) {
    log(`── ${entry.name}: ${entry.summary}`);
    const ctx: BenchContext = {
      postgresUrl,
      ...(entry.needs.includes('temporal') && temporal ? { temporal } : {}),
      workDir: mkdtempSync(join(workDir, `${entry.name}-`)),
      log: (line) => log(`${entry.name}: ${line}`),
    };
    try {
      const bench = await entry.load();
      const outcome = await bench.run(ctx);
      const comparisons = outcome.comparisons.map((c) =>
        c.target ? { ...c, met: meets(c.target, c.ratio) } : { ...c },
      );
      const judged = comparisons.find((c) => c.metric === outcome.target.metric);
      if (!judged) throw new Error(`${entry.name}: no comparison named "${outcome.target.metric}" for its target`);
      const result: BenchResult = {
        name: entry.name,
        date: new Date().toISOString(),
        machine,
        revision: revision(),
        ...outcome,
        comparisons,
        ratios: Object.fromEntries(comparisons.map((c) => [c.metric, c.ratio])),
        met: meets(outcome.target, judged.ratio),
      };
      const path = writeResult(result);
      log(`wrote ${relative(process.cwd(), path)}`);
      summary.push(...summarise(result));
    } catch (err) {
      allRan = false;
      log(`${entry.name} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      summary.push(`${entry.name}: FAILED (no result written)`);
    }
  }
  log(`wrote ${relative(process.cwd(), writeReadme())}`);
  console.log(['', 'Benchmark summary', ...summary].join('\n'));
  return allRan;
}

async function main(): Promise<number> {
  const selected = select(process.argv.slice(2));
  if (typeof selected === 'string') {
    const help = selected.startsWith('usage:');
    (help ? console.log : console.error)(selected);
    return help ? 0 : 2;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'fw-bench-'));
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping what the bench started`);
    void cleanup.run(log).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let ok = false;
  try {
    ok = await runAll(selected, cleanup, workDir);
  } catch (err) {
    log(`setup failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    const cleaned = await cleanup.run(log);
    rmSync(workDir, { recursive: true, force: true });
    if (!cleaned) ok = false;
  }
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
