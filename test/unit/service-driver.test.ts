// The service driver's protocol and its fail-closed classification (reference §5.6), with an in-memory
// transport: every case is decided ON PURPOSE, and a marker probe's exit 1 is "not adopted", not a fetch error.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  dockerExecCommand,
  isNotAdoptedExit,
  markerPath,
  nativeCommand,
  serviceCommand,
  serviceLiveState,
  serviceRunBatch,
  serviceScopes,
  serviceVerify,
  type RemoteResult,
  type ServiceInvocation,
  type ServiceTarget,
} from '../../src/activities/data-migrations/service-driver';
import { blockerReason, type LiveState } from '../../src/domain/data-migrations/gates';
import { FailureType } from '../../src/errors';

const ok = (stdout: string): RemoteResult => ({ code: 0, stdout, stderr: '' });
const exit = (code: number | null, stderr = '', stdout = ''): RemoteResult => ({ code, stdout, stderr });

const JOB = {
  id: 'inv',
  exists: true,
  tablesExist: true,
  status: 'completed',
  releaseVersion: 'v0.2.0',
  lastError: null,
  scopes: [],
};

/** The error text of a fetch_error state (failing the test for any other kind). */
function fetchError(s: LiveState): string {
  expect(s.kind).toBe('fetch_error');
  return s.kind === 'fetch_error' ? s.error : '';
}

interface Fake {
  target: ServiceTarget;
  calls: { argv: string[]; timeoutMs: number }[];
}

/** A transport answering the marker probe with `probe` and every service call with `reply`. */
function fake(
  reply: RemoteResult | Error | ((argv: string[]) => RemoteResult),
  probe: RemoteResult | Error = exit(0),
  invocation: ServiceInvocation = { mode: 'native', bin: 'purser' },
): Fake {
  const calls: Fake['calls'] = [];
  const target: ServiceTarget = {
    runtime: 'purser',
    invocation,
    markerDir: '/tmp/markers',
    secrets: ['hunter2'],
    runRemote: (argv, { timeoutMs }) => {
      calls.push({ argv, timeoutMs });
      const r = argv[0] === 'test' ? probe : typeof reply === 'function' ? reply(argv) : reply;
      return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
    },
  };
  return { target, calls };
}

describe('argv builders (reference §9 item 144)', () => {
  it('builds native commands under /usr/local/bin, a custom dir, or an absolute path', () => {
    expect(nativeCommand('purser', ['data-migrations', 'status', 'x'])).toEqual([
      '/usr/local/bin/purser',
      'data-migrations',
      'status',
      'x',
    ]);
    expect(nativeCommand('purser', ['a'], '/opt/fw/bin/')).toEqual(['/opt/fw/bin/purser', 'a']);
    expect(nativeCommand('/srv/purser/current/purser', ['a'])).toEqual(['/srv/purser/current/purser', 'a']);
  });

  it('builds docker exec with the container, or the binary name as container', () => {
    expect(dockerExecCommand('frameworks-purser', 'purser', ['a b'])).toEqual([
      'docker',
      'exec',
      'frameworks-purser',
      'purser',
      'a b',
    ]);
    expect(dockerExecCommand('', 'purser', [])).toEqual(['docker', 'exec', 'purser', 'purser']);
  });

  it('refuses empty or option-like names and unknown modes', () => {
    expect(() => nativeCommand('', [])).toThrow(/service binary is empty/);
    expect(() => dockerExecCommand('--privileged', 'purser', [])).toThrow(/must not start with "-"/);
    expect(() => serviceCommand({ mode: 'ssh' } as unknown as ServiceInvocation, [])).toThrow(/unknown service mode/);
    expect(markerPath('purser')).toBe('/etc/frameworks/data-migrations/purser.enabled');
    expect(() => markerPath('../etc/passwd')).toThrow(/invalid runtime/);
  });
});

