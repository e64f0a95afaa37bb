// Doctor's worker-side verdicts (reference §7.1, SPEC §8), as pure functions over facts the clusterDoctor
// workflow gathered: databases reachable, hosts reachable over SSH, service probes through SSH, the migration
// ledger per database (missing / checksum drift / pending contract) and data-migration blockers. Every failing
// check carries the command (or action) that fixes it.
//
// Pure and free of Node builtins: workflow code uses it.
import type { ReleaseCatalog } from '../../contracts/catalog';
import type { DoctorCheck, HostAccess } from '../../contracts/doctor';
import type { LedgerRead, MigrationItem } from '../../contracts/migrations';
import { PHASES } from '../../contracts/migrations';
import {
  blockerReason,
  catalogRequirements,
  noRequirementsMessage,
  preDeployWindow,
  requirementKey,
  type LiveState,
} from '../data-migrations/gates';
import { diffExpectedAgainstLedger, summarizeLedgerDiff } from '../migrations/ledger-diff';
import { selectMigrations } from '../migrations/layout';
import { baseVersion } from '../../contracts/version';

type Section = DoctorCheck['section'];

export function check(
  id: string,
  section: Section,
  name: string,
  status: DoctorCheck['status'],
  message: string,
  extra: Partial<Pick<DoctorCheck, 'details' | 'fix' | 'notes'>> = {},
): DoctorCheck {
  return {
    id,
    section,
    name,
    status,
    message,
    details: extra.details ?? [],
    fix: extra.fix ?? [],
    notes: extra.notes ?? [],
  };
}

/** One check per database: can the worker connect and read it (the ledger read doubles as the probe). */
export function databaseChecks(ledgers: readonly LedgerRead[], urlEnv: string | undefined): DoctorCheck[] {
  return ledgers.map((l) =>
    l.state === 'ok'
      ? check(`postgres:${l.database}`, 'infrastructure', `postgres ${l.database}`, 'healthy', 'reachable')
      : check(`postgres:${l.database}`, 'infrastructure', `postgres ${l.database}`, 'unhealthy', l.error, {
          fix: [
            `check that the database server is up and that ${urlEnv ?? 'databases.url_env'} in the worker's environment ` +
              `points at it, then restart \`frameworks worker\``,
          ],
        }),
  );
}

export function hostChecks(access: HostAccess): DoctorCheck[] {
  return access.hosts.map((h) =>
    h.reachable
      ? check(`ssh:${h.host}`, 'infrastructure', `ssh ${h.host}`, 'healthy', `reachable over SSH (port ${h.port})`)
      : check(`ssh:${h.host}`, 'infrastructure', `ssh ${h.host}`, 'unhealthy', h.error ?? 'unreachable', {
          fix: [`${h.ssh} true   # must succeed from the worker's machine with the pinned host key`],
        }),
  );
}

export interface ProbeFact {
  service: string;
  host: string;
  /** undefined: not probed because the host is unreachable. */
  result?: { healthy: boolean; error?: string };
}

export function serviceChecks(probes: readonly ProbeFact[], access: HostAccess): DoctorCheck[] {
  return probes.map((p) => {
    const id = `service:${p.service}@${p.host}`;
    const name = `${p.service}@${p.host}`;
    const inspect = access.inspect[name];
    if (!p.result) {
      return check(id, 'services', name, 'unhealthy', `not probed: host ${p.host} is unreachable over SSH`, {
        fix: [`fix ssh ${p.host} first (see above)`],
      });
    }
    if (p.result.healthy) return check(id, 'services', name, 'healthy', 'health probe passed (through SSH)');
    return check(id, 'services', name, 'unhealthy', `health probe failed: ${p.result.error ?? 'unhealthy'}`, {
      fix: inspect ? [inspect] : [],
    });
  });
}

/** The items a ledger must hold up to the target: every phase, at or above the catalog's baseline floor. */
export function expectedItems(items: readonly MigrationItem[], database: string, target: string, floor?: string) {
  return PHASES.flatMap((phase) =>
    selectMigrations(items, { phase, target, databases: [database], ...(floor ? { floor } : {}) }),
  );
}

