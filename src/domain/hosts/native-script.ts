// The plans of native-plan.ts as the items of ONE host script (host-script.ts): what activation and rollback run
// after the one read of the install state, in the order the plans give, with the restart (or SIGHUP reload falling
// back to a restart) and the status checks the driver used to run as separate commands. Pure; unit-tested in
// test/unit/host-script.test.ts.
import type { ServiceManager } from '../../contracts/cluster';
import { reloadCommand, restartCommand, statusCommand, type HostStep } from './commands';
import type { ScriptItem } from './host-script';
import type { ActivationPlan, RollbackPlan } from './native-plan';

/** How a script's outcome reads in the activity results. */
export type ActivationOutcome = 'none' | 'started' | 'restarted' | 'reloaded';

const steps = (s: readonly HostStep[]): ScriptItem[] => s.map((step) => ({ kind: 'step', step }));

/**
 * converged: the relabel, then nothing if the service runs, else start it. activate: the steps, the reload (only
 * while the service runs, and only if the plan chose it) or else the restart, then clearing the mark.
 */
export function activationScript(
  plan: Exclude<ActivationPlan, { kind: 'not-staged' }>,
  svc: string,
  base: string | undefined,
  manager: ServiceManager,
): ScriptItem[] {
  const status = statusCommand(manager, svc);
  const restart = restartCommand(manager, svc);
  if (plan.kind === 'converged') {
    return [
      ...steps(plan.steps),
      { kind: 'skip-if-running', what: `status of ${svc}`, status, outcome: 'none' },
      { kind: 'restart', what: `start ${svc}`, argv: restart, outcome: 'started' },
    ];
  }
  const reload: ScriptItem[] =
    plan.restart === 'reload'
      ? [
          {
            kind: 'reload-if-running',
            what: `status of ${svc}`,
            status,
            reloadWhat: `reload ${svc}`,
            reload: reloadCommand(manager, svc, base),
            outcome: 'reloaded',
          },
        ]
      : [];
  return [
    ...steps(plan.steps),
    ...reload,
    { kind: 'restart', what: `restart ${svc}`, argv: restart, outcome: 'restarted' },
    ...steps(plan.after),
  ];
}

/** Nothing if converged and running; else the steps, the restart, clearing the mark. */
export function rollbackScript(
  plan: Extract<RollbackPlan, { kind: 'rollback' }>,
  svc: string,
  manager: ServiceManager,
): ScriptItem[] {
  const gate: ScriptItem[] = plan.converged
    ? [{ kind: 'skip-if-running', what: `status of ${svc}`, status: statusCommand(manager, svc), outcome: 'none' }]
    : [];
  return [
    ...gate,
    ...steps(plan.steps),
    { kind: 'restart', what: `restart ${svc}`, argv: restartCommand(manager, svc), outcome: 'rolled-back' },
    ...steps(plan.after),
  ];
}
