// The migrate benchmark's "where the time goes", as sentences built from the measured numbers only (the
// README is regenerated on every run, so nothing here may be a number typed by hand — except Temporal's
// documented server limits, cited).
import type { ApplyCosts } from './migrate-db';
import type { MigrateRun } from './migrate';
import { VARIANTS, type DispatchProbe } from './migrate-sides';
import { median } from './types';

export interface FindingsInput {
  count: number;
  /** Median wall times (ms). */
  ours: number;
  perFile: number;
  session: number;
  direct: number;
  floor: number;
  runs: MigrateRun[];
  workflowRuns: MigrateRun[];
  floorRuns: MigrateRun[];
  costs: ApplyCosts;
  probe: DispatchProbe;
  target: number;
  cores: number;
}

/** Temporal server defaults (dynamicconfig constants.go `limit.historyCount.*`). */
const HISTORY_SUGGEST_CAN = 4096;
const HISTORY_WARN = 10_240;
const HISTORY_ERROR = 51_200;
/** Payload (blob) size limits: warning and hard error (docs.temporal.io, self-hosted defaults). */
const BLOB_WARN = 256 * 1024;
const BLOB_ERROR = 2 * 1024 * 1024;

const ms = (v: number, digits = 2): string => `${v.toFixed(digits)} ms`;
const s = (v: number): string => `${(v / 1000).toFixed(2)} s`;
const pct = (part: number, whole: number): string => `${Math.round((100 * part) / whole)}%`;
const x2 = (v: number): string => `${v.toFixed(2)}×`;
const mean = (sp: { totalMs: number; count: number }): number => (sp.count > 0 ? sp.totalMs / sp.count : 0);

/** The workflow repetition whose wall time is the median one (its history is the one described). */
function medianRun(runs: MigrateRun[]): MigrateRun | undefined {
  const m = median(runs.map((r) => r.wallMs));
  return [...runs].sort((a, b) => Math.abs(a.wallMs - m) - Math.abs(b.wallMs - m))[0];
}

/** A warning when the machine was busy with other work: the per-side spread and the load seen. */
function noise(x: FindingsInput): string | undefined {
  const loads = x.runs.flatMap((r) => r.load1);
  const maxLoad = Math.max(...loads);
  const spreads = VARIANTS.map((v) => {
    const walls = x.runs.filter((r) => r.variant === v).map((r) => r.wallMs);
    return { v, spread: Math.max(...walls) / Math.min(...walls) };
  });
  const worst = spreads.sort((a, b) => b.spread - a.spread)[0];
  if (maxLoad <= x.cores && (worst?.spread ?? 1) < 1.25) return undefined;
  return (
    `Noise: the 1-minute load average reached ${maxLoad.toFixed(1)} on ${x.cores} cores during the runs (other ` +
    `work shared the machine), and repetitions of one side differ by up to ${x2(worst?.spread ?? 1)} ` +
    `(${worst?.v ?? '?'}). Sides ran interleaved in rotating order and the ratio uses medians, which damps ` +
    `but does not remove this; rerun on an idle machine for tighter numbers.`
  );
}

