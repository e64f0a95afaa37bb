// doctor's pure verdicts: ledger (edited ⇒ unhealthy, missing ⇒ degraded, pending contract ⇒ healthy with a
// note), data-migration blockers, search attributes, worker presence, the overall status; each failing check
// carries its fix.
import { describe, expect, it } from 'vitest';
import type { ReleaseCatalog } from '../../src/contracts/catalog';
import type { LedgerRead, MigrationItem } from '../../src/contracts/migrations';
import {
  databaseChecks,
  dataMigrationCheck,
  hostChecks,
  ledgerChecks,
  serviceChecks,
} from '../../src/domain/doctor/cluster-checks';
import { searchAttributesCheck, summarize, workerCheck } from '../../src/domain/doctor/local-checks';

const item = (version: string, phase: MigrationItem['phase'], seq: number, c: string): MigrationItem => ({
  database: 'db',
  version,
  phase,
  seq,
  filename: `00${seq}_x.sql`,
  checksum: c.repeat(64),
  transactional: true,
  relPath: `db/${version}/${phase}/00${seq}_x.sql`,
});
const row = (i: MigrationItem, checksum = i.checksum) => ({ ...i, checksum });
const ledger = (rows: ReturnType<typeof row>[]): LedgerRead => ({
  state: 'ok',
  database: 'db',
  tableExists: true,
  rows,
});

describe('ledgerChecks', () => {
  const e1 = item('v0.1.0', 'expand', 1, 'a');
  const e2 = item('v0.2.0', 'expand', 1, 'b');
  const c1 = item('v0.2.0', 'contract', 1, 'c');
  it('distinguishes edited, missing and pending-contract, each with its fix or note', () => {
    const [edited] = ledgerChecks({ items: [e1], ledgers: [ledger([row(e1, 'f'.repeat(64))])], target: 'v0.2.0' });
    expect(edited).toMatchObject({ status: 'unhealthy', id: 'ledger:db' });
    expect(edited!.fix[0]).toContain('restore db/v0.1.0/expand/001_x.sql');
    const [missing] = ledgerChecks({ items: [e1, e2], ledgers: [ledger([row(e1)])], target: 'v0.2.0' });
    expect(missing).toMatchObject({ status: 'degraded', message: '1 migration(s) missing from ledger up to v0.2.0' });
    expect(missing!.fix).toEqual(['frameworks cluster migrate --phase expand --to-version v0.2.0']);
    const [pending] = ledgerChecks({ items: [e1, c1], ledgers: [ledger([row(e1)])], target: 'v0.2.0' });
    expect(pending).toMatchObject({ status: 'healthy', fix: [] });
    expect(pending!.notes[0]).toContain('frameworks cluster migrate --phase contract --to-version v0.2.0 --yes');
    const [unknown] = ledgerChecks({ items: [e1], ledgers: [ledger([])], target: null });
    expect(unknown!.status).toBe('degraded');
  });
});

describe('dataMigrationCheck', () => {
  const catalog: ReleaseCatalog = {
    service_databases: { purser: 'purser' },
    releases: [
      { version: 'v0.1.0', required_data_migrations: [], rollback_disabled: [] },
      {
        version: 'v0.2.0',
        required_data_migrations: [
          { id: 'lines', service: 'purser', introduced_in: 'v0.2.0', required_before_phase: 'contract', driver: 'sql' },
        ],
        rollback_disabled: [],
      },
      { version: 'v0.3.0', required_data_migrations: [], rollback_disabled: [] },
    ],
  } as unknown as ReleaseCatalog;
  const ok = { ok: true as const, catalog };
  it('a prior-line requirement not completed is blocked (resume when paused, run otherwise)', () => {
    const paused = dataMigrationCheck({
      catalog: ok,
      target: 'v0.3.0',
      states: { 'purser.lines': { kind: 'status', status: 'paused' } },
    });
    expect(paused).toMatchObject({ status: 'degraded', message: '1 required data migration(s) blocked' });
    expect(paused.fix).toEqual(['frameworks cluster data-migrate resume purser.lines']);
    const pending = dataMigrationCheck({ catalog: ok, target: 'v0.3.0', states: {} });
    expect(pending.fix).toEqual(['frameworks cluster data-migrate list --to-version v0.3.0']);
    const done = dataMigrationCheck({
      catalog: ok,
      target: 'v0.3.0',
      states: { 'purser.lines': { kind: 'status', status: 'completed' } },
    });
    expect(done).toMatchObject({ status: 'healthy', message: '1 required data migration(s) completed' });
  });
  it("the target's own backfill is a note while pending, blocked once failed", () => {
    const pending = dataMigrationCheck({
      catalog: ok,
      target: 'v0.2.0',
      states: { 'purser.lines': { kind: 'status', status: 'pending' } },
    });
    expect(pending.status).toBe('healthy');
    expect(pending.notes[0]).toContain('frameworks cluster data-migrate run purser.lines');
    const failed = dataMigrationCheck({
      catalog: ok,
      target: 'v0.2.0',
      states: { 'purser.lines': { kind: 'status', status: 'failed' } },
    });
    expect(failed).toMatchObject({ status: 'degraded', fix: ['frameworks cluster data-migrate run purser.lines'] });
    expect(
      dataMigrationCheck({ catalog: { ok: false, error: 'bad' }, target: 'v0.2.0', states: {} }).message,
    ).toContain('release catalog failed to load');
  });
});

