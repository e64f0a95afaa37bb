// Kill-points for crash testing (issue 15 item 1): a worker started with FRAMEWORKS_CHAOS=<activityType>:<point>
// SIGKILLs itself at that point, like a host losing power, so the harness (bench/chaos.ts) and the e2e tests can
// crash it at an exact step instead of at a lucky moment. Off unless set; refused outside a lab (see chaosConfig).
//
// Points (per activity type, `*` = any type):
//   before — the activity was delivered to this worker, nothing of it ran yet (activity inbound interceptor);
//   after  — the activity's work (its side effect) is done, its result not yet reported to Temporal;
//   wft    — between workflow tasks: the workflow task that schedules the activity completes (its commands reach
//            the server), then the worker dies before it runs the next one (a sink called from the workflow
//            interceptor in src/workflows/chaos-interceptor.ts, which runs outside the sandbox).
// Local activities (transactional migrations: `applyMigrations`) have the same three points. They run on the
// worker that runs the workflow task which schedules them, inside that task, and are recorded as a marker when
// the workflow gets their result, so: `before` = the local activity started, nothing applied; `after` = its
// side effect is committed (the migrations and their ledger rows), the result not yet handed back to the
// workflow, so no marker exists — the workflow task times out and the next worker runs the local activity again,
// which must find the ledger rows and change nothing; `wft` = the workflow received the result and the
// activation carrying its marker (with the commands after it) was sent, then the worker dies before the next
// task. In every case the task is replayed elsewhere; nothing but the database's ledger makes apply exactly-once.
// FRAMEWORKS_CHAOS_ONCE=<file>: the kill happens once across all workers sharing the file (the first to create it
// dies; a restarted or second worker with the same setting carries on), so a test can restart a worker with the
// same environment and let the run finish.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { ExitError } from '../errors';
import type { ChaosSinks } from '../workflows/chaos-interceptor';

export const CHAOS_ENV = 'FRAMEWORKS_CHAOS';
export const CHAOS_ONCE_ENV = 'FRAMEWORKS_CHAOS_ONCE';
export const CHAOS_LAB_ENV = 'FRAMEWORKS_CHAOS_LAB';
export const CHAOS_POINTS = ['before', 'after', 'wft'] as const;
export type ChaosPoint = (typeof CHAOS_POINTS)[number];

export interface ChaosConfig {
  activityType: string;
  point: ChaosPoint;
  onceFile?: string;
}

/** Loopback addresses only: a chaos worker never talks to a shared or production Temporal. */
function isLoopback(address: string): boolean {
  return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1)(:\d+)?$/.test(address.trim());
}

/**
 * The chaos setting of this process, or undefined when off. A "production profile" is refused: chaos needs the
 * explicit lab flag FRAMEWORKS_CHAOS_LAB=1, a loopback Temporal address, and no API key, TLS or named
 * TEMPORAL_PROFILE (which is how a worker reaches a real cluster or Cloud).
 */
export function chaosConfig(temporalAddress: string, env: NodeJS.ProcessEnv = process.env): ChaosConfig | undefined {
  const raw = env[CHAOS_ENV]?.trim();
  if (!raw) return undefined;
  const m = /^([A-Za-z_$][\w$]*|\*):(\w+)$/.exec(raw);
  if (!m || !(CHAOS_POINTS as readonly string[]).includes(m[2]!)) {
    throw new ExitError(
      `${CHAOS_ENV}="${raw}" is not a kill-point; expected <activityType|*>:<${CHAOS_POINTS.join('|')}>`,
    );
  }
  const refusal =
    env[CHAOS_LAB_ENV] !== '1'
      ? `it needs ${CHAOS_LAB_ENV}=1 (chaos is for the lab and tests only)`
      : !isLoopback(temporalAddress)
        ? `Temporal at ${temporalAddress} is not a local (loopback) server`
        : env.TEMPORAL_API_KEY || env.TEMPORAL_PROFILE || env.TEMPORAL_TLS || env.TEMPORAL_TLS_CLIENT_CERT_PATH
          ? 'the worker is configured for a production Temporal (API key, TLS or TEMPORAL_PROFILE)'
          : undefined;
  if (refusal) throw new ExitError(`refusing ${CHAOS_ENV}=${raw}: ${refusal}; unset ${CHAOS_ENV} to run normally`);
  const onceFile = env[CHAOS_ONCE_ENV]?.trim();
  return { activityType: m[1]!, point: m[2] as ChaosPoint, ...(onceFile ? { onceFile } : {}) };
}

/** True when this process should die now (and, with a once-file, claims the kill so no other worker repeats it). */
function claim(cfg: ChaosConfig, what: string): boolean {
  if (!cfg.onceFile) return true;
  try {
    const fd = openSync(cfg.onceFile, 'wx');
    writeSync(fd, `${process.pid} ${what} ${new Date().toISOString()}\n`);
    closeSync(fd);
    return true;
  } catch {
    return false;
  }
}

function die(what: string): never {
  process.stderr.write(`chaos: SIGKILL at ${what}\n`);
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is not deliverable late; this line is never reached.
  throw new Error('unreachable');
}

const matches = (cfg: ChaosConfig, type: string): boolean => cfg.activityType === '*' || cfg.activityType === type;

/** Activity inbound interceptor for the `before` and `after` points. */
export function chaosActivityInterceptor(cfg: ChaosConfig): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        // An armed `wft` kill: the completion that scheduled this activity reached the server (it was dispatched),
        // so the worker dies now, before the next step's work, whatever the timer below would have done.
        if (pendingWft !== undefined && !ctx.info.isLocal) die(pendingWft);
        const type = ctx.info.activityType;
        if (!matches(cfg, type)) return next(input);
        const what = `${type}:${cfg.point} (attempt ${ctx.info.attempt})`;
        if (cfg.point === 'before' && claim(cfg, what)) die(what);
        const result = await next(input);
        if (cfg.point === 'after' && claim(cfg, what)) die(what);
        return result;
      },
    },
  });
}

/**
 * How long after the sink call the worker dies if nothing else comes first: long enough for the workflow task's
 * completion to be sent. An ordinary activity delivered to this worker in the meantime proves the completion went
 * out, and kills it at once (the interceptor above): on a quiet machine the rest of a short run can finish within
 * the delay, which would turn the kill-point into "after the run" (seen in a CI rehearsal).
 */
const WFT_KILL_DELAY_MS = 50;
let pendingWft: string | undefined;

/** Sinks for the `wft` point (always registered when chaos is on, so the interceptor's calls are never orphans). */
export function chaosSinks(cfg: ChaosConfig): InjectedSinks<ChaosSinks> {
  const arm = (info: { workflowType: string; workflowId: string }, activityType: string): void => {
    if (cfg.point !== 'wft' || !matches(cfg, activityType)) return;
    const what = `${activityType}:wft (${info.workflowType} ${info.workflowId})`;
    if (!claim(cfg, what)) return;
    // The sink runs before this activation's completion is sent; the kill waits for it to go out.
    pendingWft = what;
    setTimeout(() => die(what), WFT_KILL_DELAY_MS);
  };
  return {
    fwChaos: {
      scheduled: { fn: arm, callDuringReplay: false },
      localResolved: { fn: arm, callDuringReplay: false },
    },
  };
}