export function explain(x: FindingsInput): string[] {
  const n = x.count;
  const ratio = x.ours / x.perFile;
  const met = ratio <= x.target;
  const out: string[] = [
    `Result: the workflow took ${s(x.ours)} against ${s(x.perFile)} for psql with one process per file — ` +
      `${x2(ratio)}, target ≤ ${x.target}× ${met ? 'met' : 'MISSED'}. Per migration (medians of ${x.workflowRuns.length}): ` +
      `workflow ${ms(x.ours / n)}, psql per file ${ms(x.perFile / n)}, psql one session ${ms(x.session / n)} ` +
      `(the SQL floor: same lock, ledger check, file and ledger row, one connection), our apply code without ` +
      `Temporal ${ms(x.direct / n)}.`,
  ];
  const quiet = noise(x);
  if (quiet) out.push(quiet);
  const run = medianRun(x.workflowRuns);
  const h = run?.history;
  if (!run || !h || h.applyActivities === 0) return out;
  const floorRun = medianRun(x.floorRuns);
  const fh = floorRun?.history;
  const code = (run.activityCode?.totalMs ?? 0) / n;
  const floorRatio = x.floor / x.perFile;
  if (fh) {
    const above = x.ours / n - x.floor / n;
    const walls = x.floorRuns.map((r) => r.wallMs);
    const floorSpread = Math.max(...walls) / Math.min(...walls) - 1;
    out.push(
      `Temporal's floor on this server: a workflow that only calls a no-op activity ${n} times in sequence ` +
        `takes ${s(x.floor)}, ${ms(x.floor / n)} per activity (workflow task dispatch ` +
        `${ms(mean(fh.workflowTaskDispatch))}, workflow task run ${ms(mean(fh.workflowTaskRun))}, means) — ` +
        `${x2(floorRatio)} psql per file with no database work at all. The workflow spends ${ms(x.ours / n)} per ` +
        `migration, ${ms(above)} above that floor although its activity code takes ${ms(code)}` +
        (above < code
          ? `: on this server the activity's own time mostly overlaps a wait the floor pays anyway (workflow task ` +
            `dispatch ${ms(mean(h.workflowTaskDispatch))} in ours vs ${ms(mean(fh.workflowTaskDispatch))} in the floor).`
          : '.') +
        (walls.length > 1 && floorSpread < 0.02
          ? ` The floor's repetitions agree to within ${(floorSpread * 100).toFixed(2)}% while the machine's ` +
            'load moved: a fixed wait per activity, not CPU.'
          : ''),
    );
    const p = x.probe;
    out.push(
      `Dispatch probe (${p.activities} no-op activities): a workflow task reaches the worker in ` +
        `${ms(p.sticky.medianMs, 0)} (median; mean ${ms(p.sticky.meanMs)}) through the worker's sticky queue — ` +
        `the default, and what schemaMigrate uses — but in ${ms(p.nonSticky.medianMs, 0)} (mean ` +
        `${ms(p.nonSticky.meanMs)}) through the normal queue with sticky execution off. ` +
        (p.sticky.meanMs > 4 * Math.max(1, p.nonSticky.meanMs)
          ? `So most of the floor on this server is the sticky-queue hand-off (Temporal server and TypeScript ` +
            `SDK versions as listed above), not the activities; turning sticky off is no remedy — every task then ` +
            `replays the whole history (${ms(p.nonSticky.perActivityMs)} per activity here, growing with the run).`
          : 'Sticky and normal queue dispatch cost about the same here.'),
    );
  }
  const dispatch = mean(h.dispatch);
  const execute = mean(h.execute);
  const turnaround = mean(h.turnaround);
  const wftDispatch = mean(h.workflowTaskDispatch);
  const wftRun = mean(h.workflowTaskRun);
  const sdk = Math.max(0, execute - code);
  const orchestration = dispatch + turnaround + sdk;
  out.push(
    `Of the median workflow run (${s(run.wallMs)}), planning — five read activities: describe, catalog, discovery ` +
      `with a SHA-256 of every file, ledger read, previews — took ${ms(h.planningMs, 0)} ` +
      `(${pct(h.planningMs, run.wallMs)}); applying took ${s(h.applyPhaseMs)} (${pct(h.applyPhaseMs, run.wallMs)}), ` +
      `${ms(h.applyPhaseMs / n)} per migration.`,
    `Per migration, from the server's history timestamps (means; the dev server stamps whole milliseconds): ` +
      `activity dispatch scheduled→started ${ms(dispatch)}${dispatch < 0.5 ? ' (eager dispatch: the activity comes back with the workflow task completion, default maxEagerActivityReservationsPerWorkflowTask)' : ''}; activity started→completed ${ms(execute)}, of which ` +
      `our activity code (connect → commit, its own durationMs) ${ms(code)} and the SDK/gRPC round trip ` +
      `${ms(sdk)}; then the workflow turnaround completed→next scheduled ${ms(turnaround)} — one workflow task: ` +
      `server hands it to the worker in ${ms(wftDispatch)}, the worker runs the workflow code and reports back ` +
      `in ${ms(wftRun)}. Orchestration (everything but our activity code) is ${ms(orchestration)} per migration ` +
      `= ${s(orchestration * n)} for ${n}, ${pct(orchestration * n, run.wallMs)} of the run.`,
    `Inside the activity: ${ms(code)} against the SQL floor of ${ms(x.session / n)}. Two fixed costs per ` +
      `migration that the session never pays: a fresh connection, ${ms(x.costs.connectMs)} (withClient opens and ` +
      `closes one per activity), and ensureLedger on an existing ledger, ${ms(x.costs.ensureLedgerMs)} ` +
      `(CREATE TABLE IF NOT EXISTS, two ALTER TABLE … ADD COLUMN IF NOT EXISTS — each takes an ACCESS EXCLUSIVE ` +
      `lock on _migrations — and a pg_constraint query, every time). Our apply code in a plain loop is ` +
      `${x2(x.direct / x.session)} the session floor and ${x2(x.direct / x.perFile)} psql per file.`,
  );
  const budget = (x.target * x.perFile) / n;
  if (met) {
    out.push(
      `The target leaves ${ms(budget)} per migration (${x.target} × psql per file); the workflow used ` +
        `${ms(x.ours / n)}, of which ${ms(orchestration)} is orchestration.`,
    );
  } else {
    out.push(
      `Why it misses: ≤ ${x.target}× leaves ${ms(budget)} per migration; psql per file spends ${ms(x.perFile / n)} ` +
        `of it on a process, a connection and the SQL. ` +
        (floorRatio > x.target
          ? `Temporal's floor alone is ${x2(floorRatio)} psql per file, so with one activity per migration no ` +
            `change inside the activity can meet the target on this server: `
          : `Orchestration (${ms(orchestration)}) takes ${pct(orchestration, budget)} of it and our activity ` +
            `adds ${ms(code)}: `) +
        `the cost grows with the number of migrations, not with the SQL, so faster SQL cannot close the gap — ` +
        `fewer activities (workflow tasks) per migration can, and a cheaper activity body helps next.`,
    );
  }
  const body = Math.max(0, x.direct / n - x.costs.connectMs - x.costs.ensureLedgerMs);
  const batched = h.planningMs + body * n + (x.floor / n) * Math.ceil(n / 100);
  out.push(
    `Estimate, not a measurement: batches of 100 migrations per activity on one connection with the ledger ensured ` +
      `once would cost about planning + our plain-loop time minus the two fixed costs + one floor round trip per ` +
      `batch ≈ ${s(batched)} (${ms(body)} per migration), ≈ ${x2(batched / x.perFile)} psql per file.`,
  );
  const events = h.events;
  out.push(
    `History: ${events} events for ${n} migrations (${(events / n).toFixed(2)} per migration: activity ` +
      `scheduled/started/completed plus workflow task scheduled/started/completed; ${h.otherActivities} planning ` +
      `activities, ${h.workflowTasks} workflow tasks). Temporal's defaults suggest continue-as-new at ` +
      `${HISTORY_SUGGEST_CAN} events, warn at ${HISTORY_WARN} and terminate at ${HISTORY_ERROR}: one run of this ` +
      `shape passes the suggestion at ~${Math.floor(HISTORY_SUGGEST_CAN / (events / n))} migrations and is ` +
      `terminated at ~${Math.floor(HISTORY_ERROR / (events / n))}.`,
  );
  if (run.resultBytes !== undefined) {
    out.push(
      `Result payload: the progress object the workflow returns (and serves by query) is ` +
        `${(run.resultBytes / 1024).toFixed(0)} KiB for ${n} migrations (${(run.resultBytes / n).toFixed(0)} bytes ` +
        `each, previews included); Temporal warns above ${BLOB_WARN / 1024} KiB and fails a payload above ` +
        `${BLOB_ERROR / 1024 / 1024} MiB, i.e. at ~${Math.floor(BLOB_ERROR / (run.resultBytes / n))} migrations.`,
    );
  }
  return out;
}