describe('serviceLiveState classification', () => {
  it('reads a completed job and asks with the status timeout', async () => {
    const f = fake(ok(JSON.stringify(JOB)));
    expect(await serviceLiveState(f.target, 'inv')).toEqual({ kind: 'status', status: 'completed' });
    expect(f.calls).toEqual([
      { argv: ['test', '-f', '/tmp/markers/purser.enabled'], timeoutMs: 10_000 },
      { argv: ['/usr/local/bin/purser', 'data-migrations', 'status', 'inv', '--json'], timeoutMs: 15_000 },
    ]);
  });

  it('marker missing (test -f exit 1) ⇒ not_adopted, and the binary is never called', async () => {
    const f = fake(ok(JSON.stringify(JOB)), exit(1));
    expect(await serviceLiveState(f.target, 'inv')).toEqual({ kind: 'not_adopted' });
    expect(f.calls).toHaveLength(1);
  });

  it('marker probe failures ⇒ fetch_error', async () => {
    expect(await serviceLiveState(fake(ok('{}'), exit(255, 'Connection reset')).target, 'inv')).toEqual({
      kind: 'fetch_error',
      error: 'marker probe /tmp/markers/purser.enabled exit 255: Connection reset',
    });
    const thrown = await serviceLiveState(fake(ok('{}'), new Error('ssh 10.0.0.1:22: ECONNREFUSED')).target, 'inv');
    expect(fetchError(thrown)).toMatch(/marker probe .* ECONNREFUSED/);
  });

  it.each([
    ['exit 127', exit(127, 'sh: 1: /usr/local/bin/purser: not found')],
    ['command not found', exit(1, 'bash: purser: command not found')],
    ['unknown command', exit(1, 'Error: unknown command "data-migrations" for "purser"')],
    ['data-migrations + unknown', exit(2, 'purser: data-migrations: unknown subcommand "status"')],
  ])('%s ⇒ not_adopted', async (_name, reply) => {
    expect(await serviceLiveState(fake(reply).target, 'inv')).toEqual({ kind: 'not_adopted' });
  });

  it('docker itself missing on a docker host is a fetch error, not an excuse', async () => {
    const f = fake(exit(127, 'bash: docker: command not found'), exit(0), { mode: 'docker', bin: 'purser' });
    expect(await serviceLiveState(f.target, 'inv')).toEqual({
      kind: 'fetch_error',
      error: 'status exit 127: bash: docker: command not found',
    });
    expect(isNotAdoptedExit(127, 'exec: "purser": executable file not found in $PATH', 'docker')).toBe(true);
  });

  it('not_registered answer ⇒ not_registered', async () => {
    const reply = ok(JSON.stringify({ id: 'inv', status: 'not_registered', not_registered: true }));
    expect(await serviceLiveState(fake(reply).target, 'inv')).toEqual({ kind: 'not_registered' });
  });

  it('other non-zero exits ⇒ fetch_error `status exit N: <stderr>`, with secrets redacted', async () => {
    const reply = exit(3, 'cannot connect to postgres://purser:s3cret@db:5432/purser (password hunter2)\n');
    expect(await serviceLiveState(fake(reply).target, 'inv')).toEqual({
      kind: 'fetch_error',
      error: 'status exit 3: cannot connect to postgres://purser:***@db:5432/purser (password ***)',
    });
    expect(await serviceLiveState(fake({ code: null, signal: 'KILL', stdout: '', stderr: '' }).target, 'inv')).toEqual({
      kind: 'fetch_error',
      error: 'status killed by KILL (nothing on stderr)',
    });
  });

  it('unparsable JSON ⇒ fetch_error including the raw output, truncated', async () => {
    const s = await serviceLiveState(fake(ok('status: ok {')).target, 'inv');
    expect(s).toEqual({ kind: 'fetch_error', error: 'status returned unparsable JSON: status: ok {' });
    const long = await serviceLiveState(fake(ok('x'.repeat(10_000))).target, 'inv');
    expect(long.kind === 'fetch_error' && long.error.length).toBeLessThan(2_200);
    expect(long.kind === 'fetch_error' && long.error).toMatch(/8000 more characters/);
  });

  it('off-protocol JSON and answers about another id ⇒ fetch_error', async () => {
    const s = await serviceLiveState(fake(ok('{"id":"inv","status":"completed"}')).target, 'inv');
    expect(fetchError(s)).toMatch(/off-protocol \(exists: /);
    const other = await serviceLiveState(fake(ok(JSON.stringify({ ...JOB, id: 'other' }))).target, 'inv');
    expect(other).toEqual({ kind: 'fetch_error', error: 'status answered for "other", not "inv"' });
  });

  it('transport errors ⇒ fetch_error; HostKeyMismatch too (never a pass)', async () => {
    const f = fake(ApplicationFailure.nonRetryable('host key verification failed', FailureType.HostKeyMismatch));
    expect(await serviceLiveState(f.target, 'inv')).toEqual({
      kind: 'fetch_error',
      error: 'status failed: host key verification failed',
    });
  });

  it('no row ⇒ pending; no state tables ⇒ missing_table; bad ids refused before any call', async () => {
    const none = ok(JSON.stringify({ ...JOB, exists: false, status: null }));
    expect(await serviceLiveState(fake(none).target, 'inv')).toEqual({ kind: 'status', status: 'pending' });
    const noTables = ok(JSON.stringify({ ...JOB, exists: false, tablesExist: false, status: null }));
    expect(await serviceLiveState(fake(noTables).target, 'inv')).toEqual({ kind: 'missing_table' });
    const f = fake(ok('{}'));
    expect(await serviceLiveState(f.target, '--help')).toMatchObject({ kind: 'fetch_error' });
    expect(f.calls).toHaveLength(0);
  });

  it('every non-completed classification blocks the gates', async () => {
    for (const reply of [
      exit(127),
      exit(3, 'x'),
      ok('nope'),
      ok('{"status":"not_registered","not_registered":true}'),
    ]) {
      expect(blockerReason(await serviceLiveState(fake(reply).target, 'inv'))).toBeDefined();
    }
  });
});

describe('serviceRunBatch / serviceVerify / serviceScopes', () => {
  const RESULT = {
    outcome: 'applied',
    checkpoint: { last_id: 10 },
    done: false,
    counts: { scanned: 10, changed: 9, skipped: 1, errors: 0 },
    batch: { scanned: 10, changed: 9, skipped: 1, errors: 0 },
  };
  const input = {
    id: 'inv',
    scope: { kind: 'tenant', value: "t'1 $(x)" },
    expectedCheckpoint: { last_id: 0 },
    batchSize: 10,
  };

  it('sends the scope, CAS checkpoint and size as argv and validates the answer', async () => {
    const f = fake(ok(JSON.stringify(RESULT)), exit(0), { mode: 'docker', bin: 'purser', container: 'fw-purser' });
    const r = await serviceRunBatch(f.target, input);
    expect(r).toMatchObject(RESULT);
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    expect(f.calls[1]!.timeoutMs).toBe(600_000);
    // Each value is one argv element (quoting happens in the transport), so ' and $() stay inert.
    expect(f.calls[1]!.argv).toEqual(
      ['docker', 'exec', 'fw-purser', 'purser', 'data-migrations', 'batch', 'inv', '--scope-kind', 'tenant']
        .concat(['--scope-value', "t'1 $(x)", '--expect-checkpoint', '{"last_id":0}', '--batch-size', '10'])
        .concat(['--json']),
    );
    await serviceRunBatch(f.target, { ...input, expectedCheckpoint: null, dryRun: true });
    expect(f.calls[3]!.argv.slice(11)).toEqual([
      '--expect-checkpoint',
      'null',
      '--batch-size',
      '10',
      '--dry-run',
      '--json',
    ]);
  });

  it('keeps the service-reported duration when present', async () => {
    expect(
      (await serviceRunBatch(fake(ok(JSON.stringify({ ...RESULT, durationMs: 1234 }))).target, input)).durationMs,
    ).toBe(1234);
  });

  async function failureOf(p: Promise<unknown>): Promise<unknown> {
    return p.then(
      () => undefined,
      (e: unknown) => e,
    );
  }

  it('not adopted and not registered are non-retryable NotAdopted failures', async () => {
    const missing = (await failureOf(serviceRunBatch(fake(ok('{}'), exit(1)).target, input))) as ApplicationFailure;
    expect(missing).toBeInstanceOf(ApplicationFailure);
    expect(missing.type).toBe(FailureType.NotAdopted);
    expect(missing.nonRetryable).toBe(true);
    expect(missing.message).toBe('purser has not adopted data-migrations (missing /tmp/markers/purser.enabled)');
    const nr = ok('{"id":"inv","status":"not_registered","not_registered":true}');
    const unregistered = (await failureOf(serviceRunBatch(fake(nr).target, input))) as ApplicationFailure;
    expect(unregistered.type).toBe(FailureType.NotAdopted);
    expect(unregistered.message).toMatch(/inv is not registered in the purser binary/);
  });

  it('a paused answer is a non-retryable pause refusal', async () => {
    const paused = ok('{"id":"inv","status":"paused","paused":true}');
    const err = (await failureOf(serviceRunBatch(fake(paused).target, input))) as ApplicationFailure;
    expect(err.type).toBe(FailureType.DataMigrationPaused);
    expect(err.nonRetryable).toBe(true);
  });

  it('other failures stay retryable (a retried batch is CAS-guarded) and carry the reason', async () => {
    const err = await failureOf(serviceRunBatch(fake(exit(3, 'deadlock detected')).target, input));
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect((err as Error).message).toBe('purser data-migrations: batch exit 3: deadlock detected');
    const bad = await failureOf(serviceRunBatch(fake(ok('{"outcome":"maybe"}')).target, input));
    expect((bad as Error).message).toMatch(/batch answer is off-protocol/);
    const invalid = (await failureOf(
      serviceRunBatch(fake(ok('{}')).target, { ...input, id: '-x' }),
    )) as ApplicationFailure;
    expect(invalid.type).toBe(FailureType.InvalidInput);
  });

  it('verify returns checks; scopes returns scopes or the whole job', async () => {
    const checks = [{ name: 'invoice_total', expected: '100.00', actual: '100.00', ok: true }];
    expect(await serviceVerify(fake(ok(JSON.stringify({ checks }))).target, 'inv')).toEqual(checks);
    const scopes = [{ kind: 'tenant', value: 't1' }];
    expect(await serviceScopes(fake(ok(JSON.stringify({ scopes }))).target, 'inv')).toEqual(scopes);
    expect(await serviceScopes(fake(ok('{"scopes":[]}')).target, 'inv')).toEqual([{ kind: '', value: '' }]);
    await expect(serviceVerify(fake(exit(127)).target, 'inv')).rejects.toMatchObject({ type: FailureType.NotAdopted });
  });
});
