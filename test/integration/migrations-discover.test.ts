// Discovery and `migrate validate` against real folders (reference §4.1, §4.3; §9 items 94–95, 97): layout,
// order, checksums of raw bytes, data/ folders skipped, edits caught before apply, and the shipped tree valid.
import { LAB_MIGRATIONS_DIR } from '../../lab/config';
import { appendFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MigrationFileChangedError, discoverMigrations, readMigrationSql } from '../../src/config/migrations';
import { loadCatalogFor } from '../../src/activities/catalog';
import { loadClusterConfig } from '../../src/activities/cluster-config';
import { migrateValidateCommand, validateMigrationTree } from '../../src/cli/commands/migrate-validate';
import type { Output } from '../../src/cli/output';
import { parseReleaseCatalog } from '../../src/contracts/catalog';
import { ExitError } from '../../src/errors';
import { LAB_CATALOG_DIR } from '../../lab/config';
import { FIXTURES, writeFixtureCluster } from '../helpers/fixtures';

function tree(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), 'fw-migs-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  return root;
}

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const catalog = parseReleaseCatalog(
  'service_databases: { purser: purser, commodore: commodore }\nreleases:\n  - version: v0.1.0\n  - version: v0.2.0\n',
  'releases.yaml',
);

function captureOutput(): Output & { lines: string[] } {
  const lines: string[] = [];
  const push = (t = '') => lines.push(t);
  return {
    lines,
    tty: false,
    color: false,
    line: push,
    heading: push,
    ok: (t) => push(`✓ ${t}`),
    warn: push,
    fail: push,
    json: (v) => push(JSON.stringify(v)),
    nextSteps: () => undefined,
    dim: (t) => t,
    bold: (t) => t,
  };
}

describe('discoverMigrations', () => {
  it('finds <db>/<version>/<phase>/*.sql in application order, with .notx.sql non-transactional', () => {
    const root = tree({
      'purser/v0.2.0/contract/001_c.sql': 'ALTER TABLE t DROP COLUMN x;',
      'purser/v0.2.0/expand/002_idx.notx.sql': 'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (x);',
      'purser/v0.2.0/expand/001_a.sql': 'CREATE TABLE t (x int);',
      'purser/v0.10.0/expand/001_late.sql': 'SELECT 1;',
      'commodore/v0.1.0/expand/001_base.sql': 'SELECT 1;',
      'purser/v0.2.0/postdeploy/001_p.sql': 'SELECT 1;',
      'README.md': '# not a migration',
      'purser/v0.2.0/expand/.hidden.sql': 'SELECT 1;',
    });
    const t = discoverMigrations(root);
    expect(t.problems).toEqual([]);
    expect(t.items.map((i) => `${i.relPath} ${i.transactional}`)).toEqual([
      'commodore/v0.1.0/expand/001_base.sql true',
      'purser/v0.2.0/expand/001_a.sql true',
      'purser/v0.2.0/expand/002_idx.notx.sql false',
      'purser/v0.2.0/postdeploy/001_p.sql true',
      'purser/v0.2.0/contract/001_c.sql true',
      'purser/v0.10.0/expand/001_late.sql true',
    ]);
    expect(t.files).toHaveLength(6);
  });

  it('checksums the raw bytes: a CRLF copy is a different file', () => {
    const lf = 'CREATE TABLE t (x int);\n';
    const root = tree({
      'purser/v0.2.0/expand/001_lf.sql': lf,
      'purser/v0.2.0/expand/002_crlf.sql': Buffer.from(lf.replace('\n', '\r\n')),
    });
    const [a, b] = discoverMigrations(root).items;
    expect(a!.checksum).toBe(sha(lf));
    expect(b!.checksum).not.toBe(a!.checksum);
  });

  it('skips <db>/<version>/data/ (data-migration definitions)', () => {
    const root = tree({
      'purser/v0.2.0/data/invoice-line-items.sql': '-- name: batch\nSELECT 1;',
      'purser/v0.2.0/expand/001_a.sql': 'SELECT 1;',
    });
    const t = discoverMigrations(root);
    expect(t.problems).toEqual([]);
    expect(t.items.map((i) => i.relPath)).toEqual(['purser/v0.2.0/expand/001_a.sql']);
  });

  it('reports flat layouts, unknown databases and bad names as problems, all at once', () => {
    const root = tree({
      'purser/001_flat.sql': 'SELECT 1;',
      'billing/v0.2.0/expand/001_a.sql': 'SELECT 1;',
      'purser/v0.2.0/expand/000_zero.sql': 'SELECT 1;',
      'purser/v0.2.0/sideways/001_a.sql': 'SELECT 1;',
      'purser/v0.2.0/expand/nested/001_deep.sql': 'SELECT 1;',
      'purser/v0.2.0/expand/001_ok.sql': 'SELECT 1;',
    });
    const t = discoverMigrations(root, { knownDatabases: ['purser'] });
    expect(t.items.map((i) => i.relPath)).toEqual(['purser/v0.2.0/expand/001_ok.sql']);
    expect(t.problems.map((p) => p.file).sort()).toEqual([
      'billing/v0.2.0/expand/001_a.sql',
      'purser/001_flat.sql',
      'purser/v0.2.0/expand/000_zero.sql',
      'purser/v0.2.0/expand/nested/001_deep.sql',
      'purser/v0.2.0/sideways/001_a.sql',
    ]);
    expect(t.problems.every((p) => p.rule === 'layout')).toBe(true);
  });

  it('a missing root is an empty tree; symlinked folders are not followed', () => {
    expect(discoverMigrations(join(tmpdir(), 'fw-no-such-migrations'))).toEqual({ items: [], files: [], problems: [] });
    const root = tree({ 'purser/v0.2.0/expand/001_a.sql': 'SELECT 1;' });
    symlinkSync(join(root, 'purser'), join(root, 'loop'));
    expect(discoverMigrations(root).items).toHaveLength(1);
  });
});

