// CLI entry: the only place that calls process.exit. Maps errors to exit codes (SPEC §5): 0 ok, 1 failed or
// refused, 2 usage, 3 needs attention. Bad input prints one clear message, never a stack trace.
import { CommanderError } from '@commander-js/extra-typings';
import { ExitError, InputError } from '../errors';
import { buildProgram } from './program';

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; usage problems are exit 2 (message already printed).
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        return 0;
      }
      return 2;
    }
    if (err instanceof ExitError) {
      if (err.message) process.stderr.write(`${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof InputError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    const debug = process.env.FRAMEWORKS_DEBUG === '1';
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    else process.stderr.write('(set FRAMEWORKS_DEBUG=1 for details)\n');
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
