// Confirmation prompts: only on a TTY (scripts must pass --yes), answered with y/yes (reference §1.1 step 11).
import { createInterface } from 'node:readline/promises';
import { ExitError } from '../errors';

export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

export async function confirm(question: string): Promise<boolean> {
  if (!canPrompt()) {
    throw new ExitError(`${question} — no terminal to ask on: pass --yes to approve (or --dry-run to preview)`, 1);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N]: `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
