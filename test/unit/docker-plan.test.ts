// Activation and rollback of a docker service planned as data (src/domain/hosts/docker-plan.ts): for each state the
// two containers can be in, the exact Engine API operations in order and the action reported. The operations run
// against a real dockerd in test/integration/docker-driver.test.ts.
import { describe, expect, it } from 'vitest';
import {
  containerName,
  planDockerActivation,
  planDockerRollback,
  previousContainerName,
} from '../../src/domain/hosts/docker-plan';

const NEW = `sha256:${'cd'.repeat(32)}`;
const OLD = `sha256:${'ab'.repeat(32)}`;
const TARGET = { digest: NEW, configHash: 'h2' };
const running = (imageDigest: string | null, configHash: string | null = 'h1') => ({
  running: true,
  imageDigest,
  configHash,
});
const stopped = (imageDigest: string | null, configHash: string | null = 'h1') => ({
  ...running(imageDigest, configHash),
  running: false,
});

describe('planDockerActivation', () => {
  it('replaces a running container: drop an older kept one, stop and keep this one, create and start the new', () => {
    expect(planDockerActivation('purser', running(OLD), TARGET)).toEqual({
      action: 'replaced',
      ops: [
        { op: 'remove', name: 'frameworks-purser-previous' },
        { op: 'stop', name: 'frameworks-purser' },
        { op: 'rename', name: 'frameworks-purser', to: 'frameworks-purser-previous' },
        { op: 'create', name: 'frameworks-purser' },
        { op: 'start-created', name: 'frameworks-purser' },
      ],
    });
  });

  it('a config change alone is a replacement too', () => {
    expect(planDockerActivation('purser', running(NEW, 'h1'), TARGET).action).toBe('replaced');
  });

  it('creates when there is no container (a first install, or a retry after the rename)', () => {
    expect(planDockerActivation('purser', null, TARGET)).toEqual({
      action: 'created',
      ops: [
        { op: 'create', name: 'frameworks-purser' },
        { op: 'start-created', name: 'frameworks-purser' },
      ],
    });
  });

  it('at the target: nothing when it runs, a start when it does not', () => {
    expect(planDockerActivation('purser', running(NEW, 'h2'), TARGET)).toEqual({ action: 'none', ops: [] });
    expect(planDockerActivation('purser', stopped(NEW, 'h2'), TARGET)).toEqual({
      action: 'started',
      ops: [{ op: 'start', name: 'frameworks-purser' }],
    });
  });

  it('refuses a service name that is not one', () => {
    expect(() => planDockerActivation('a b', null, TARGET)).toThrow(/invalid service name/);
    expect([containerName('purser'), previousContainerName('purser')]).toEqual([
      'frameworks-purser',
      'frameworks-purser-previous',
    ]);
  });
});

describe('planDockerRollback', () => {
  it('brings the kept container back under the live name', () => {
    expect(planDockerRollback('purser', stopped(OLD), null)).toEqual({
      kind: 'rollback',
      action: 'rolled-back',
      ops: [
        { op: 'remove', name: 'frameworks-purser' },
        { op: 'rename', name: 'frameworks-purser-previous', to: 'frameworks-purser' },
        { op: 'start', name: 'frameworks-purser' },
      ],
    });
  });

  it('nothing kept but the live container is what ran before: converged (started if down)', () => {
    expect(planDockerRollback('purser', null, running(OLD), { imageDigest: OLD })).toEqual({
      kind: 'rollback',
      action: 'none',
      ops: [],
    });
    expect(planDockerRollback('purser', null, stopped(OLD), { imageDigest: OLD })).toEqual({
      kind: 'rollback',
      action: 'none',
      ops: [{ op: 'start', name: 'frameworks-purser' }],
    });
  });

  it('nothing kept and nothing to converge on: unavailable', () => {
    const why = 'cannot roll back purser: there is no frameworks-purser-previous container';
    expect(planDockerRollback('purser', null, running(NEW))).toEqual({ kind: 'unavailable', why });
    expect(planDockerRollback('purser', null, running(NEW), { imageDigest: OLD })).toEqual({
      kind: 'unavailable',
      why,
    });
    expect(planDockerRollback('purser', null, null, { imageDigest: OLD })).toEqual({ kind: 'unavailable', why });
  });
});
