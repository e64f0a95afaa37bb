// The orchestrator's counters by value (what a run's start/end and a batch call contribute) and the worker's
// metrics address (flag, environment, refusal of what the exporter cannot bind).
import { describe, expect, it } from 'vitest';
import { batchIncrements, runEndIncrements, runStartIncrements, UNNAMED_GATE } from '../../src/domain/metrics';
import { ExitError } from '../../src/errors';
import { METRICS_ENV, metricsAddress, parseMetricsAddress } from '../../src/worker/metrics';

const svc = { cluster: 'prod', service: 'commodore', mode: 'docker', hosts: ['h1'] };

describe('run increments', () => {
  it('counts a serviceUpgrade start, and nothing for other workflow types', () => {
    expect(runStartIncrements('serviceUpgrade', svc)).toEqual([
      { metric: 'upgradesStarted', value: 1, labels: { cluster: 'prod', service: 'commodore' } },
    ]);
    expect(runStartIncrements('clusterUpgrade', { cluster: 'prod' })).toEqual([]);
    expect(runStartIncrements('serviceUpgrade', null)).toEqual([
      { metric: 'upgradesStarted', value: 1, labels: { cluster: 'unknown', service: 'unknown' } },
    ]);
  });

  it('sorts serviceUpgrade outcomes into succeeded / failed, with rollbacks beside them', () => {
    const end = (outcome: string) => runEndIncrements('serviceUpgrade', svc, { result: { outcome, hosts: [] } });
    const labels = (outcome: string) => ({ cluster: 'prod', service: 'commodore', outcome });
    expect(end('upgraded')).toEqual([{ metric: 'upgradesSucceeded', value: 1, labels: labels('upgraded') }]);
    expect(end('skipped')).toEqual([{ metric: 'upgradesSucceeded', value: 1, labels: labels('skipped') }]);
    expect(end('failed')).toEqual([{ metric: 'upgradesFailed', value: 1, labels: labels('failed') }]);
    expect(end('rolled-back')).toEqual([
      { metric: 'upgradesFailed', value: 1, labels: labels('rolled-back') },
      { metric: 'rollbacks', value: 1, labels: { cluster: 'prod', service: 'commodore', result: 'succeeded' } },
    ]);
    expect(end('rollback-failed')).toEqual([
      { metric: 'upgradesFailed', value: 1, labels: labels('rollback-failed') },
      { metric: 'rollbacks', value: 1, labels: { cluster: 'prod', service: 'commodore', result: 'failed' } },
    ]);
    // A child that threw (an activity out of retries) is a failed upgrade too.
    expect(runEndIncrements('serviceUpgrade', svc, { error: new Error('ssh: connection refused') })).toEqual([
      { metric: 'upgradesFailed', value: 1, labels: labels('error') },
    ]);
  });

  it('counts one refusal per refusing gate of a refused run, and none for runs that were not refused', () => {
    const checks = [
      { id: 'catalog', status: 'pass' },
      { id: 'schema', status: 'refuse' },
      { id: 'registry', status: 'refuse' },
      { id: 'health', status: 'warn' },
    ];
    expect(runEndIncrements('clusterUpgrade', { cluster: 'prod' }, { result: { state: 'refused', checks } })).toEqual([
      { metric: 'gateRefusals', value: 1, labels: { cluster: 'prod', gate: 'schema' } },
      { metric: 'gateRefusals', value: 1, labels: { cluster: 'prod', gate: 'registry' } },
    ]);
    // A plan says `refused: true` instead of a state.
    expect(runEndIncrements('upgradePlan', { cluster: 'prod' }, { result: { refused: true, checks } })).toHaveLength(2);
    expect(runEndIncrements('schemaMigrate', { cluster: 'prod' }, { result: { state: 'dry-run', checks } })).toEqual(
      [],
    );
    expect(runEndIncrements('upgradePlan', { cluster: 'prod' }, { result: { refused: false, checks } })).toEqual([]);
    // A data migration the worker cannot run is refused with a reason and no checks.
    expect(
      runEndIncrements('dataMigration', { cluster: 'prod' }, { result: { state: 'refused', reason: 'paused' } }),
    ).toEqual([{ metric: 'gateRefusals', value: 1, labels: { cluster: 'prod', gate: UNNAMED_GATE } }]);
    expect(runEndIncrements('clusterUpgrade', { cluster: 'prod' }, { error: new Error('boom') })).toEqual([]);
  });
});

describe('data-migration batch increments', () => {
  const ref = { cluster: 'prod', service: 'purser', id: 'invoice-line-items' };
  const labels = { cluster: 'prod', service: 'purser', migration: 'invoice-line-items' };

  it('counts the rows of this call by kind and its rows/s', () => {
    expect(
      batchIncrements({
        ...ref,
        batch: { scanned: 3000, changed: 2900, skipped: 100, errors: 0 },
        done: false,
        elapsedMs: 1500,
      }),
    ).toEqual([
      { metric: 'dataMigrationRows', value: 3000, labels: { ...labels, kind: 'scanned' } },
      { metric: 'dataMigrationRows', value: 2900, labels: { ...labels, kind: 'changed' } },
      { metric: 'dataMigrationRows', value: 100, labels: { ...labels, kind: 'skipped' } },
      { metric: 'dataMigrationRowsPerSecond', value: 2000, labels },
    ]);
  });

  it('leaves out what earlier attempts committed (they counted it) and reports 0 rows/s once done', () => {
    expect(
      batchIncrements({
        ...ref,
        batch: { scanned: 5000, changed: 5000, skipped: 0, errors: 2 },
        before: { scanned: 4000, changed: 4000, skipped: 0, errors: 2 },
        done: true,
        elapsedMs: 500,
      }),
    ).toEqual([
      { metric: 'dataMigrationRows', value: 1000, labels: { ...labels, kind: 'scanned' } },
      { metric: 'dataMigrationRows', value: 1000, labels: { ...labels, kind: 'changed' } },
      { metric: 'dataMigrationRowsPerSecond', value: 0, labels },
    ]);
  });
});

describe('worker metrics address', () => {
  it('takes the flag over the environment, and is off when neither is set', () => {
    expect(metricsAddress('127.0.0.1:9464', { [METRICS_ENV]: '0.0.0.0:1' })).toBe('127.0.0.1:9464');
    expect(metricsAddress(undefined, { [METRICS_ENV]: ' 0.0.0.0:9464 ' })).toBe('0.0.0.0:9464');
    expect(metricsAddress(undefined, {})).toBeUndefined();
    expect(metricsAddress(undefined, { [METRICS_ENV]: '' })).toBeUndefined();
  });

  it('accepts IP socket addresses and localhost, and refuses what the exporter cannot bind, naming the source', () => {
    expect(parseMetricsAddress('[::]:9464', '--metrics')).toBe('[::]:9464');
    expect(parseMetricsAddress('localhost:9464', '--metrics')).toBe('127.0.0.1:9464');
    for (const bad of [
      '9464',
      'metrics.internal:9464',
      '127.0.0.1',
      '127.0.0.1:0',
      '127.0.0.1:70000',
      '300.0.0.1:80',
    ]) {
      expect(() => parseMetricsAddress(bad, '--metrics')).toThrow(ExitError);
    }
    expect(() => metricsAddress(undefined, { [METRICS_ENV]: 'host:9464' })).toThrow(
      /FRAMEWORKS_METRICS_ADDRESS: "host:9464" is not a metrics address; expected <ip>:<port>/,
    );
  });
});
