// Workflow interceptor module bundled only by a worker started with FRAMEWORKS_CHAOS (src/worker/chaos.ts): it
// tells the worker, through a sink, each time a workflow task schedules an activity (or a local one), so the worker can die
// "between workflow tasks" right after that task's commands are sent. A sink call is not a command and is skipped
// while replaying: histories are the same with or without this module.
import { proxySinks, type Next, type Sinks, type WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';
import type { ActivityInput, LocalActivityInput, WorkflowInterceptorsFactory } from '@temporalio/workflow';

export interface ChaosSinks extends Sinks {
  fwChaos: { scheduled(activityType: string): void };
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
    fwChaos.scheduled(input.activityType);
    return next(input);
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ outbound: [new ChaosOutbound()] });
