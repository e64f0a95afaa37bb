// Several host commands as ONE remote shell script, run in ONE SSH exec (issue 12: activation was a channel round
// trip per step). Pure: the renderer returns the argv and the script text, the parser turns what the script printed
// back into "done with <outcome>" or "<which command> failed, with its output". Unit-tested in
// test/unit/host-script.test.ts, run against a real sshd in test/integration/native-driver.test.ts.
//
// - The script goes on STDIN to `sh -s`, and a step's stdin (an env file: secrets) is a single-quoted argument of
//   the shell's builtin printf piped into the step. Builtins are not exec'd, so nothing but `sh -s` ever shows in
//   a process list, an sshd log or an error message, as before (each step's stdin was the channel's).
// - Every command gets stdin from /dev/null or its pipe: the rest of stdin is the script itself.
// - No `set -e` (it is switched off in `&&` lists, functions called in conditions, …): every step is followed by
//   `|| fw_fail $?`, which prints which command failed and exits with its code; nothing after it runs.
// - Before each command, `@@fw-step <n>` on its own line on BOTH stdout and stderr: the chunks after it are that
//   command's output, so the failure of step n carries its own stderr (or stdout), as a command of its own did.
// - A successful script ends with `@@fw-done <outcome>`: `fw_out` as the restart or reload left it, or the outcome
//   of a `skip-if-running` that found the service running (nothing after it runs).
import type { Argv, HostStep } from './commands';
import { shellCommand, shellQuote } from './shell-quote';

export type ScriptItem =
  /** Must exit 0, else the script stops and reports it. */
  | { kind: 'step'; step: HostStep }
  /** Status exit 0 (running) ends the script with `outcome`; 126/127 (not runnable) fail it; else go on. */
  | { kind: 'skip-if-running'; what: string; status: Argv; outcome: string }
  /** If the status says running, try the reload; its success sets the outcome (the restart is then skipped). */
  | { kind: 'reload-if-running'; what: string; status: Argv; reloadWhat: string; reload: Argv; outcome: string }
  /** Unless a reload set the outcome: must exit 0 (else stop and report), then sets `outcome`. */
  | { kind: 'restart'; what: string; argv: Argv; outcome: string };

/** One command of a rendered script, by marker number. */
export interface ScriptCommand {
  what: string;
  restart: boolean;
}

export interface HostScript {
  argv: Argv;
  script: string;
  commands: ScriptCommand[];
}

const STEP = '@@fw-step';
const FAIL = '@@fw-fail';
const DONE = '@@fw-done';
const OUTCOME = /^[a-z][a-z-]*$/;

const PRELUDE = [
  'fw_i=-1 fw_out=',
  `fw_mark() { fw_i=$1; printf '\\n${STEP} %s\\n' "$1"; printf '\\n${STEP} %s\\n' "$1" >&2; }`,
  `fw_fail() { printf '\\n${FAIL} %s %s\\n' "$fw_i" "$1"; exit "$1"; }`,
  `fw_done() { printf '\\n${DONE} %s\\n' "$1"; exit 0; }`,
];

const run = (argv: Argv, stdin?: string): string =>
  stdin === undefined ? `${shellCommand(argv)} </dev/null` : `printf '%s' ${shellQuote(stdin)} | ${shellCommand(argv)}`;

const outcome = (o: string): string => {
  if (!OUTCOME.test(o)) throw new Error(`invalid script outcome ${JSON.stringify(o)}`);
  return o;
};

export function renderHostScript(items: readonly ScriptItem[]): HostScript {
  const lines = [...PRELUDE];
  const commands: ScriptCommand[] = [];
  const mark = (what: string, restart = false): string => {
    commands.push({ what, restart });
    return `fw_mark ${commands.length - 1}`;
  };
  const notRunnable = `126|127) fw_fail $fw_rc;;`;
  for (const it of items) {
    if (it.kind === 'step') {
      lines.push(mark(it.step.what), `${run(it.step.argv, it.step.stdin)} || fw_fail $?`);
    } else if (it.kind === 'skip-if-running') {
      lines.push(
        mark(it.what),
        `${run(it.status)}; fw_rc=$?`,
        `case $fw_rc in 0) fw_done ${outcome(it.outcome)};; ${notRunnable} esac`,
      );
    } else if (it.kind === 'reload-if-running') {
      lines.push(
        mark(it.what),
        `${run(it.status)}; fw_rc=$?`,
        `case $fw_rc in ${notRunnable} esac`,
        `if [ "$fw_rc" -eq 0 ]; then ${mark(it.reloadWhat)}; ${run(it.reload)} && fw_out=${outcome(it.outcome)}; fi`,
      );
    } else {
      lines.push(
        `if [ -z "$fw_out" ]; then ${mark(it.what, true)}; ${run(it.argv)} || fw_fail $?; ` +
          `fw_out=${outcome(it.outcome)}; fi`,
      );
    }
  }
  lines.push('fw_done "$fw_out"');
  return { argv: ['sh', '-s'], script: `${lines.join('\n')}\n`, commands };
}

export type ScriptResult =
  | { kind: 'done'; outcome: string }
  /** Command `index` exited `code`; `output` is its stderr, else its stdout (trimmed; callers cut it). */
  | { kind: 'failed'; index: number; code: number; output: string }
  /** The script ended without either marker (killed, cut off): `index` is the last command it began, or -1. */
  | { kind: 'unfinished'; index: number; output: string };

/** Each command's output by marker number (what followed its `@@fw-step` line up to the next marker). */
function chunks(stream: string): Map<number, string> {
  const out = new Map<number, string>();
  const parts = `\n${stream}`.split(new RegExp(`\\n(${STEP} \\d+|${FAIL} -?\\d+ \\d+|${DONE} \\S*)\\n`));
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const m = new RegExp(`^${STEP} (\\d+)$`).exec(parts[i]!);
    if (m) out.set(Number(m[1]), parts[i + 1]!);
  }
  return out;
}

const outputOf = (stdout: string | undefined, stderr: string | undefined): string =>
  (stderr ?? '').trim() || (stdout ?? '').trim() || '(no output)';

export function parseHostScript(r: { stdout: string; stderr: string; code: number | null }): ScriptResult {
  const done = new RegExp(`(?:^|\\n)${DONE} (\\S*)\\n`).exec(r.stdout);
  if (done && r.code === 0) return { kind: 'done', outcome: done[1]! };
  const out = chunks(r.stdout);
  const err = chunks(r.stderr);
  const fail = new RegExp(`(?:^|\\n)${FAIL} (-?\\d+) (\\d+)\\n`).exec(r.stdout);
  if (fail) {
    const index = Number(fail[1]);
    return { kind: 'failed', index, code: Number(fail[2]), output: outputOf(out.get(index), err.get(index)) };
  }
  const index = Math.max(-1, ...out.keys(), ...err.keys());
  const output = index < 0 ? outputOf(r.stdout, r.stderr) : outputOf(out.get(index), err.get(index));
  return { kind: 'unfinished', index, output };
}