describe('local checks', () => {
  it('search attributes: missing ones are unhealthy with the create command; a wrong type is named', () => {
    const c = searchAttributesCheck(
      { FwCluster: 'Keyword', FwServices: 'KeywordList' },
      { FwServices: 'Keyword' },
      'ns',
    );
    expect(c.status).toBe('unhealthy');
    expect(c.fix).toEqual(['temporal operator search-attribute create --namespace ns --name FwCluster --type Keyword']);
    expect(c.details).toContain('FwServices: registered as Keyword, expected KeywordList');
    expect(searchAttributesCheck({ FwCluster: 'Keyword' }, { FwCluster: 'Keyword' }, 'ns').status).toBe('healthy');
  });
  it('no worker is unhealthy with the worker command; the overall status is the worst, skipped ignored', () => {
    const w = workerCheck(false, 'fw-lab', '/x/cluster.yaml');
    expect(w.fix[0]).toContain('frameworks worker --manifest /x/cluster.yaml');
    expect(summarize([w]).status).toBe('unhealthy');
    expect(summarize([workerCheck(true, 'fw-lab', 'm'), { ...w, status: 'skipped' }])).toEqual({
      status: 'healthy',
      summary: { healthy: 1, degraded: 0, unhealthy: 0, skipped: 1 },
    });
  });
});

// Reference item 71: each infrastructure kind this doctor checks maps to a command the operator can run.
describe('infrastructure and service remediation', () => {
  it('postgres (and YSQL) names the url env and the worker restart; SSH the exact ssh command; services their inspect command', () => {
    const [db] = databaseChecks(
      [{ state: 'error', database: 'purser', error: 'connect ECONNREFUSED 10.0.0.5:5432' }],
      'FW_DATABASE_URL',
    );
    expect(db).toMatchObject({ id: 'postgres:purser', section: 'infrastructure', status: 'unhealthy' });
    expect(db!.fix).toEqual([
      "check that the database server is up and that FW_DATABASE_URL in the worker's environment points at it, then restart `frameworks worker`",
    ]);
    const access = {
      hosts: [
        { host: 'h1', port: 22, reachable: false, error: 'timed out', ssh: 'ssh -i /k/id -p 22 deploy@h1' },
        { host: 'h2', port: 22, reachable: true, ssh: 'ssh deploy@h2' },
      ],
      inspect: { 'bridge@h2': 'ssh deploy@h2 docker logs --tail 50 frameworks-bridge' },
    };
    const [h1, h2] = hostChecks(access);
    expect(h1!.fix).toEqual([
      "ssh -i /k/id -p 22 deploy@h1 true   # must succeed from the worker's machine with the pinned host key",
    ]);
    expect(h2).toMatchObject({ status: 'healthy', fix: [] });
    const services = serviceChecks(
      [
        { service: 'purser', host: 'h1' },
        { service: 'bridge', host: 'h2', result: { healthy: false, error: 'HTTP 500' } },
      ],
      access,
    );
    expect(services.map((s) => [s.name, s.status, s.fix])).toEqual([
      ['purser@h1', 'unhealthy', ['fix ssh h1 first (see above)']],
      ['bridge@h2', 'unhealthy', ['ssh deploy@h2 docker logs --tail 50 frameworks-bridge']],
    ]);
  });
});