describe('readMigrationSql', () => {
  it('returns the SQL while the file is unchanged and refuses once it was edited', () => {
    const root = tree({ 'purser/v0.2.0/expand/001_a.sql': 'CREATE TABLE t (x int);' });
    const [item] = discoverMigrations(root).items;
    expect(readMigrationSql(root, item!)).toBe('CREATE TABLE t (x int);');
    appendFileSync(join(root, item!.relPath), '\nDROP TABLE t;');
    expect(() => readMigrationSql(root, item!)).toThrow(MigrationFileChangedError);
    expect(() => readMigrationSql(root, item!)).toThrow(/checksum mismatch/);
  });

  it('refuses a path that leaves the tree, and a vanished file', () => {
    const root = tree({ 'purser/v0.2.0/expand/001_a.sql': 'SELECT 1;' });
    expect(() => readMigrationSql(root, { relPath: '../../etc/passwd', checksum: sha('') })).toThrow(/leaves/);
    expect(() => readMigrationSql(root, { relPath: 'purser/v0.2.0/expand/009_gone.sql', checksum: sha('') })).toThrow(
      MigrationFileChangedError,
    );
  });
});

describe('migrate validate', () => {
  it('the lab migrations pass against the lab catalog', async () => {
    const cluster = await loadClusterConfig(join(FIXTURES, 'cluster', 'cluster.yaml'));
    const shipped = loadCatalogFor({ ...cluster, catalogDir: LAB_CATALOG_DIR });
    expect(shipped.ok).toBe(true);
    expect(validateMigrationTree(LAB_MIGRATIONS_DIR, shipped)).toEqual([]);
  });

  it('reports layout, lint and catalog problems of a tree together, each once', () => {
    const root = tree({
      'purser/v0.2.0/expand/001_a.sql': 'DROP TABLE t;',
      'purser/v0.2.0/expand/001_b.sql': 'SELECT 1;',
      'purser/v0.3.0/expand/001_future.sql': 'SELECT 1;',
      'billing/v0.2.0/expand/001_a.sql': 'SELECT 1;',
    });
    const problems = validateMigrationTree(root, catalog);
    expect(problems.map((p) => `${p.file} ${p.rule}`).sort()).toEqual([
      'billing/v0.2.0/expand/001_a.sql layout',
      'purser/v0.2.0/expand/001_a.sql expand-destructive',
      'purser/v0.2.0/expand/001_b.sql duplicate-sequence',
      'purser/v0.3.0/expand/001_future.sql version-ceiling',
    ]);
    expect(validateMigrationTree(root, { error: 'bad catalog' }).map((p) => p.rule)).toContain('catalog-load');
  });

  it('the command resolves migrations_dir relative to orchestrator.yaml and exits 1 listing file:line problems', async () => {
    const manifest = writeFixtureCluster({ name: 'migvalidate', migrationsDir: './migs' });
    const dir = dirname(manifest);
    mkdirSync(join(dir, 'migs', 'purser', 'v0.2.0', 'expand'), { recursive: true });
    writeFileSync(join(dir, 'migs', 'purser', 'v0.2.0', 'expand', '001_a.sql'), 'SELECT 1;\nDELETE FROM invoices;\n');

    const out = captureOutput();
    await expect(migrateValidateCommand({ manifest }, out)).rejects.toThrow(ExitError);
    expect(out.lines).toEqual([
      'purser/v0.2.0/expand/001_a.sql:2: expand-destructive: DELETE FROM is not allowed in expand (old binaries still run against this schema); move it to postdeploy or contract',
    ]);
    let thrown: unknown;
    try {
      await migrateValidateCommand({ manifest, json: true }, captureOutput());
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ExitError);
    expect((thrown as ExitError).exitCode).toBe(1);
    expect((thrown as ExitError).message).toMatch(/^1 problem\(s\)/);

    writeFileSync(join(dir, 'migs', 'purser', 'v0.2.0', 'expand', '001_a.sql'), 'CREATE TABLE t (x int);\n');
    const ok = captureOutput();
    expect((await migrateValidateCommand({ manifest }, ok)).problems).toEqual([]);
    expect(ok.lines).toEqual(['✓ 1 migration file(s) valid']);
    const json = captureOutput();
    await migrateValidateCommand({ manifest, json: true }, json);
    expect(JSON.parse(json.lines[0]!)).toMatchObject({ files: 1, valid: true, problems: [] });
  });

  it('without a migrations source the command refuses with the fix; nothing is read from the lab migrations', async () => {
    const manifest = writeFixtureCluster({ name: 'migvalidate-none', migrationsDir: null });
    const out = captureOutput();
    const err = await migrateValidateCommand({ manifest }, out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExitError);
    expect((err as ExitError).message).toMatch(
      /no migrations source is configured for this cluster: set migrations_dir in .*orchestrator\.yaml/,
    );
    expect(out.lines).toEqual([]);
  });
});
