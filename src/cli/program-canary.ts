// `cluster upgrade --canary` in the command tree (program.ts): the upgrade flags and their help, and the
// `runs continue|rollback <id>` commands that answer a waiting canary. The actions load their modules lazily.
import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';

export function addCanary(
  upgrade: Command<[string | undefined], Record<string, unknown>>,
  runs: Command,
  runsAction: (verb: string) => (...args: unknown[]) => Promise<void>,
): void {
  upgrade
    .option('--canary', 'pause after the first replica of each service is healthy until you continue or roll back')
    .option('--soak <duration>', 'with --canary: let the healthy canary run this long before asking (e.g. 10m)')
    .option('--canary-timeout <duration>', 'with --canary: roll the canary back when nobody decides in time', '1h')
    .addHelpText(
      'after',
      '\nWith --canary, each service upgrades its first replica that changes; once it is healthy (and --soak has\n' +
        'elapsed, a durable timer) the run waits in state awaiting-canary (FwState, Web UI, `runs watch`) for:\n' +
        '  frameworks cluster runs continue <workflow-id>   # upgrade the rest of the replicas\n' +
        '  frameworks cluster runs rollback <workflow-id>   # return the canary to its previous identity and config\n' +
        'No decision within --canary-timeout (default 1h) rolls the canary back; a rolled-back canary fails the run\n' +
        'like any rolled-back service (nothing new starts). Not with --no-rollback.',
    );
  const decide = (verb: 'continue' | 'rollback', description: string): void => {
    runs
      .command(verb)
      .argument('<workflow-id>', 'the upgrade run, e.g. fw/lab/change')
      .description(description)
      .option('--service <name>', 'answer only this service’s canary (default: every canary waiting now)')
      .addOption(new Option('--manifest <path>', 'optional: refuse an id that is not a run of this cluster'))
      .action(runsAction(verb));
  };
  decide('continue', 'a canary upgrade waiting for you: upgrade the rest of the replicas (upgrade --canary)');
  decide(
    'rollback',
    'a canary upgrade waiting for you: return the canary replica to what it ran before (upgrade --canary);\n' +
      'to revert a whole finished run, see `frameworks cluster rollback <run-id>`',
  );
}
