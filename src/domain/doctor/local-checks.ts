// Doctor's CLI-side verdicts (SPEC §8): what the operator's machine can check with no worker at all — Temporal
// reachable, the search attributes registered in the namespace, a worker polling fw-<cluster>, the catalog and
// migration files loadable — and the overall verdict. Pure; the CLI gathers the facts.
import type { DoctorCheck, DoctorReport } from '../../contracts/doctor';
import { check } from './cluster-checks';

export function temporalCheck(target: { address: string; namespace: string }, error?: string): DoctorCheck {
  const where = `${target.address} (namespace ${target.namespace})`;
  return error
    ? check('temporal', 'orchestrator', 'temporal', 'unhealthy', `cannot reach Temporal at ${where}: ${error}`, {
        fix: [
          'npm run temporal   # a local dev server; or set TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY for a production cluster',
        ],
      })
    : check('temporal', 'orchestrator', 'temporal', 'healthy', `reachable at ${where}`);
}

/**
 * `expected` name → type as the temporal CLI spells it; `registered` the namespace's custom attributes. A missing
 * or mistyped attribute makes every run start fail, so it is unhealthy, not a cosmetic problem.
 */
export function searchAttributesCheck(
  expected: Readonly<Record<string, string>>,
  registered: Readonly<Record<string, string>>,
  namespace: string,
): DoctorCheck {
  const problems = Object.entries(expected).filter(([name, type]) => registered[name] !== type);
  if (problems.length === 0) {
    return check(
      'search-attributes',
      'orchestrator',
      'search attributes',
      'healthy',
      `${Object.keys(expected).join(', ')} registered`,
    );
  }
  return check(
    'search-attributes',
    'orchestrator',
    'search attributes',
    'unhealthy',
    `${problems.length} search attribute(s) missing or mistyped in namespace ${namespace}; runs cannot start`,
    {
      details: problems.map(([name, type]) =>
        registered[name]
          ? `${name}: registered as ${registered[name]}, expected ${type}`
          : `${name}: not registered (${type})`,
      ),
      fix: problems
        .filter(([name]) => !registered[name])
        .map(
          ([name, type]) =>
            `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`,
        ),
    },
  );
}

export function workerCheck(polling: boolean, taskQueue: string, manifestPath: string): DoctorCheck {
  return polling
    ? check('worker', 'orchestrator', 'worker', 'healthy', `a worker is polling ${taskQueue}`)
    : check('worker', 'orchestrator', 'worker', 'unhealthy', `no worker polling ${taskQueue}`, {
        fix: [`frameworks worker --manifest ${manifestPath}   # near the cluster, with the same Temporal settings`],
      });
}

export function catalogCheck(
  result: { ok: true; source: string } | { ok: false; error: string; source: string },
): DoctorCheck {
  return result.ok
    ? check('catalog', 'orchestrator', 'catalog', 'healthy', `loads from ${result.source}`)
    : check('catalog', 'orchestrator', 'catalog', 'degraded', `release catalog failed to load: ${result.error}`, {
        fix: [`fix the file and key named above (catalog: ${result.source}), then \`frameworks cluster doctor\``],
      });
}

export function migrationFilesCheck(problems: readonly string[], root: string): DoctorCheck {
  return problems.length === 0
    ? check('migration-files', 'orchestrator', 'migration files', 'healthy', `${root} lints clean`)
    : check(
        'migration-files',
        'orchestrator',
        'migration files',
        'degraded',
        `${problems.length} problem(s) in ${root}`,
        {
          details: [...problems],
          fix: ['frameworks cluster migrate validate   # every problem with file:line'],
        },
      );
}

/** The worker-side checks, when they cannot run: one skipped line saying why and how to get them. */
export function workerChecksSkipped(reason: string, fix: string[]): DoctorCheck {
  return check('cluster-checks', 'infrastructure', 'hosts, services, ledger', 'skipped', reason, { fix });
}

const RANK = { healthy: 0, skipped: 0, degraded: 1, unhealthy: 2 } as const;

export function summarize(checks: readonly DoctorCheck[]): Pick<DoctorReport, 'status' | 'summary'> {
  const summary = { healthy: 0, degraded: 0, unhealthy: 0, skipped: 0 };
  let worst = 0;
  for (const c of checks) {
    summary[c.status] += 1;
    worst = Math.max(worst, RANK[c.status]);
  }
  return { status: worst === 2 ? 'unhealthy' : worst === 1 ? 'degraded' : 'healthy', summary };
}
