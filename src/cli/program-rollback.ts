// `frameworks cluster rollback <run-id>` in the command tree (program.ts): its flags and help. The action loads
// the command module lazily, like every command's.
import type { Command, Option } from '@commander-js/extra-typings';

export function addRollbackCommand(
  cluster: Command,
  manifest: Option<'--manifest <path>', undefined, undefined, string, false>,
  globals: () => { color?: boolean },
): void {
  cluster
    .command('rollback')
    .description('revert what a finished upgrade or release run changed: every replica it moved, back where it was')
    .argument('<run-id>', 'run id of the upgrade or release (frameworks cluster runs list)')
    .addOption(manifest)
    .option(
      '--exclude <service>',
      'leave this service as the run left it (repeatable; also lifts a rollback_disabled refusal for it)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--dry-run', 'read the record, run every gate and show what would change; change nothing')
    .option('-y, --yes', 'approve without prompting')
    .option('--detach', 'start the run and print its id instead of following it')
    .option('--json', 'print the final state as JSON (schema: ClusterRollbackProgressSchema)')
    .addHelpText(
      'after',
      "\nThe record is the run's own: per service and host, the identity (image digest / tarball SHA-256) and config\n" +
        'hash before the run and after it. Every replica the run moved goes back to its pre-run identity and config,\n' +
        'services in the reverse of the order the run upgraded them, replicas one by one, each health-checked like an\n' +
        'upgrade (one that does not get healthy returns to what it ran). Replicas already back are not restarted.\n' +
        'Nothing is downloaded: native hosts keep releases/<identity>/ (and the provisioner binary an upgrade adopted),\n' +
        'docker hosts the previous image. Schema and data are never touched: the plan lists the expand migrations that\n' +
        'stay applied (safe by the expand/contract rule).\n' +
        'Refused before anything changes: rollback_disabled of the rolled-back release names a service (--exclude it);\n' +
        'a later run changed the same replicas (roll that one back first); a replica runs something else now; the\n' +
        'previous artifact is gone from a host (named); the pre-run config is not what cluster.yaml renders now; a\n' +
        'contract migration of the rolled-back release has run (fix forward instead).\n' +
        'Runs on the change lock fw/<cluster>/change with the same approval (plan hash), --dry-run and --json as upgrade.\n' +
        '\nExamples:\n' +
        '  frameworks cluster runs list                                   # find the run id\n' +
        '  frameworks cluster rollback 0193a1c2-… --dry-run              # what would change, every gate\n' +
        '  frameworks cluster rollback 0193a1c2-… --exclude foghorn --yes',
    )
    .action(async (runId, opts) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { rollbackCommand } = require('./commands/rollback') as typeof import('./commands/rollback');
      await rollbackCommand(runId, opts, globals());
    });
}
