import { describe, expect, it } from 'vitest';
import { describeWaves, nextStarts, scheduleWaves, summarizeWaves, type WaveOutcome } from '../../src/domain/waves';

const BATCHES = [['quartermaster'], ['commodore', 'foghorn', 'purser'], ['bridge'], ['chartroom']];

describe('scheduleWaves', () => {
  it('restricts the plan batches to the selected services and drops empty waves', () => {
    expect(scheduleWaves(BATCHES, ['purser', 'bridge', 'quartermaster']).waves).toEqual([
      ['quartermaster'],
      ['purser'],
      ['bridge'],
    ]);
  });
  it('without batches every service is its own wave, in the given order (the sequential run)', () => {
    expect(scheduleWaves([], ['b', 'a']).waves).toEqual([['b'], ['a']]);
  });
  it('a selected service no batch names runs alone after the batches', () => {
    expect(scheduleWaves([['a']], ['a', 'x']).waves).toEqual([['a'], ['x']]);
  });
});

describe('nextStarts', () => {
  const s = scheduleWaves(BATCHES, BATCHES.flat());
  const state = { done: [] as string[], running: [] as string[], stopped: false, parallel: 2 };
  it('starts nothing of a wave before the earlier wave is done', () => {
    expect(nextStarts(s, state)).toEqual(['quartermaster']);
    expect(nextStarts(s, { ...state, running: ['quartermaster'] })).toEqual([]);
  });
  it('fills at most `parallel` slots from the current wave', () => {
    expect(nextStarts(s, { ...state, done: ['quartermaster'] })).toEqual(['commodore', 'foghorn']);
    expect(nextStarts(s, { ...state, done: ['quartermaster'], running: ['commodore'] })).toEqual(['foghorn']);
    expect(nextStarts(s, { ...state, done: ['quartermaster'], running: ['commodore', 'foghorn'] })).toEqual([]);
    expect(nextStarts(s, { ...state, done: ['quartermaster', 'commodore'], running: ['foghorn'] })).toEqual(['purser']);
  });
  it('never starts the next wave while one of the current wave still runs', () => {
    expect(nextStarts(s, { ...state, done: ['quartermaster', 'commodore', 'foghorn'], running: ['purser'] })).toEqual(
      [],
    );
    expect(nextStarts(s, { ...state, done: ['quartermaster', 'commodore', 'foghorn', 'purser'] })).toEqual(['bridge']);
  });
  it('parallel 1 walks the plan order one by one', () => {
    const seen: string[] = [];
    for (let next = nextStarts(s, { ...state, parallel: 1 }); next.length;) {
      expect(next).toHaveLength(1);
      seen.push(next[0]!);
      next = nextStarts(s, { ...state, parallel: 1, done: seen });
    }
    expect(seen).toEqual(BATCHES.flat());
  });
  it('after a failure nothing new starts; everything done → nothing to start', () => {
    expect(nextStarts(s, { ...state, done: ['quartermaster'], stopped: true })).toEqual([]);
    expect(nextStarts(s, { ...state, done: BATCHES.flat() })).toEqual([]);
  });
  it('refuses a parallelism below 1', () => {
    expect(() => nextStarts(s, { ...state, parallel: 0 })).toThrow(/parallel must be a whole number ≥ 1, got 0/);
  });
});

describe('summarizeWaves', () => {
  it('reports succeeded / failed / rolled back / remaining in wave order', () => {
    const s = scheduleWaves(BATCHES, BATCHES.flat());
    const outcomes = new Map<string, WaveOutcome>([
      ['quartermaster', 'upgraded'],
      ['purser', 'rolled-back'],
      ['commodore', 'upgraded'],
      ['foghorn', 'skipped'],
    ]);
    expect(summarizeWaves(s, outcomes)).toEqual({
      succeeded: ['quartermaster', 'commodore', 'foghorn'],
      failed: ['purser'],
      rolledBack: ['purser'],
      remaining: ['bridge', 'chartroom'],
    });
  });
});

describe('describeWaves', () => {
  it('names each wave and the bound when a wave is wider than it', () => {
    expect(describeWaves(scheduleWaves(BATCHES, BATCHES.flat()), 2)).toEqual([
      'wave 1: quartermaster',
      'wave 2: commodore, foghorn, purser (at most 2 at once)',
      'wave 3: bridge',
      'wave 4: chartroom',
    ]);
  });
});
