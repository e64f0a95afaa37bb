// The one duration parser (issue 11 item 8). Durations reach workflows as strings the operator typed
// ("90s", "2 mins", "1d") and are handed to Temporal timers, whose parser is the `ms` grammar. A second, smaller
// grammar in workflow code once read "2 mins" as a 0 ms deadline; so contracts validate every duration here, at
// the boundary, and workflows compute deadlines with this same function. Pure (no Node builtins): workflows use it.
import { z } from 'zod';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_557_600_000, // 365.25 days, as `ms` counts a year
};

/** Every unit spelling of Temporal's duration grammar (the `ms` package), mapped to its unit. */
const SPELLINGS: Record<string, keyof typeof UNIT_MS> = {
  milliseconds: 'ms',
  millisecond: 'ms',
  msecs: 'ms',
  msec: 'ms',
  ms: 'ms',
  seconds: 's',
  second: 's',
  secs: 's',
  sec: 's',
  s: 's',
  minutes: 'm',
  minute: 'm',
  mins: 'm',
  min: 'm',
  m: 'm',
  hours: 'h',
  hour: 'h',
  hrs: 'h',
  hr: 'h',
  h: 'h',
  days: 'd',
  day: 'd',
  d: 'd',
  weeks: 'w',
  week: 'w',
  w: 'w',
  years: 'y',
  year: 'y',
  yrs: 'y',
  yr: 'y',
  y: 'y',
};

const GRAMMAR = /^(-?(?:\d+)?\.?\d+) *([a-z]+)?$/i;

/**
 * Milliseconds of a duration in Temporal's grammar: a number of ms, or a number and a unit ("90s", "2 mins",
 * "1.5h", "1d"); undefined when the text is not one. Negative values parse (as in Temporal) — callers decide
 * whether they make sense.
 */
export function parseDurationMs(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (value.length > 100) return undefined;
  const m = GRAMMAR.exec(value);
  if (!m) return undefined;
  const unit = m[2] === undefined ? 'ms' : SPELLINGS[m[2].toLowerCase()];
  if (!unit) return undefined;
  const n = parseFloat(m[1]!) * UNIT_MS[unit]!;
  return Number.isFinite(n) ? n : undefined;
}

/** Why a duration is unusable as a timeout or interval; undefined when it is a positive duration. */
export function durationProblem(value: string | number): string | undefined {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    return `${JSON.stringify(value)} is not a duration (e.g. "90s", "2 mins", "1.5h", "1d", or a number of milliseconds)`;
  }
  if (ms <= 0) return `${JSON.stringify(value)} must be longer than 0`;
  return undefined;
}

/** Milliseconds of a duration a contract already validated; throws on anything else (a caller bug). */
export function durationMs(value: string | number): number {
  const problem = durationProblem(value);
  if (problem) throw new Error(`invalid duration: ${problem}`);
  return parseDurationMs(value)!;
}

/**
 * A duration in Temporal's grammar ("90s", "2 mins", "1d", or ms), validated once here with the same parser the
 * workflows use for deadlines; kept as the operator's text for display.
 */
export const DurationSchema = z.string().superRefine((v, ctx) => {
  const problem = durationProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
