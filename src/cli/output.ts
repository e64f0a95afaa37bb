// Human output (reference §1.0 ux helpers): marks that degrade to [OK]/[WARN]/[FAIL] off a TTY, headings,
// `[gate]` lines, and a numbered "Next:" block. Results go to stdout; warnings and prompts to stderr.
import pc from 'picocolors';
import type { GateCheck } from '../contracts/plan';

export interface Output {
  readonly tty: boolean;
  readonly color: boolean;
  line(text?: string): void;
  heading(text: string): void;
  ok(text: string): void;
  warn(text: string): void;
  fail(text: string): void;
  json(value: unknown): void;
  nextSteps(steps: { cmd: string; why?: string }[]): void;
  dim(text: string): string;
  bold(text: string): string;
}

export function createOutput(
  opts: { color?: boolean; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream } = {},
): Output {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const tty = Boolean(stdout.isTTY);
  const color = (opts.color ?? true) && !process.env.NO_COLOR && (tty || Boolean(process.env.FORCE_COLOR));
  const c = pc.createColors(color);
  const write = (s: NodeJS.WriteStream, text: string): void => {
    s.write(`${text}\n`);
  };
  return {
    tty,
    color,
    line: (text = '') => write(stdout, text),
    heading: (text) => write(stdout, c.bold(text)),
    ok: (text) => write(stdout, `${tty ? c.green('✓') : '[OK]'} ${text}`),
    warn: (text) => write(stderr, `${tty ? c.yellow('⚠') : '[WARN]'} ${text}`),
    fail: (text) => write(stderr, `${tty ? c.red('✗') : '[FAIL]'} ${text}`),
    json: (value) => write(stdout, JSON.stringify(value, null, 2)),
    nextSteps: (steps) => {
      if (steps.length === 0) return;
      write(stdout, '');
      write(stdout, 'Next:');
      steps.forEach((s, i) => {
        write(stdout, `  ${i + 1}. ${s.cmd}`);
        if (s.why) write(stdout, `     ${c.dim(s.why)}`);
      });
    },
    dim: (text) => c.dim(text),
    bold: (text) => c.bold(text),
  };
}

/**
 * A gate check's detail as it follows "[gate] <label>: <status> — ": the domain's messages keep the reference's
 * standalone "[gate] …" form (they are also failure messages on their own), which would read "[gate] … — [gate] …".
 */
export function gateDetail(detail: string): string {
  return detail.replace(/^\[gate\] /, '');
}

/** A run's gate checks as `[gate]` lines: the detail's first line, further lines indented, the fix of a refusal. */
export function gateLines(checks: readonly GateCheck[]): string[] {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(
      `[gate] ${c.label}: ${c.status === 'pass' ? 'ok' : c.status.toUpperCase()} — ${gateDetail(c.detail).split('\n')[0]}`,
    );
    for (const extra of c.detail.split('\n').slice(1)) lines.push(`         ${extra}`);
    if (c.status === 'refuse' && c.fix) lines.push(`         fix: ${c.fix}`);
  }
  return lines;
}
