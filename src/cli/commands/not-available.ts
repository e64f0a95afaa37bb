import { ExitError } from '../../errors';

/** Commands that are registered (so --help shows the whole surface) but whose behaviour has not landed. */
export function notAvailableYet(command: string, where: string): never {
  throw new ExitError(
    `\`frameworks ${command}\` is not available yet in this build (planned: ${where}).\n` +
      'Available now: `frameworks cluster upgrade` (and `upgrade plan`), `migrate`, `migrate validate`, `data-migrate`, `runs`, `frameworks worker`.',
    1,
  );
}
