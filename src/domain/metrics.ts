// The orchestrator's own metrics, exported by the worker next to the Temporal SDK's on one Prometheus endpoint:
// their names, and which increments a run or a data-migration batch call contributes. Pure, so the workflow
// interceptor (src/workflows/metrics-interceptor.ts) and the activities (src/activities/metrics.ts) share one
// definition, and unit tests check the increments by value.
//
// Names carry no `_total` suffix, like the SDK's own counters on the same endpoint (the exporter's
// countersTotalSuffix is off). Label names are snake_case; the SDK adds its own tags to every value emitted
// through its meters (namespace, taskQueue, and workflowType or activityType).

export interface MetricDef {
  readonly name: string;
  readonly kind: 'counter' | 'gauge';
  readonly description: string;
}

export const METRICS = {
  upgradesStarted: {
    name: 'frameworks_upgrades_started',
    kind: 'counter',
    description: 'Service upgrades started (serviceUpgrade runs), by cluster and service',
  },
  upgradesSucceeded: {
    name: 'frameworks_upgrades_succeeded',
    kind: 'counter',
    description: 'Service upgrades that ended well, by cluster, service and outcome (upgraded | skipped)',
  },
  upgradesFailed: {
    name: 'frameworks_upgrades_failed',
    kind: 'counter',
    description:
      'Service upgrades that failed, by cluster, service and outcome (failed | rolled-back | rollback-failed | error)',
  },
  rollbacks: {
    name: 'frameworks_rollbacks',
    kind: 'counter',
    description: 'Rollbacks after a failed replica upgrade, by cluster, service and result (succeeded | failed)',
  },
  gateRefusals: {
    name: 'frameworks_gate_refusals',
    kind: 'counter',
    description: 'Refusing gates of refused runs, by cluster and gate id (one per refusing check per run)',
  },
  dataMigrationRows: {
    name: 'frameworks_data_migration_rows',
    kind: 'counter',
    description:
      'Rows processed by data-migration batches, by cluster, service, migration and kind (scanned | changed | skipped | errors)',
  },
  dataMigrationRowsPerSecond: {
    name: 'frameworks_data_migration_rows_per_second',
    kind: 'gauge',
    description:
      'Rows scanned per second by the latest batch call of a data migration (0 once its scope is done), by cluster, service and migration',
  },
} as const satisfies Record<string, MetricDef>;

export type MetricKey = keyof typeof METRICS;

export interface Increment {
  metric: MetricKey;
  /** Added to a counter, or set on a gauge. */
  value: number;
  labels: Record<string, string>;
}

/** A run's end as the interceptor saw it (a continue-as-new is not an end and is never passed here). */
export type RunEnd = { result: unknown } | { error: unknown };

/** A gate that refused without naming itself (a data migration the worker cannot run, for instance). */
export const UNNAMED_GATE = 'unspecified';

function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

function text(value: unknown, key: string): string {
  const v = field(value, key);
  return typeof v === 'string' && v !== '' ? v : 'unknown';
}

/** What the start of a workflow run counts; `input` is its first argument as received (not yet validated). */
export function runStartIncrements(workflowType: string, input: unknown): Increment[] {
  if (workflowType !== 'serviceUpgrade') return [];
  return [
    {
      metric: 'upgradesStarted',
      value: 1,
      labels: { cluster: text(input, 'cluster'), service: text(input, 'service') },
    },
  ];
}

const SUCCEEDED = new Set(['upgraded', 'skipped']);

/** What the end of a workflow run counts: upgrade outcomes and rollbacks, and the gates of a refused run. */
export function runEndIncrements(workflowType: string, input: unknown, end: RunEnd): Increment[] {
  const cluster = text(input, 'cluster');
  const out: Increment[] = [];
  if (workflowType === 'serviceUpgrade') {
    const service = text(input, 'service');
    const outcome = 'result' in end ? text(end.result, 'outcome') : 'error';
    out.push({
      metric: SUCCEEDED.has(outcome) ? 'upgradesSucceeded' : 'upgradesFailed',
      value: 1,
      labels: { cluster, service, outcome },
    });
    if (outcome === 'rolled-back' || outcome === 'rollback-failed') {
      out.push({
        metric: 'rollbacks',
        value: 1,
        labels: { cluster, service, result: outcome === 'rolled-back' ? 'succeeded' : 'failed' },
      });
    }
    return out;
  }
  if (!('result' in end)) return out;
  // Every mutating run reports `state: 'refused'`; a plan reports `refused: true`. Both list their checks.
  const refused = field(end.result, 'state') === 'refused' || field(end.result, 'refused') === true;
  if (!refused) return out;
  const checks = field(end.result, 'checks');
  const gates = (Array.isArray(checks) ? checks : [])
    .filter((c) => field(c, 'status') === 'refuse')
    .map((c) => text(c, 'id'));
  for (const gate of gates.length > 0 ? gates : [UNNAMED_GATE]) {
    out.push({ metric: 'gateRefusals', value: 1, labels: { cluster, gate } });
  }
  return out;
}

export interface RowCounts {
  scanned: number;
  changed: number;
  skipped: number;
  errors: number;
}

const KINDS = ['scanned', 'changed', 'skipped', 'errors'] as const;

/**
 * What one dmRunBatch attempt counts. `batch` is what the call reports its batches did together, which includes
 * what earlier attempts committed (`before`, from their heartbeats) — those rows were counted by those attempts.
 */
export function batchIncrements(opts: {
  cluster: string;
  service: string;
  id: string;
  batch: RowCounts;
  before?: RowCounts;
  done: boolean;
  elapsedMs: number;
}): Increment[] {
  const ref = { cluster: opts.cluster, service: opts.service, migration: opts.id };
  const rows = (k: (typeof KINDS)[number]): number => Math.max(0, opts.batch[k] - (opts.before?.[k] ?? 0));
  const out: Increment[] = KINDS.filter((k) => rows(k) > 0).map((kind) => ({
    metric: 'dataMigrationRows' as const,
    value: rows(kind),
    labels: { ...ref, kind },
  }));
  const perSecond = opts.done || opts.elapsedMs <= 0 ? 0 : Math.round((rows('scanned') * 1000) / opts.elapsedMs);
  out.push({ metric: 'dataMigrationRowsPerSecond', value: perSecond, labels: ref });
  return out;
}
