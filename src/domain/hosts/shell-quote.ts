// The ONE shell-quoting helper for everything sent over SSH (SPEC §9). An SSH "exec" request carries a single
// string that the remote user's login shell parses, so every argv element must be quoted for a POSIX shell.
// Pure, so it lives in domain: the host command builders (commands.ts) quote with it and the SSH client joins argv
// with it, and domain must not import activities.
//
// Single-quote style: inside '…' a POSIX shell interprets nothing at all, so the only character that needs care
// is the single quote itself, written as '\'' (close, escaped quote, reopen). This is the form the reference
// CLI uses (reference §5.3) and it survives every shell (sh, dash, bash, zsh) identically, unlike
// backslash-escaping or $'…' which depend on the shell.
//
// Arguments made only of characters that no shell treats specially are left bare so commands stay readable in
// logs; everything else (including the empty string, which would otherwise vanish) is quoted. `=` and `%` are
// deliberately not "safe": `A=b` as the first word is an assignment, `=cmd` expands in zsh, `%1` is a job spec.
//
// Quoting prevents shell injection, not option injection: an argument starting with "-" is still seen as an
// option by the remote program. Callers that pass untrusted positionals put `--` before them.

const SAFE = /^[A-Za-z0-9_@+:,./-]+$/;

export function shellQuote(arg: string): string {
  // A NUL byte cannot be carried in a C argv string; the remote side would silently truncate the argument.
  if (arg.includes('\0')) throw new Error('shell argument contains a NUL byte, which no remote argv can carry');
  if (SAFE.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Joins argv into one command string whose shell parse yields exactly `argv` again. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty command: argv needs at least the program name');
  return argv.map(shellQuote).join(' ');
}
