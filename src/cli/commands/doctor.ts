// `frameworks cluster doctor` (SPEC §5, §8; reference §7.1): checks the operator's machine can make alone
// (Temporal reachable, search attributes registered, a worker polling fw-<cluster>, the catalog and migration
// files) and, when a worker polls, the cluster checks it runs as the read-only `clusterDoctor` workflow (hosts,
// service probes through SSH, databases, the migration ledger, data-migration blockers). Every failing check
// prints what fixes it. Exit 0 when everything is healthy (notes allowed), 3 when anything needs attention.
import type { Client } from '@temporalio/client';
import { loadCatalog } from '../../config/catalog';
import { noMigrationsSource } from '../../config/cluster';
import {
  DoctorReportSchema,
  type ClusterDoctorResult,
  type DoctorCheck,
  type DoctorReport,
} from '../../contracts/doctor';
import { check } from '../../domain/doctor/cluster-checks';
import {
  catalogCheck,
  migrationFilesCheck,
  searchAttributesCheck,
  summarize,
  temporalCheck,
  workerCheck,
  workerChecksSkipped,
} from '../../domain/doctor/local-checks';
import { formatLintProblem } from '../../domain/migrations/lint';
import { deployedServices } from '../../domain/frameworks/deployed';
import { resolveSelector } from '../../domain/selector';
import { ExitError, errorMessage } from '../../errors';
import { connectClient, temporalTarget, webUiLink } from '../../temporal/connection';
import { taskQueueFor } from '../../temporal/ids';
import { SEARCH_ATTRIBUTES } from '../../temporal/search-attributes';
import { loadClusterContext } from '../context';
import { createOutput, type Output } from '../output';
import { describeRunFailure, newReadOnlyId, operatorName, runSearchAttributes } from '../runs';
import { validateMigrationTreeReport } from './migrate-validate';
import { ensurePickedUp, NoWorkerError, workerCommand, workerPresence } from '../worker-presence';

export interface DoctorOptions {
  manifest?: string;
  version?: string;
  json?: boolean;
}

// temporal.api.enums.v1.IndexedValueType, spelled as the `temporal` CLI spells types.
const INDEXED_VALUE_TYPE: Record<number, string> = {
  1: 'Text',
  2: 'Keyword',
  3: 'Int',
  4: 'Double',
  5: 'Bool',
  6: 'Datetime',
  7: 'KeywordList',
};

async function registeredSearchAttributes(client: Client, namespace: string): Promise<Record<string, string>> {
  const res = await client.connection.operatorService.listSearchAttributes({ namespace });
  return Object.fromEntries(
    Object.entries(res.customAttributes ?? {}).map(([name, t]) => [name, INDEXED_VALUE_TYPE[Number(t)] ?? String(t)]),
  );
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const ctx = await loadClusterContext(opts.manifest);
  const selector = opts.version?.trim() || ctx.channel;
  resolveSelector(selector); // a bad --version fails here, before anything runs
  const cluster = ctx.cluster;
  const taskQueue = taskQueueFor(cluster);
  const settings = ctx.settings;
  const catalog = loadCatalog(settings.catalogDir, deployedServices(settings.fw), ctx.manifestPath);
  const checks: DoctorCheck[] = [catalogCheck(catalog)];
  if (!settings.migrationsDir) {
    checks.push(migrationFilesCheck([noMigrationsSource(settings)], '(not configured)'));
  } else {
    try {
      const lint = validateMigrationTreeReport(settings.migrationsDir, catalog);
      checks.push(migrationFilesCheck(lint.problems.map(formatLintProblem), settings.migrationsDir));
    } catch (err) {
      checks.push(migrationFilesCheck([errorMessage(err)], settings.migrationsDir));
    }
  }

  let client: Client | undefined;
  let target = temporalTarget();
  let run: DoctorReport['run'];
  let workerTarget: string | null = null;
  try {
    try {
      const c = await connectClient();
      client = c.client;
      target = c.target;
      await client.workflowService.getSystemInfo({});
      checks.unshift(temporalCheck(target));
    } catch (err) {
      checks.unshift(temporalCheck(target, errorMessage(err).split('. Start a local server')[0]));
      checks.push(
        workerChecksSkipped('Temporal is unreachable: search attributes, worker and cluster checks not run', [
          'fix the temporal check first',
        ]),
      );
      client = undefined;
    }
    if (client) {
      try {
        checks.splice(
          1,
          0,
          searchAttributesCheck(
            SEARCH_ATTRIBUTES,
            await registeredSearchAttributes(client, target.namespace),
            target.namespace,
          ),
        );
      } catch (err) {
        checks.splice(
          1,
          0,
          check(
            'search-attributes',
            'orchestrator',
            'search attributes',
            'degraded',
            `cannot list them: ${errorMessage(err)}`,
            {
              fix: ['temporal operator search-attribute list --namespace ' + target.namespace],
            },
          ),
        );
      }
      const presence = await workerPresence(client, cluster);
      const polling = presence.polling;
      const workerAt = checks.length >= 2 ? 2 : checks.length;
      checks.splice(workerAt, 0, workerCheck(polling, taskQueue, ctx.manifestPath));
      const skipped = (why: string): DoctorCheck =>
        workerChecksSkipped(
          `${why} — start \`${workerCommand(ctx.manifestPath)}\`; ` +
            'hosts, services, databases and the ledger are only reachable from the worker',
          [workerCommand(ctx.manifestPath)],
        );
      if (!polling) {
        checks.push(skipped(`no worker polling ${taskQueue}`));
      } else {
        const workflowId = newReadOnlyId(cluster, 'doctor');
        const handle = await client.workflow.start('clusterDoctor', {
          taskQueue,
          workflowId,
          args: [{ cluster, selector, operator: operatorName() }],
          typedSearchAttributes: runSearchAttributes(cluster, 'doctor'),
          workflowExecutionTimeout: '5 minutes',
        });
        let result: ClusterDoctorResult | undefined;
        try {
          await ensurePickedUp(handle, presence, ctx.manifestPath);
          result = (await handle.result()) as ClusterDoctorResult;
        } catch (err) {
          if (err instanceof NoWorkerError) {
            // The listed poller was a worker that has since stopped: the worker check is unhealthy after all.
            checks.splice(workerAt, 1, workerCheck(false, taskQueue, ctx.manifestPath));
            checks.push(skipped(err.message));
          } else {
            const why = describeRunFailure(err);
            if (why) throw new ExitError(`doctor failed (run ${workflowId}): ${why}`, 1);
            throw err;
          }
        }
        if (result) {
          const webUi = webUiLink(target, workflowId);
          run = { workflowId, runId: handle.firstExecutionRunId, ...(webUi ? { webUi } : {}) };
          workerTarget = result.target;
          if (result.workerChannel !== ctx.channel) {
            checks.push(
              check(
                'worker-channel',
                'orchestrator',
                'worker channel',
                'degraded',
                `the worker serves channel ${result.workerChannel}, ${ctx.manifestPath} says ${ctx.channel}`,
                {
                  fix: [
                    `restart the worker: frameworks worker --manifest ${ctx.manifestPath}   # it reads cluster.yaml when it starts`,
                  ],
                },
              ),
            );
          }
          checks.push(...result.checks);
        }
      }
    }
  } finally {
    await client?.connection.close();
  }
  return DoctorReportSchema.parse({
    cluster,
    manifest: ctx.manifestPath,
    ...summarize(checks),
    target: workerTarget,
    checks,
    ...(run ? { run } : {}),
  });
}

