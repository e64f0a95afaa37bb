// Workflow interceptor module bundled only by a worker started with FRAMEWORKS_CHAOS (src/worker/chaos.ts): it
// tells the worker, through a sink, when a workflow task schedules an activity and when the workflow receives a
// local activity's result, so the worker can die "between workflow tasks" right after that activation's
// commands are sent. A sink call is not a command and is skipped while replaying: histories are the same with or
// without this module.
import { proxySinks, type Next, type Sinks, type WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';
import type { ActivityInput, LocalActivityInput, WorkflowInterceptorsFactory } from '@temporalio/workflow';

export interface ChaosSinks extends Sinks {
  fwChaos: {
    /** An activity was scheduled: the activation's completion carries its ScheduleActivityTask command. */
    scheduled(activityType: string): void;
    /**
     * A local activity's result reached the workflow: the activation's completion carries its marker. (A local
     * activity runs inside the workflow task that scheduled it, so "between tasks" for it is after its marker.)
     */
    localResolved(activityType: string): void;
  };
}

const { fwChaos } = proxySinks<ChaosSinks>();

class ChaosOutbound implements WorkflowOutboundCallsInterceptor {
  async scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    fwChaos.scheduled(input.activityType);
    return next(input);
  }

  async scheduleLocalActivity(
    input: LocalActivityInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>,
  ) {
    const result = await next(input);
    fwChaos.localResolved(input.activityType);
    return result;
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ outbound: [new ChaosOutbound()] });
