// Parallel waves, bounded (issue 12 item 2): which services of an upgrade may start now. The planner's Kahn
// batches are the waves — every service of a wave depends only on services of earlier waves — so a wave starts
// only once every service of the waves before it is done, and at most `parallel` child runs go at once. Pure
// and deterministic: the cluster workflow asks it after every child that finishes.

export interface WaveSchedule {
  /** The selected services grouped into waves, in run order. */
  waves: string[][];
}

/**
 * The waves of a run: the plan's batches restricted to the selected services (empty waves dropped). A selected
 * service no batch names (the plan could not order the rollout) runs alone after them, in `services` order, so
 * without batches the run is today's strict sequence.
 */
export function scheduleWaves(batches: readonly (readonly string[])[], services: readonly string[]): WaveSchedule {
  const selected = new Set(services);
  const placed = new Set<string>();
  const waves: string[][] = [];
  for (const batch of batches) {
    const wave = batch.filter((s) => selected.has(s) && !placed.has(s));
    for (const s of wave) placed.add(s);
    if (wave.length > 0) waves.push(wave);
  }
  for (const s of services) {
    if (placed.has(s)) continue;
    placed.add(s);
    waves.push([s]);
  }
  return { waves };
}

export interface WaveState {
  /** Services whose child finished (any outcome) or that were settled without one. */
  done: readonly string[];
  running: readonly string[];
  /** After the first failure no new service starts. */
  stopped: boolean;
  parallel: number;
}

/**
 * The services to start now, in wave order: from the first wave not yet done, those neither done nor running,
 * up to the free slots. A later wave never starts while an earlier one has a service running or pending.
 */
export function nextStarts(schedule: WaveSchedule, state: WaveState): string[] {
  if (!Number.isInteger(state.parallel) || state.parallel < 1) {
    throw new Error(`parallel must be a whole number ≥ 1, got ${state.parallel}`);
  }
  if (state.stopped) return [];
  const done = new Set(state.done);
  const running = new Set(state.running);
  const wave = schedule.waves.find((w) => w.some((s) => !done.has(s)));
  if (!wave) return [];
  const free = state.parallel - running.size;
  return free > 0 ? wave.filter((s) => !done.has(s) && !running.has(s)).slice(0, free) : [];
}

export type WaveOutcome = 'upgraded' | 'started' | 'skipped' | 'rolled-back' | 'failed' | 'rollback-failed';

export interface WaveSummary {
  succeeded: string[];
  failed: string[];
  rolledBack: string[];
  remaining: string[];
}

/**
 * The run's report, in wave order: a service rolled back after its failure is both failed and rolled back (as in
 * the sequential run); `remaining` are the services never started.
 */
export function summarizeWaves(schedule: WaveSchedule, outcomes: ReadonlyMap<string, WaveOutcome>): WaveSummary {
  const order = schedule.waves.flat();
  const ok = (o: WaveOutcome | undefined) => o === 'upgraded' || o === 'started' || o === 'skipped';
  return {
    succeeded: order.filter((s) => ok(outcomes.get(s))),
    failed: order.filter((s) => outcomes.has(s) && !ok(outcomes.get(s))),
    rolledBack: order.filter((s) => outcomes.get(s) === 'rolled-back'),
    remaining: order.filter((s) => !outcomes.has(s)),
  };
}

/** The plan's display of the waves: "wave 1: quartermaster · wave 2: commodore, purser …". */
export function describeWaves(schedule: WaveSchedule, parallel: number): string[] {
  return schedule.waves.map(
    (w, i) => `wave ${i + 1}: ${w.join(', ')}${w.length > parallel ? ` (at most ${parallel} at once)` : ''}`,
  );
}
