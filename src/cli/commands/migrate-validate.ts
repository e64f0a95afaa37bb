// `frameworks cluster migrate validate`: the library function (discover + lint a tree against a catalog) and the
// thin adapter that resolves the cluster's migrations_dir and catalog, prints `file:line: rule: message`
// lines (or JSON) and exits 1 when anything is wrong. Local only: no Temporal, no database.
import { discoverMigrations } from '../../config/migrations';
import { loadCatalog } from '../../config/catalog';
import { noMigrationsSource } from '../../config/cluster';
import type { ReleaseCatalog } from '../../contracts/catalog';
import type { CatalogLoadResult } from '../../contracts/catalog-load';
import { formatLintProblem, lintMigrations, type LintProblem } from '../../domain/migrations/lint';
import { deployedServices } from '../../domain/frameworks/deployed';
import { ExitError } from '../../errors';
import { loadClusterContext } from '../context';
import { createOutput, type Output } from '../output';

export type CatalogInput = ReleaseCatalog | { error: string } | CatalogLoadResult;

function lintCatalog(catalog: CatalogInput): { catalog: ReleaseCatalog | { error: string }; known?: string[] } {
  const c = 'ok' in catalog ? (catalog.ok ? catalog.catalog : { error: catalog.error }) : catalog;
  if ('error' in c) return { catalog: c };
  // The catalog's ownership map names every database this platform has; a folder for any other is a typo.
  return { catalog: c, known: [...new Set(Object.values(c.service_databases))] };
}

export interface ValidationReport {
  root: string;
  files: number;
  problems: LintProblem[];
}

export function validateMigrationTreeReport(root: string, catalog: CatalogInput): ValidationReport {
  const { catalog: lintInput, known } = lintCatalog(catalog);
  const knownDatabases = known && known.length > 0 ? known : undefined;
  const tree = discoverMigrations(root, knownDatabases ? { knownDatabases } : {});
  const linted = lintMigrations(tree.files, { catalog: lintInput, ...(knownDatabases ? { knownDatabases } : {}) });
  // Discovery reports layout problems too (its callers refuse on them); keep each problem once.
  const seen = new Set<string>();
  const problems: LintProblem[] = [];
  for (const p of [...linted, ...tree.problems]) {
    const key = formatLintProblem(p);
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(p);
  }
  return { root, files: tree.files.length, problems };
}

/** Every problem of the tree at `root`; empty when it is valid. */
export function validateMigrationTree(root: string, catalog: CatalogInput): LintProblem[] {
  return validateMigrationTreeReport(root, catalog).problems;
}

export interface MigrateValidateOptions {
  manifest?: string;
  json?: boolean;
}

export async function migrateValidateCommand(
  opts: MigrateValidateOptions,
  out: Output = createOutput(),
): Promise<ValidationReport> {
  const ctx = await loadClusterContext(opts.manifest);
  const settings = ctx.settings;
  if (!settings.migrationsDir) throw new ExitError(noMigrationsSource(settings), 1);
  const catalog = loadCatalog(settings.catalogDir, deployedServices(settings.fw), ctx.manifestPath);
  const report = validateMigrationTreeReport(settings.migrationsDir, catalog);
  const n = report.problems.length;
  if (opts.json) {
    out.json({ root: report.root, files: report.files, valid: n === 0, problems: report.problems });
  } else {
    for (const p of report.problems) out.line(formatLintProblem(p));
    if (n === 0) out.ok(`${report.files} migration file(s) valid`);
  }
  if (n > 0) {
    throw new ExitError(
      `${n} problem(s) in ${report.root}; fix them and run frameworks cluster migrate validate again`,
      1,
    );
  }
  return report;
}
