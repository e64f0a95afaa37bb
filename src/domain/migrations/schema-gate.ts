// The upgrade's schema gate (SPEC §6, reference §6.2.4, §10 item 2), as a pure function over facts the
// workflow already read: before a DB-backed service's new binary is deployed, every expand migration up to the
// target and the cumulative postdeploy set of the HIGHEST catalog release below the target must be in the
// owning database's ledger with matching checksums. The target's own postdeploy is excluded: it runs after the
// deploy. Target-relative on purpose: it never asks which versions replicas run. Anything it cannot prove (a
// ledger that failed to read, or was not read at all) refuses.
//
// Pure and free of Node builtins: workflow code uses it.
import type { ReleaseCatalog } from '../../contracts/catalog';
import { ledgerKey, type LedgerRead, type MigrationItem } from '../../contracts/migrations';
import { releasesBelow } from '../catalog';
import { versionProblem } from '../../contracts/version';
import { describeItem, selectMigrations } from './layout';

export interface SchemaGateInput {
  /** Every discovered migration (all databases, phases, versions); the gate selects what applies. */
  items: readonly MigrationItem[];
  catalog: ReleaseCatalog;
  target: string;
  /** Ledger reads per database; the owning database's entry is used. */
  ledgers: readonly LedgerRead[];
  /** The database the service owns (catalog `service_databases`). */
  database: string;
}

export type SchemaGapSection = 'expand' | 'prior postdeploy';

export type SchemaGateProblem =
  | { kind: 'missing'; section: SchemaGapSection; item: MigrationItem; message: string }
  | {
      kind: 'checksum-mismatch';
      section: SchemaGapSection;
      item: MigrationItem;
      ledgerChecksum: string;
      message: string;
    }
  | { kind: 'unreadable'; database: string; message: string };

export type SchemaGateResult =
  | {
      ok: true;
      /** How many ledger entries were proven, for the `[gate]` success line. */
      checked: number;
      /** The release whose postdeploy set was required; absent when the target has no prior release. */
      prior?: string;
    }
  | { ok: false; problems: SchemaGateProblem[]; remediation: string[] };

export function expandRemediation(target: string): string {
  return `frameworks cluster migrate --phase expand --to-version ${target}`;
}

export function postdeployRemediation(prior: string): string {
  return `frameworks cluster migrate --phase postdeploy --to-version ${prior}`;
}

/** What fixes an applied migration whose file changed: its applied bytes back, the change in a new file. */
export function editedRemediation(files: readonly string[]): string {
  return (
    `restore ${files.join(', ')} to the bytes that were applied (the ledger checksum; e.g. git checkout of the ` +
    'release that shipped it) and put the change in a new migration'
  );
}

export function checkSchemaGate(input: SchemaGateInput): SchemaGateResult {
  const { catalog, target, database } = input;
  const badTarget = versionProblem(target);
  if (badTarget) {
    return {
      ok: false,
      problems: [{ kind: 'unreadable', database, message: `target version cannot be checked: ${badTarget}` }],
      remediation: [],
    };
  }
  const ledger = input.ledgers.find((l) => l.database === database);
  if (!ledger || ledger.state === 'error') {
    const why = ledger?.state === 'error' ? ledger.error : 'no ledger read was made for it';
    return {
      ok: false,
      problems: [
        {
          kind: 'unreadable',
          database,
          message: `cannot read the _migrations ledger of ${database} (${why}); refusing because applied migrations cannot be proven`,
        },
      ],
      remediation: ['frameworks cluster doctor'],
    };
  }

  const floor = catalog.schema_migration_floor;
  const scope = { databases: [database], ...(floor ? { floor } : {}) };
  const expand = selectMigrations(input.items, { ...scope, phase: 'expand', target });
  const priorRelease = releasesBelow(catalog, target).at(-1)?.version;
  const postdeploy = priorRelease
    ? selectMigrations(input.items, { ...scope, phase: 'postdeploy', target: priorRelease })
    : [];

  const applied = new Map(ledger.rows.map((r) => [ledgerKey(r), r.checksum]));
  const problems: SchemaGateProblem[] = [];
  const check = (section: SchemaGapSection, items: MigrationItem[]) => {
    for (const item of items) {
      const checksum = applied.get(ledgerKey(item));
      if (checksum === undefined) {
        problems.push({ kind: 'missing', section, item, message: describeItem(item) });
      } else if (checksum !== item.checksum) {
        problems.push({
          kind: 'checksum-mismatch',
          section,
          item,
          ledgerChecksum: checksum,
          message: `${describeItem(item)} (checksum mismatch: ledger=${checksum}, file=${item.checksum})`,
        });
      }
    }
  };
  check('expand', expand);
  check('prior postdeploy', postdeploy);

  if (problems.length === 0) {
    return { ok: true, checked: expand.length + postdeploy.length, ...(priorRelease ? { prior: priorRelease } : {}) };
  }
  // Only phases with gaps get a command, and postdeploy always names the PRIOR release, never the target
  // (reference §9 items 19–21): the target's own postdeploy must wait until its binaries are deployed.
  // An edited file is not fixed by migrating (migrate refuses edited migrations too): the fix is restoring the
  // applied bytes, so a phase command is suggested only for missing items.
  const remediation: string[] = [];
  if (problems.some((p) => p.kind === 'missing' && p.section === 'expand')) remediation.push(expandRemediation(target));
  if (priorRelease && problems.some((p) => p.kind === 'missing' && p.section === 'prior postdeploy')) {
    remediation.push(postdeployRemediation(priorRelease));
  }
  const edited = problems.filter((p) => p.kind === 'checksum-mismatch').map((p) => describeItem(p.item));
  if (edited.length > 0) remediation.push(editedRemediation(edited));
  return { ok: false, problems, remediation };
}

/** The refusal text of reference §6.2.4 (`[gate] migrations required before deploying <svc> <t>:` …). */
export function formatSchemaGateRefusal(
  service: string,
  target: string,
  result: Extract<SchemaGateResult, { ok: false }>,
): string {
  const lines = [`[gate] migrations required before deploying ${service} ${target}:`];
  for (const p of result.problems.filter((p) => p.kind === 'unreadable')) lines.push(`  ${p.message}`);
  for (const section of ['expand', 'prior postdeploy'] as const) {
    const gaps = result.problems.filter((p) => p.kind !== 'unreadable' && p.section === section);
    if (gaps.length === 0) continue;
    lines.push(`  ${section}:`);
    for (const g of gaps) lines.push(`    ${g.message}`);
  }
  for (const cmd of result.remediation) lines.push(cmd.startsWith('frameworks ') ? `run: ${cmd}` : `fix: ${cmd}`);
  return lines.join('\n');
}