export function ledgerChecks(input: {
  items: readonly MigrationItem[];
  ledgers: readonly LedgerRead[];
  target: string | null;
  floor?: string;
}): DoctorCheck[] {
  return input.ledgers.map((l) => {
    const id = `ledger:${l.database}`;
    const name = `migrations ${l.database}`;
    if (!input.target) {
      return check(id, 'migrations', name, 'degraded', 'cannot resolve the target version to compare the ledger with', {
        fix: ['see the "target release" check'],
      });
    }
    if (l.state === 'error') {
      return check(id, 'migrations', name, 'degraded', `cannot read _migrations: ${l.error}`, {
        fix: [`see the "postgres ${l.database}" check`],
      });
    }
    const t = input.target;
    const diff = diffExpectedAgainstLedger(expectedItems(input.items, l.database, t, input.floor), l.rows);
    const verdict = summarizeLedgerDiff(diff, t);
    const fix: string[] = [];
    for (const m of diff.mismatched) {
      fix.push(
        `restore ${m.item.relPath} to the bytes that were applied (ledger ${m.ledgerChecksum.slice(0, 12)}…), e.g. from ` +
          'version control; put the change in a NEW migration, then `frameworks cluster migrate validate`',
      );
    }
    for (const phase of ['expand', 'postdeploy'] as const) {
      if (diff.missing.some((i) => i.phase === phase))
        fix.push(`frameworks cluster migrate --phase ${phase} --to-version ${t}`);
    }
    const notes =
      diff.pendingContract.length > 0
        ? [
            `contract cleanup, when the release is verified: frameworks cluster migrate --phase contract --to-version ${t} --yes`,
          ]
        : [];
    return check(id, 'migrations', name, verdict.status, verdict.message, { details: verdict.details, fix, notes });
  });
}

function fixFor(key: string, state: LiveState | undefined, target: string): string {
  if (state?.kind === 'status' && state.status === 'paused') return `frameworks cluster data-migrate resume ${key}`;
  if (state?.kind === 'status') return `frameworks cluster data-migrate run ${key}`;
  return `frameworks cluster data-migrate list --to-version ${target}`;
}

/** Required data migrations of prior release lines (the pre-deploy window) must be completed; the target's own are notes. */
export function dataMigrationCheck(input: {
  catalog: { ok: true; catalog: ReleaseCatalog } | { ok: false; error: string };
  target: string | null;
  states: Readonly<Record<string, LiveState>>;
}): DoctorCheck {
  const id = 'data-migrations';
  const name = 'data migrations';
  if (!input.target) {
    return check(id, 'data-migrations', name, 'degraded', 'cannot resolve the target version', {
      fix: ['see the "target release" check'],
    });
  }
  if (!input.catalog.ok) {
    return check(id, 'data-migrations', name, 'degraded', `release catalog failed to load: ${input.catalog.error}`, {
      fix: ['fix the catalog file named above, then `frameworks cluster doctor`'],
    });
  }
  const t = input.target;
  const reqs = catalogRequirements(input.catalog.catalog, t);
  if (reqs.length === 0)
    return check(id, 'data-migrations', name, 'healthy', noRequirementsMessage(input.catalog.catalog, t));
  const window = preDeployWindow(reqs, t);
  const blocked = window.flatMap((r) => {
    const key = requirementKey(r);
    const reason = blockerReason(input.states[key]);
    return reason === undefined ? [] : [{ key, r, reason }];
  });
  // The target's own backfills run after its deploy: pending or running is expected (a note), but one that is
  // paused or failed will not finish by itself and blocks the target's later phases.
  const notes: string[] = [];
  for (const r of reqs.filter((r) => baseVersion(r.introduced_in) === baseVersion(t))) {
    const key = requirementKey(r);
    const state = input.states[key];
    const reason = blockerReason(state);
    if (reason === undefined) continue;
    if (state?.kind === 'status' && (state.status === 'paused' || state.status === 'failed')) {
      blocked.push({ key, r, reason: `${reason} (blocks ${r.required_before_phase})` });
    } else {
      notes.push(`${key} (${t}, required before ${r.required_before_phase}) is ${reason}: ${fixFor(key, state, t)}`);
    }
  }
  if (blocked.length > 0) {
    return check(id, 'data-migrations', name, 'degraded', `${blocked.length} required data migration(s) blocked`, {
      details: blocked.map((b) => `${b.key} (introduced ${b.r.introduced_in}): ${b.reason}`),
      fix: [...new Set(blocked.map((b) => fixFor(b.key, input.states[b.key], t)))],
      notes,
    });
  }
  return check(
    id,
    'data-migrations',
    name,
    'healthy',
    window.length > 0
      ? `${window.length} required data migration(s) completed`
      : `no prior-release data migrations due before ${t}`,
    { notes },
  );
}
