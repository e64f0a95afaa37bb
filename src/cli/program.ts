// The command tree. Every command of SPEC §5 is registered here with its flags and help; each action loads its
// module lazily so `frameworks --help` stays fast and a command's dependencies load only when it runs.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { ExitError } from '../errors';
import { ORCHESTRATOR_VERSION } from '../version';
import { addCanary } from './program-canary';
import { addRollbackCommand } from './program-rollback';

/**
 * Loads a command module when its command runs. `require` rather than `import()`: the CLI is CommonJS, and
 * the same call works from the TypeScript sources (tsx) and from the build (lib/).
 */
function load<T>(path: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path) as T;
}

const MANIFEST_HELP = 'cluster manifest (default: $FRAMEWORKS_MANIFEST, else ./cluster.yaml)';

function manifestOption(): Option<'--manifest <path>', undefined, undefined, string, false> {
  return new Option('--manifest <path>', MANIFEST_HELP);
}

export function buildProgram(): Command {
  const program = new Command('frameworks')
    .description(
      'Upgrade a FrameWorks platform cluster safely. The CLI starts durable Temporal workflows; a worker\n' +
        '(`frameworks worker`) runs them against hosts and databases. Watch runs in the Temporal Web UI.',
    )
    // Set before any subcommand exists: commander copies these settings into subcommands at creation.
    // Positional options let `upgrade` and `upgrade plan` both take --manifest without the parent eating it.
    .exitOverride()
    .enablePositionalOptions()
    .version(ORCHESTRATOR_VERSION, '-V, --cli-version', 'print the orchestrator version')
    .option('--no-color', 'disable colours (before the subcommand; NO_COLOR is honoured too)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nEnvironment:\n' +
        '  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*   where Temporal runs (default localhost:7233)\n' +
        '  FRAMEWORKS_MANIFEST                                                        default --manifest\n' +
        '  FRAMEWORKS_TEMPORAL_UI_URL                                                 Web UI base for run links\n' +
        '\nExit codes: 0 success · 1 failed or refused · 2 usage error · 3 needs attention (status/doctor)',
    );

  const cluster = program.command('cluster').description('operate a cluster: plan, upgrade, migrate, watch');

  cluster
    .command('status')
    .description('deployed vs available version per service and host, health, and in-flight runs')
    .addOption(manifestOption())
    .option('--version <selector>', 'compare with stable | rc | vX.Y.Z[-pre] (default: the channel in cluster.yaml)')
    .option('--limit <n>', 'how many recent runs to list', '10')
    .option('--json', 'print JSON (schema: StatusReportSchema, src/contracts/status.ts)')
    .addHelpText(
      'after',
      '\nThe worker detects every replica over SSH (content identity: image digest / tarball SHA-256) and probes its\n' +
        'health through the SSH connection, in a read-only run fw/<cluster>/status/<uuid>. "upgrade available" means\n' +
        'the target pins different bytes (a carried service with the same bytes is "up to date"). Runs of the cluster\n' +
        'come from Temporal visibility (FwCluster) with Web UI links.\n' +
        'Exit codes: 0 every replica running and healthy (upgrades may be available) · 3 something needs attention\n' +
        '(not installed, not running, unhealthy, unreachable, target release unreadable, no worker) · 1 status failed.',
    )
    .action(async (opts) => {
      const { statusCommand } = load<typeof import('./commands/status')>('./commands/status');
      await statusCommand(opts, program.opts());
    });

  cluster
    .command('doctor')
    .description('check infrastructure, services, migration ledger, data migrations, Temporal and worker presence')
    .addOption(manifestOption())
    .option(
      '--version <selector>',
      'check the ledger against stable | rc | vX.Y.Z (default: the channel in cluster.yaml)',
    )
    .option('--json', 'print JSON (schema: DoctorReportSchema, src/contracts/doctor.ts)')
    .addHelpText(
      'after',
      '\nOn this machine: Temporal reachable, search attributes registered, a worker polling fw-<cluster>, the catalog\n' +
        'and migration files. On the worker (read-only run fw/<cluster>/doctor/<uuid>): the target release, every\n' +
        'database, SSH to every host, every service probed through SSH, the _migrations ledger of each database\n' +
        '(missing ⇒ degraded, edited ⇒ unhealthy, pending contract ⇒ a note) and required data migrations.\n' +
        'Every failing check prints the command that fixes it.\n' +
        'Exit codes: 0 healthy · 3 degraded or unhealthy · 1 doctor itself failed.',
    )
    .action(async (opts) => {
      const { doctorCommand } = load<typeof import('./commands/doctor')>('./commands/doctor');
      await doctorCommand(opts, program.opts());
    });

  const upgrade = cluster
    .command('upgrade')
    .description('upgrade one service, or every platform service with --all, to a release')
    .argument('[service]', 'service to upgrade (or use --all)')
    .addOption(manifestOption())
    .option('--all', 'upgrade every platform service in dependency order')
    .option('--version <selector>', 'stable | rc | vX.Y.Z[-pre] (default: the cluster channel)')
    .option('--dry-run', 'run gates and detection, change nothing')
    .option('-y, --yes', 'approve without prompting')
    .option('--no-rollback', 'leave a failed service upgraded instead of rolling it back')
    .option('--skip-validation', 'skip post-deploy health validation')
    .option('--skip-migration-check', 'DANGEROUS: skip the schema gate')
    .option('--skip-data-migration-check', 'DANGEROUS: skip the data-migration gate')
    .option(
      '--unsafe-ignore-cli-version-floor',
      "deploy even if this orchestrator is below the release's min_cli_version",
    )
    .option(
      '--unsafe-allow-unknown-version',
      'DANGEROUS: proceed when a replica runs content no release manifest pins and has no version label (BYPASSED)',
    )
    .option('--allow-downgrade', 'allow replicas to go back to an older release than they run (printed as BYPASSED)')
    .option(
      '--parallel <n>',
      'with --all: upgrade up to N services of one dependency wave at once (replicas stay one by one)',
      '1',
    )
    .option('--detach', 'start the run and print its id instead of following it')
    .addHelpText(
      'after',
      '\nGates run before any host changes. The compatibility floor, required stops and downgrades are judged on the\n' +
        'release each replica is proven to be on: the newest release whose manifest pins exactly its image digest or\n' +
        'tarball checksum (a carried service keeps an older version label), its version label only when no manifest\n' +
        'pins it. A replica with neither is refused (--unsafe-allow-unknown-version); a replica that would go back to\n' +
        'an older release is named and refused (--allow-downgrade). A replica already at the target but stopped is\n' +
        'started and health-checked. Durations (FRAMEWORKS_HEALTH_INTERVAL/DEADLINE) take "90s", "2 mins", "1d" or ms.\n' +
        'With --parallel N, services whose dependencies are done (one wave of `upgrade plan`) upgrade concurrently, at\n' +
        'most N at once; the first failure starts nothing new, lets running services finish or roll back, and reports.',
    )
    .action(async (service, opts) => {
      const { upgradeCommand } = load<typeof import('./commands/upgrade')>('./commands/upgrade');
      await upgradeCommand(service, opts, program.opts());
    });

  upgrade
    .command('plan')
    .description('show rollout order, target identities per service, refusing checks and the suggested flow')
    .addOption(manifestOption())
    .option('--version <selector>', 'stable | rc | vX.Y.Z[-pre] (default: the cluster channel)')
    .option('--unsafe-ignore-cli-version-floor', 'report the min_cli_version check as BYPASSED instead of refused')
    .option('--json', 'print the plan as JSON (schema: UpgradePlanSchema)')
    .addHelpText(
      'after',
      '\nRuns as a read-only workflow on the worker (id fw/<cluster>/plan/<uuid>); nothing on the cluster changes.\n' +
        'Exit code 1 when a check would refuse the upgrade.',
    )
    .action(async (opts) => {
      const { upgradePlanCommand } = load<typeof import('./commands/upgrade-plan')>('./commands/upgrade-plan');
      await upgradePlanCommand(opts, program.opts());
    });

  addRollbackCommand(cluster, manifestOption(), () => program.opts());

  const migrate = cluster
    .command('migrate')
    .description('apply schema migrations of one phase (expand, postdeploy, contract) up to a target version')
    .addOption(manifestOption())
    .addOption(
      new Option('--phase <phase>', 'migration phase')
        .choices(['expand', 'postdeploy', 'contract'] as const)
        .default('expand' as const),
    )
    .option('--to-version <vX.Y.Z>', 'target release (default: the head of the cluster channel)')
    .option('--dry-run', 'list what would run (tx/notx, first lines of SQL); write nothing')
    .option('-y, --yes', 'approve without prompting (required for contract)')
    .option(
      '--skip-data-migration-check',
      'DANGEROUS: run postdeploy/contract even if required data migrations are not completed',
    )
    .option('--detach', 'start the run and print its id instead of following it')
    .option('--json', 'print the final state as JSON')
    .addHelpText(
      'after',
      '\nPhases: expand (additive, before deploying) → postdeploy (after deploy and data migrations) → contract\n' +
        '(drops; needs --yes). Each migration is applied once, under a per-database lock, in one transaction with its\n' +
        'row in the _migrations ledger; an edited applied migration refuses the whole run. Runs on the cluster change\n' +
        'lock fw/<cluster>/change: a second change while one runs is refused.',
    )
    .action(async (opts) => {
      const { migrateCommand } = load<typeof import('./commands/migrate')>('./commands/migrate');
      await migrateCommand(opts, program.opts());
    });
  migrate
    .command('validate')
    .description('lint migration files locally (no workflow), reporting every problem with file:line')
    .addOption(manifestOption())
    .option('--json', 'print problems as JSON')
    .action(async (opts) => {
      const { migrateValidateCommand } =
        load<typeof import('./commands/migrate-validate')>('./commands/migrate-validate');
      await migrateValidateCommand(opts);
    });

  const data = cluster
    .command('data-migrate')
    .description('run, pause, resume and verify data migrations (resumable backfills) declared in the catalog');
  for (const [verb, what] of [
    ['list', 'required data migrations up to the target with live status'],
    ['run', 'run a data migration in resumable batches (live progress; Ctrl-C detaches; run again reattaches)'],
    ['status', 'state, per-scope counts, rate and ETA'],
    ['verify', 'compare counts and totals between the old and new shapes (exit 1 on any mismatch)'],
    ['pause', 'pause between batches (acknowledged once no batch will commit)'],
    ['resume', 'resume a paused migration'],
  ] as const) {
    const sub = data.command(verb).description(what).addOption(manifestOption()).option('--json', 'print JSON');
    if (verb === 'list')
      sub.option('--to-version <vX.Y.Z>', 'target release (default: the head of the cluster channel)');
    else sub.argument('<service.id>', 'migration, e.g. purser.invoice-line-items');
    if (verb === 'run') {
      sub
        .option('--batch-size <n>', 'rows per batch', '1000')
        .option('--dry-run', 'run one batch in a rolled-back transaction; write nothing')
        .option('--scope-kind <kind>', 'limit to one scope kind')
        .option('--scope-value <value>', 'limit to one scope value (needs --scope-kind)')
        .option('--detach', 'start (or find) the run and return');
    }
    sub.action(async (...args: unknown[]) => {
      const { dataMigrateCommand } = load<typeof import('./commands/data-migrate')>('./commands/data-migrate');
      const ref = verb === 'list' ? undefined : (args[0] as string);
      const opts = (verb === 'list' ? args[0] : args[1]) as Record<string, unknown>;
      await dataMigrateCommand(verb, ref, opts, program.opts());
    });
  }

  cluster
    .command('set-channel')
    .description("set the cluster's release channel in cluster.yaml (comments and order preserved)")
    .argument('<channel>', 'stable | rc')
    .addOption(manifestOption())
    .addHelpText(
      'after',
      '\nLocal: changes only the value of the top-level channel: key (added after name: if absent); comments, order\n' +
        'and every other byte stay. Restart the worker afterwards: it reads cluster.yaml when it starts.',
    )
    .action(async (channel, opts) => {
      const { setChannelCommand } = load<typeof import('./commands/set-channel')>('./commands/set-channel');
      await setChannelCommand(channel, opts, program.opts());
    });

  const runs = cluster.command('runs').description('runs of this cluster from Temporal visibility (filter: FwCluster)');
  const runsAction =
    (verb: string) =>
    async (...args: unknown[]) => {
      const { runsCommand } = load<typeof import('./commands/runs')>('./commands/runs');
      const id = verb === 'list' ? undefined : (args[0] as string);
      const opts = (verb === 'list' ? args[0] : args[1]) as Record<string, unknown>;
      await runsCommand(verb, id, opts, program.opts());
    };
  runs
    .command('list')
    .description('in-flight and recent runs with Web UI links')
    .addOption(manifestOption())
    .option('--limit <n>', 'how many runs', '20')
    .option('--json', 'print JSON')
    .action(runsAction('list'));
  runs
    .command('watch')
    .argument('<workflow-id>', 'e.g. fw/lab/change')
    .description('reattach to a run and follow its progress (Ctrl-C detaches again)')
    .addOption(new Option('--manifest <path>', 'optional: refuse an id that is not a run of this cluster'))
    .action(runsAction('watch'));
  runs
    .command('cancel')
    .argument('<workflow-id>')
    .description('cancel a run: before it changes anything it simply ends; later it stops at the next safe point')
    .addOption(new Option('--manifest <path>', 'optional: refuse an id that is not a run of this cluster'))
    .action(runsAction('cancel'));
  addCanary(upgrade, runs, runsAction);

  cluster
    .command('noop', { hidden: true })
    .description(
      'FOR TESTS: a change run that changes nothing (lock, gates, approval, follow) — the template of a mutating command',
    )
    .addOption(manifestOption())
    .option('--steps <names>', 'comma-separated step names the plan lists', 'one')
    .option('--refuse <reason>', 'make the noop gate refuse with this reason (tests of the refusal path)')
    .option('--dry-run', 'plan and check the gate; change nothing')
    .option('-y, --yes', 'approve without prompting')
    .option('--detach', 'start the run and print its id instead of following it')
    .option('--json', 'print the final progress as JSON (schema: NoopProgressSchema, src/contracts/noop.ts)')
    .addHelpText(
      'after',
      '\nHidden from `cluster --help`: it exists so tests (and anyone adding a mutating command) can drive the shared\n' +
        'change-run lifecycle — change lock fw/<cluster>/change, gates, approval of the plan hash, follow, exit codes —\n' +
        'without changing a cluster. A new mutating command is one contract, one workflow on changeRun, one CLI spec\n' +
        '(see src/contracts/noop.ts, src/workflows/noop.ts, src/cli/commands/noop.ts).',
    )
    .action(async (opts) => {
      const { noopCommand } = load<typeof import('./commands/noop')>('./commands/noop');
      await noopCommand(opts, program.opts());
    });

  cluster
    .command('release')
    .description('the recommended flow as one durable run: expand → upgrade --all → data migrations → postdeploy')
    .addOption(manifestOption())
    .option('--version <selector>', 'stable | rc | vX.Y.Z[-pre] (default: the cluster channel)')
    .option('-y, --yes', 'approve the whole plan without prompting')
    .option('--dry-run', "plan and check every step's gates; change nothing")
    .option('--batch-size <n>', 'rows per batch for the data migrations this run starts', '1000')
    .option(
      '--unsafe-allow-unknown-version',
      'DANGEROUS: proceed when a replica runs content no release manifest pins and has no version label (BYPASSED)',
    )
    .option('--allow-downgrade', 'allow replicas to go back to an older release than they run (printed as BYPASSED)')
    .option('--parallel <n>', 'upgrade step: up to N services of one dependency wave at once (see upgrade --help)', '1')
    .option('--detach', 'start the run and print its id instead of following it')
    .option('--json', 'print the final progress as JSON (schema: ReleaseProgressSchema, src/contracts/release-run.ts)')
    .addHelpText(
      'after',
      '\nOne run on the change lock fw/<cluster>/change. The version is pinned once; every step is planned and gated\n' +
        "up front (dry-run children; the upgrade's schema gate counts this run's pending expand migrations as applied),\n" +
        'then one approval covers the whole plan. Steps run as child runs you can watch on their own:\n' +
        '  1. migrate --phase expand      2. upgrade --all (rollback on failure)\n' +
        "  3. the target's required data migrations, on their own ids fw/<cluster>/data/<service>.<id>, so\n" +
        '     `data-migrate pause|resume|status` work while the release waits for them\n' +
        '  4. migrate --phase postdeploy (its data-migration gate checked for real)\n' +
        'The first failure stops the run. Contract migrations stay a separate, explicit step.\n' +
        'The upgrade step runs every `upgrade` gate (release line proven by content identity, downgrades, below-floor\n' +
        'guard, catalog transitions); --unsafe-allow-unknown-version and --allow-downgrade reach it and print BYPASSED.',
    )
    .action(async (opts) => {
      const { releaseCommand } = load<typeof import('./commands/release')>('./commands/release');
      await releaseCommand(opts, program.opts());
    });

  program
    .command('worker')
    .description('run the worker that executes runs for the given clusters (task queue fw-<cluster>)')
    .requiredOption(
      '--manifest <path>',
      'cluster manifest to serve; repeat for several clusters',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--age-key <file>', 'age key for SOPS-encrypted hosts and env files (default: $SOPS_AGE_KEY_FILE)')
    .option(
      '--ssh-key <file>',
      'SSH private key for cluster hosts (default: orchestrator.yaml ssh.identity_file, else ~/.ssh/id_ed25519)',
    )
    .option(
      '--gitops-dir <dir>',
      "release repository / gitops checkout (default: $FRAMEWORKS_GITOPS_DIR, else the manifest's gitops root)",
    )
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .option(
      '--metrics <host:port>',
      'serve Prometheus metrics at http://<host:port>/metrics, e.g. 127.0.0.1:9464 (default: $FRAMEWORKS_METRICS_ADDRESS, else off)',
    )
    .addHelpText(
      'after',
      "\nThe manifest is the operator's FrameWorks cluster manifest (clusters/<env>/cluster.yaml) as it is. The worker\n" +
        'alone reads its hosts_file and env_files (decrypting SOPS files with the age key). What FrameWorks does not\n' +
        'describe comes from orchestrator.yaml beside the manifest (or $FRAMEWORKS_ORCHESTRATOR_CONFIG):\n' +
        '  cluster, ssh.{identity_file,known_hosts,config}, release_repositories, service_manager, migrations_dir,\n' +
        '  catalog_dir, databases.url_env, hosts.<name>.arch\n' +
        "Cluster name: orchestrator.yaml cluster, else $FRAMEWORKS_CLUSTER, else the manifest's folder name.\n" +
        'Environment: FRAMEWORKS_SSH_KEY, FRAMEWORKS_KNOWN_HOSTS, FRAMEWORKS_GITOPS_DIR, SOPS_AGE_KEY_FILE,\n' +
        '  FRAMEWORKS_METRICS_ADDRESS, FRAMEWORKS_SSH_IDLE_SECONDS (host sessions kept between steps; 30, 0 = off).\n' +
        "\nMetrics (with --metrics): the Temporal SDK's own (temporal_*: workflow/activity tasks, latencies, polls) and\n" +
        "the orchestrator's counters, labelled by cluster and service: frameworks_upgrades_{started,succeeded,failed},\n" +
        'frameworks_rollbacks, frameworks_gate_refusals{gate}, frameworks_data_migration_rows{migration,kind} and the\n' +
        'gauge frameworks_data_migration_rows_per_second. Values live in this process: they restart at zero with it.\n' +
        '\nCrash testing (lab only): FRAMEWORKS_CHAOS=<activityType|*>:<before|after|wft> makes the worker SIGKILL\n' +
        'itself at that point (FRAMEWORKS_CHAOS_ONCE=<file>: once across workers); refused unless FRAMEWORKS_CHAOS_LAB=1,\n' +
        'a loopback Temporal address and no API key, TLS or TEMPORAL_PROFILE.',
    )
    .action(async (opts) => {
      const { workerCommand } = load<typeof import('../worker/main')>('../worker/main');
      await workerCommand(opts);
    });
  const dev = program.command('dev').description('local development environment');
  dev
    .command('lab')
    .argument('<action>', 'up | down | status')
    .description('the local lab cluster: three network-namespace hosts with sshd, dockerd, a registry (root only)')
    .addHelpText(
      'after',
      '\nWrites .data/lab/cluster.yaml and .data/lab/lab.env (FRAMEWORKS_DATABASE_URL); see lab/README.md.',
    )
    .action((action) => {
      if (!['up', 'down', 'status'].includes(action))
        throw new ExitError(`dev lab: unknown action "${action}" (up | down | status)`, 2);
      // The lab is development tooling in TypeScript next to the sources; run it through tsx.
      const root = join(__dirname, '..', '..');
      const r = spawnSync(
        process.execPath,
        [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'lab', 'cli.ts'), action],
        {
          stdio: 'inherit',
        },
      );
      if (r.status !== 0) throw new ExitError('', r.status ?? 1);
    });

  return program;
}
