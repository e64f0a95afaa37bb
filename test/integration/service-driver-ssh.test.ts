// The service driver end to end over a REAL sshd: the fake service binary (test/fixtures/service-bin) is
// installed in a temp dir as `purser` with its state file next to it, the adoption marker lives in a temp
// marker dir, and every fail-closed case of reference §5.6 is produced by the real remote shell and binary.
import { ApplicationFailure } from '@temporalio/common';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  serviceLiveState,
  serviceRunBatch,
  serviceScopes,
  serviceVerify,
  type ServiceTarget,
} from '../../src/activities/data-migrations/service-driver';
import { connectSsh, exec, type SshConnection } from '../../src/activities/ssh/client';
import type { Checkpoint } from '../../src/contracts/data-migrate';
import type { LiveState } from '../../src/domain/data-migrations/gates';
import { FailureType } from '../../src/errors';
import { startSshd, type TestSshd } from '../helpers/sshd';

const FIXTURE = join(__dirname, '..', 'fixtures', 'service-bin', 'fake-service');

let sshd: TestSshd;
let conn: SshConnection;
let work: string;
let bin: string;
let markers: string;

beforeAll(async () => {
  sshd = await startSshd();
  conn = await connectSsh({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: sshd.privateKey,
    knownHosts: sshd.knownHostsLine,
    readyTimeoutMs: 10_000,
  });
  work = mkdtempSync(join(tmpdir(), 'fw-service-driver-'));
  mkdirSync(join(work, 'bin'));
  bin = join(work, 'bin', 'purser');
  // Pin the interpreter to this Node: the remote PATH of a login may not contain it.
  writeFileSync(bin, readFileSync(FIXTURE, 'utf8').replace(/^#!.*\n/, `#!${process.execPath}\n`));
  chmodSync(bin, 0o755);
  markers = join(work, 'markers');
  mkdirSync(markers);
});
afterAll(async () => {
  await conn?.close();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function setState(state: Record<string, unknown>): void {
  writeFileSync(`${bin}.state.json`, JSON.stringify(state));
}
function adopt(on: boolean): void {
  const marker = join(markers, 'purser.enabled');
  if (on) writeFileSync(marker, '');
  else rmSync(marker, { force: true });
}

function target(overrides: Partial<ServiceTarget> = {}): ServiceTarget {
  return {
    runtime: 'purser',
    invocation: { mode: 'native', bin },
    markerDir: markers,
    runRemote: (argv, opts) => exec(conn, argv, opts),
    ...overrides,
  };
}

/** The error text of a fetch_error state (failing the test for any other kind). */
function fetchError(s: LiveState): string {
  expect(s.kind).toBe('fetch_error');
  return s.kind === 'fetch_error' ? s.error : '';
}

const SCOPES = [
  { kind: 'tenant', value: 't-1' },
  { kind: 'tenant', value: "t'2 $(weird)" },
];

beforeEach(() => {
  adopt(true);
  setState({ migrations: { 'invoice-totals': { total: 25, releaseVersion: 'v0.2.0', scopes: SCOPES } } });
});

describe('service driver over SSH: the protocol', () => {
  it('runs every scope to completion with compare-and-set batches, then verifies', async () => {
    const t = target();
    expect(await serviceLiveState(t, 'invoice-totals')).toEqual({ kind: 'status', status: 'pending' });
    const scopes = await serviceScopes(t, 'invoice-totals');
    expect(scopes).toEqual(SCOPES);

    for (const scope of scopes) {
      let checkpoint: Checkpoint | null = null;
      for (let i = 0; i < 10; i++) {
        const r = await serviceRunBatch(t, {
          id: 'invoice-totals',
          scope,
          expectedCheckpoint: checkpoint,
          batchSize: 10,
        });
        if (r.done) break;
        // A retried batch (same expected checkpoint) applies nothing and returns the stored truth.
        const again = await serviceRunBatch(t, {
          id: 'invoice-totals',
          scope,
          expectedCheckpoint: checkpoint,
          batchSize: 10,
        });
        expect(again).toMatchObject({ outcome: 'stale', checkpoint: r.checkpoint, counts: r.counts });
        checkpoint = r.checkpoint;
      }
      const status = await serviceRunBatch(t, { id: 'invoice-totals', scope, expectedCheckpoint: null, batchSize: 10 });
      expect(status).toMatchObject({ outcome: 'done', done: true, counts: { scanned: 25, changed: 25 } });
    }
    expect(await serviceLiveState(t, 'invoice-totals')).toEqual({ kind: 'status', status: 'completed' });
    expect(await serviceVerify(t, 'invoice-totals')).toEqual([
      { name: 'rows_changed', expected: '50', actual: '50', ok: true },
    ]);
  });
});

describe('service driver over SSH: every fail-closed case (reference §5.6)', () => {
  it('marker missing ⇒ not_adopted (test -f exit 1 is not a transport error); batch ⇒ NotAdopted', async () => {
    adopt(false);
    expect(await serviceLiveState(target(), 'invoice-totals')).toEqual({ kind: 'not_adopted' });
    await expect(
      serviceRunBatch(target(), { id: 'invoice-totals', scope: SCOPES[0]!, expectedCheckpoint: null, batchSize: 5 }),
    ).rejects.toMatchObject({ type: FailureType.NotAdopted, nonRetryable: true });
  });

  it('binary missing on the host (exit 127) ⇒ not_adopted', async () => {
    const t = target({ invocation: { mode: 'native', bin: join(work, 'bin', 'no-such-binary') } });
    expect(await serviceLiveState(t, 'invoice-totals')).toEqual({ kind: 'not_adopted' });
  });

  it.each(['exit-127', 'unknown-command', 'not-adopted'])('binary mode %s ⇒ not_adopted', async (mode) => {
    setState({ mode, migrations: { 'invoice-totals': { total: 5 } } });
    expect(await serviceLiveState(target(), 'invoice-totals')).toEqual({ kind: 'not_adopted' });
  });

  it('an id the binary does not know ⇒ not_registered', async () => {
    expect(await serviceLiveState(target(), 'other-migration')).toEqual({ kind: 'not_registered' });
    setState({ mode: 'not-registered', migrations: {} });
    expect(await serviceLiveState(target(), 'invoice-totals')).toEqual({ kind: 'not_registered' });
  });

  it('other non-zero exit ⇒ fetch_error `status exit N: <stderr>`', async () => {
    setState({ mode: 'fail', migrations: {} });
    expect(await serviceLiveState(target(), 'invoice-totals')).toEqual({
      kind: 'fetch_error',
      error: 'status exit 3: database unavailable: dial tcp 10.0.0.9:5432: connect: connection refused',
    });
  });

  it('unparsable JSON ⇒ fetch_error including the raw output', async () => {
    setState({ mode: 'bad-json', migrations: {} });
    expect(await serviceLiveState(target(), 'invoice-totals')).toEqual({
      kind: 'fetch_error',
      error: 'status returned unparsable JSON: status: ok {not json',
    });
  });

  it('no state table ⇒ missing_table', async () => {
    setState({ mode: 'missing-table', migrations: { 'invoice-totals': { total: 5 } } });
    expect(await serviceLiveState(target(), 'invoice-totals')).toEqual({ kind: 'missing_table' });
  });

  it('a paused job refuses batches with a non-retryable pause failure', async () => {
    setState({ migrations: { 'invoice-totals': { total: 5, status: 'paused' } } });
    const err = await serviceRunBatch(target(), {
      id: 'invoice-totals',
      scope: { kind: '', value: '' },
      expectedCheckpoint: null,
      batchSize: 5,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
  });

  it('a slow binary past the status timeout ⇒ fetch_error', async () => {
    setState({ mode: 'slow', slowMs: 5_000, migrations: { 'invoice-totals': { total: 5 } } });
    const s = await serviceLiveState(target({ timeouts: { statusMs: 500 } }), 'invoice-totals');
    expect(fetchError(s)).toMatch(/^status failed: .*timed out after 500 ms/);
  });

  it('transport errors ⇒ fetch_error', async () => {
    const dead = await connectSsh({
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      privateKey: sshd.privateKey,
      knownHosts: sshd.knownHostsLine,
    });
    await dead.close();
    const s = await serviceLiveState(target({ runRemote: (argv, o) => exec(dead, argv, o) }), 'invoice-totals');
    expect(fetchError(s)).toMatch(/^marker probe .* failed: /);
  });

  it('docker mode on a host without docker ⇒ fetch_error (a broken host is not "not adopted")', async () => {
    const t = target({
      invocation: { mode: 'docker', bin: 'purser', container: 'frameworks-purser' },
      // Only meaningful where docker is absent; with docker present the container is missing (exit 1) instead.
    });
    expect(fetchError(await serviceLiveState(t, 'invoice-totals'))).toMatch(/^status exit/);
  });
});
