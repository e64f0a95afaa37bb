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
  /** Ordinary no-op activities. */
  floor: number;
  /** Local no-op activities. */
  localFloor: number;
  runs: MigrateRun[];
  workflowRuns: MigrateRun[];
  floorRuns: MigrateRun[];
  localFloorRuns: MigrateRun[];
  costs: ApplyCosts;
  probe: DispatchProbe;
  target: number;
  cores: number;
}

/** Temporal server defaults (dynamicconfig constants.go `limit.historyCount.*`). */
const HISTORY_SUGGEST_CAN = 4096;
const HISTORY_WARN = 10_240;
const HISTORY_ERROR = 51_200;
/** History size limits (dynamicconfig `limit.historySize.warn` / `.error` defaults). */
const HISTORY_BYTES_WARN = 10 * 1024 * 1024;
const HISTORY_BYTES_ERROR = 50 * 1024 * 1024;
/** Payload (blob) size limits: warning and hard error (docs.temporal.io, self-hosted defaults). */
const BLOB_WARN = 256 * 1024;
const BLOB_ERROR = 2 * 1024 * 1024;

const ms = (v: number, digits = 2): string => `${v.toFixed(digits)} ms`;
const s = (v: number): string => `${(v / 1000).toFixed(2)} s`;
const pct = (part: number, whole: number): string => `${Math.round((100 * part) / whole)}%`;
const x2 = (v: number): string => `${v.toFixed(2)}×`;

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
  const ratio = x.ours / x.session;
  const met = ratio <= x.target;
  const out: string[] = [
    `Result: the workflow took ${s(x.ours)} against ${s(x.session)} for psql in one session — ` +
      `${x2(ratio)}, target ≤ ${x.target}× ${met ? 'met' : 'MISSED'}; against psql with one process per file ` +
      `(${s(x.perFile)}) it is ${x2(x.ours / x.perFile)}. Per migration (medians of ${x.workflowRuns.length}): ` +
      `workflow ${ms(x.ours / n)}, psql per file ${ms(x.perFile / n)}, psql one session ${ms(x.session / n)} ` +
      `(the SQL floor: same lock, ledger check, file and ledger row, one connection), our apply code without ` +
      `Temporal ${ms(x.direct / n)}.`,
  ];
  const quiet = noise(x);
  if (quiet) out.push(quiet);
  const run = medianRun(x.workflowRuns);
  const h = run?.history;
  if (!run || !h || h.localApplies + h.applyActivities === 0) return out;
  const l = h.local;
  const codeTotal = run.activityCode?.totalMs ?? Number.NaN;
  const code = codeTotal / n;
  const overheadTotal = h.applyPhaseMs - codeTotal;
  const overhead = overheadTotal / n;

  out.push(
    `Shape of the median run (${s(run.wallMs)}): its history has ${h.events} events (${(h.bytes / 1024).toFixed(0)} KiB ` +
      `encoded): ${l.markers} \`core_local_activity\` markers — one per applyMigrations call, i.e. per stretch ` +
      `of transactional migrations (${(n / Math.max(1, l.markers)).toFixed(0)} migrations each on average), ` +
      `${l.summaries} of them with a summary naming the first file of the stretch` +
      `${l.example ? ` (e.g. "${l.example}")` : ''}${l.retries > 0 ? `, ${l.retries} retried` : ''} — ` +
      `${h.applyActivities} ordinary apply activities (none expected: there are no .notx files), ` +
      `${h.otherActivities} ordinary planning activities, ${h.otherMarkers} other marker(s) (the patch markers) and ` +
      `${h.workflowTasks} workflow tasks. Local activities run inside a workflow task, which stays open while they ` +
      `run; Core heartbeats it before the workflow task timeout (completes it, recording the markers so far, and ` +
      `continues in a new one): the longest workflow task ran ${s(h.workflowTaskRun.maxMs)}, the markers were ` +
      `recorded by ${l.recordingTasks} workflow task completions, at most ${l.maxMarkersPerTask} in one.`,
  );
  out.push(
    `Of that run, planning — five read activities (describe, catalog, discovery with a SHA-256 of every file, ` +
      `ledger read, previews) — took ${ms(h.planningMs, 0)} (${pct(h.planningMs, run.wallMs)}); applying — first ` +
      `local activity scheduled (worker clock, from its marker) → last marker recorded (server clock, same host) — ` +
      `took ${s(h.applyPhaseMs)} (${pct(h.applyPhaseMs, run.wallMs)}), ${ms(h.applyPhaseMs / n)} per migration. Our ` +
      `code's own durationMs per migration (file read and hash → BEGIN … COMMIT → DISCARD ALL; whole ` +
      `milliseconds, from Date.now) ` +
      `adds up to ${s(codeTotal)}, ${ms(code)} per migration, so orchestration — everything in the apply phase ` +
      `that is not our activity code — is ${s(overheadTotal)}, ${ms(overhead)} per migration ` +
      `(${pct(overheadTotal, run.wallMs)} of the run).`,
  );
  if (l.markers > 0) {
    out.push(
      `Per stretch call: ${l.markers} call(s) for ${n} migrations, so the workflow activation that hands a ` +
        `result to workflow code and schedules the next call is paid ${l.markers} time(s), not ${n}; ` +
        `orchestration is ${ms(overhead)} per migration against the ${ms(x.localFloor / n)} a no-op local ` +
        'activity per migration costs on this server (the local floor below, the previous design).',
    );
  }
  const floorRatio = x.floor / x.perFile;
  const localFloorRatio = x.localFloor / x.perFile;
  const lfh = medianRun(x.localFloorRuns)?.history;
  out.push(
    `Temporal's floors on this server (no database): ${n} no-op local activities in sequence take ` +
      `${s(x.localFloor)}, ${ms(x.localFloor / n)} each (${x2(localFloorRatio)} psql per file` +
      `${lfh ? `; ${lfh.events} history events, ${lfh.workflowTasks} workflow tasks` : ''}); ${n} no-op ordinary ` +
      `activities take ${s(x.floor)}, ${ms(x.floor / n)} each (${x2(floorRatio)} psql per file, ` +
      `${x2(x.floor / x.session)} psql one session). The local floor alone is ${x2(x.localFloor / x.session)} ` +
      `psql one session — why one local activity per migration could not meet a ${x.target}× session target; the ` +
      `ordinary floor is what one activity per migration cost before local apply` +
      (floorRatio > x.target
        ? ` — alone ${x2(floorRatio)} psql per file, above the ${x.target}× target with no database work at all, ` +
          'which is why that design could not meet it. `.notx` migrations still pay it, one each.'
        : '. `.notx` migrations still pay it, one each.'),
  );
  const p = x.probe;
  out.push(
    `Dispatch probe (${p.activities} no-op ordinary activities): a workflow task reaches the worker in ` +
      `${ms(p.sticky.medianMs, 0)} (median; mean ${ms(p.sticky.meanMs)}) through the worker's sticky queue (the ` +
      `default) but in ${ms(p.nonSticky.medianMs, 0)} (mean ${ms(p.nonSticky.meanMs)}) through the normal queue ` +
      'with sticky execution off. ' +
      (p.sticky.meanMs > 4 * Math.max(1, p.nonSticky.meanMs)
        ? `So most of the ordinary floor is the sticky-queue hand-off (server and SDK versions as listed above); ` +
          `turning sticky off is no remedy — every task then replays the whole history ` +
          `(${ms(p.nonSticky.perActivityMs)} per activity here, growing with the run). Local activities avoid ` +
          'the hand-off: they need no new workflow task per migration.'
        : 'Sticky and normal queue dispatch cost about the same here.'),
  );
  out.push(
    `Inside the activity: ${ms(code)} per migration against the SQL floor of ${ms(x.session / n)}. A stretch ` +
      `pays once what one activity per migration paid each time: the pool checkout (${ms(x.costs.pooledMs)} with ` +
      `DISCARD ALL and release; a fresh connection would be ${ms(x.costs.connectMs)} — what every psql process ` +
      `pays) and ensureLedger on a current ledger (${ms(x.costs.ensureLedgerMs)}, one catalog read). Still paid ` +
      'per migration, unlike the psql session: reading and SHA-256-checking the file, and the session reset (what ' +
      'DISCARD ALL does, inside the transaction; so a SET in ' +
      `one file never reaches the next). Our apply code in a plain loop is ${x2(x.direct / x.session)} the session ` +
      `floor and ${x2(x.direct / x.perFile)} psql per file.`,
  );
  const budget = (x.target * x.session) / n;
  const planning = h.planningMs / n;
  if (met) {
    out.push(
      `The target leaves ${ms(budget)} per migration (${x.target} × psql one session); the workflow used ` +
        `${ms(x.ours / n)}: our activity code ${ms(code)}, orchestration ${ms(overhead)}, planning ` +
        `${ms(planning)} spread over the files, the rest client start → result.`,
    );
  } else {
    const parts = [
      { what: 'our activity code', v: code },
      { what: 'orchestration', v: overhead },
      { what: 'planning (spread over the files)', v: planning },
    ].sort((a, b) => b.v - a.v);
    out.push(
      `Why it misses: ≤ ${x.target}× leaves ${ms(budget)} per migration and the workflow used ${ms(x.ours / n)} — ` +
        parts.map((q) => `${q.what} ${ms(q.v)}`).join(', ') +
        `. The largest share is ${parts[0]!.what}; the local floor alone is ${ms(x.localFloor / n)} ` +
        `(${pct(x.localFloor / n, budget)} of the budget).`,
    );
  }
  const perMigration = h.events / n;
  const bytesPer = h.bytes / n;
  out.push(
    `History: ${h.events} events for ${n} migrations (${perMigration.toFixed(2)} per migration: one marker per ` +
      `stretch call, plus workflow task scheduled/started/completed per heartbeat and the planning activities), ` +
      `${(h.bytes / 1024).toFixed(0)} KiB (${bytesPer.toFixed(0)} bytes per migration in all — the planning ` +
      `activities' results, the discovered files and their previews, grow with the files too — of which the ` +
      `markers ${(l.markerBytes / Math.max(1, l.markers)).toFixed(0)} bytes each: one result per migration of ` +
      `the stretch, Core's data, summary). Temporal's defaults suggest continue-as-new at ${HISTORY_SUGGEST_CAN} events, warn at ` +
      `${HISTORY_WARN} and terminate at ${HISTORY_ERROR} events or ${HISTORY_BYTES_ERROR / 1024 / 1024} MiB ` +
      `(warn at ${HISTORY_BYTES_WARN / 1024 / 1024} MiB): one run of this shape passes the suggestion at ` +
      `~${Math.floor(HISTORY_SUGGEST_CAN / perMigration)} migrations and is terminated at ` +
      `~${Math.floor(Math.min(HISTORY_ERROR / perMigration, HISTORY_BYTES_ERROR / bytesPer))} (one ordinary ` +
      'activity per migration took ~6 events each).',
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
