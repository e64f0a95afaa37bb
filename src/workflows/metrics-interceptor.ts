// Workflow interceptor module (registered by src/worker/create.ts): counts upgrade starts and outcomes, rollbacks
// and gate refusals where those facts are final — at the start and the end of each run — so no workflow file needs
// metric calls of its own. It emits through the SDK's workflow metricMeter: a sink, not a command, skipped while
// replaying, so histories and replay are unchanged (test/replay runs with this module bundled).
import {
  ContinueAsNew,
  log,
  metricMeter,
  workflowInfo,
  type Next,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { METRICS, runEndIncrements, runStartIncrements, type Increment } from '../domain/metrics';

function emit(increments: Increment[]): void {
  // A metric must never fail a run: a bad value is logged, the run goes on.
  try {
    for (const i of increments) {
      const def = METRICS[i.metric];
      if (def.kind === 'counter')
        metricMeter.createCounter(def.name, undefined, def.description).add(i.value, i.labels);
      else metricMeter.createGauge(def.name, 'int', undefined, def.description).set(i.value, i.labels);
    }
  } catch (err) {
    log.warn('metric not recorded', { error: err instanceof Error ? err.message : String(err) });
  }
}

class RunMetrics implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const { workflowType, continuedFromExecutionRunId } = workflowInfo();
    const arg: unknown = input.args[0];
    // A continued run is the same operation: its start was counted by the first run.
    if (!continuedFromExecutionRunId) emit(runStartIncrements(workflowType, arg));
    let result: unknown;
    try {
      result = await next(input);
    } catch (error) {
      if (!(error instanceof ContinueAsNew)) emit(runEndIncrements(workflowType, arg, { error }));
      throw error;
    }
    emit(runEndIncrements(workflowType, arg, { result }));
    return result;
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new RunMetrics()] });