const SECTION_TITLES: Record<DoctorCheck['section'], string> = {
  orchestrator: 'Orchestrator:',
  infrastructure: 'Infrastructure:',
  services: 'Application services (probed through SSH):',
  migrations: 'Database migrations:',
  'data-migrations': 'Data migrations:',
};

function mark(out: Output, status: DoctorCheck['status']): string {
  if (!out.tty) return { healthy: '[OK]  ', degraded: '[WARN]', unhealthy: '[FAIL]', skipped: '[SKIP]' }[status];
  return { healthy: '✓', degraded: '⚠', unhealthy: '✗', skipped: '-' }[status];
}

export function printDoctor(out: Output, report: DoctorReport): void {
  out.heading('Running cluster health checks');
  out.line(
    `Manifest: ${report.manifest} (cluster ${report.cluster}${report.target ? `, target ${report.target}` : ''})`,
  );
  for (const section of Object.keys(SECTION_TITLES) as DoctorCheck['section'][]) {
    const list = report.checks.filter((c) => c.section === section);
    if (list.length === 0) continue;
    out.line();
    out.line(SECTION_TITLES[section]);
    for (const c of list) {
      out.line(`  ${mark(out, c.status)} ${c.name.padEnd(24)} ${c.message}`);
      for (const d of c.details) out.line(out.dim(`        ${d}`));
      for (const n of c.notes) out.line(`        note: ${n}`);
      for (const f of c.fix) out.line(`        fix: ${f}`);
    }
  }
  out.line();
  const s = report.summary;
  out.line('Result:');
  out.line(
    `  ${report.status.toUpperCase()}: ${s.healthy} healthy, ${s.degraded} degraded, ${s.unhealthy} unhealthy${s.skipped ? `, ${s.skipped} skipped` : ''}`,
  );
  const fixes = [...new Set(report.checks.filter((c) => c.status !== 'healthy').flatMap((c) => c.fix))];
  out.nextSteps(fixes.filter((f) => !f.startsWith('see the ') && !f.startsWith('fix ')).map((cmd) => ({ cmd })));
  if (report.run)
    out.line(out.dim(`\nRun ${report.run.workflowId}${report.run.webUi ? ` — ${report.run.webUi}` : ''}`));
}

export async function doctorCommand(opts: DoctorOptions, globals: { color?: boolean }): Promise<void> {
  const report = await runDoctor(opts);
  const out = createOutput({ color: globals.color !== false });
  if (opts.json) out.json(report);
  else printDoctor(out, report);
  if (report.status !== 'healthy') throw new ExitError('', 3);
}
