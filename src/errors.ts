// One place for error vocabulary shared by the CLI, workflows and activities.
//
// Workflows and activities exchange failures as ApplicationFailure whose `type` is one of FailureType; retry
// policies key on these names (refusals are non-retryable, transient I/O is retried). The CLI maps errors to
// exit codes: ExitError carries an explicit code, InputError is bad input (exit 1, no stack trace), anything
// else is a bug (exit 1, stack only with FRAMEWORKS_DEBUG=1).
//
// Decisions about a failure are made on its type (FailureType, or a Temporal error class), never on its message
// text; src/temporal/failures.ts is the one place that unwraps the layers Temporal puts around a failure.
//
// This module is imported by workflow code, so it must stay free of Node builtins; it imports no SDK either, so
// the CLI's `--help` and input errors stay fast.

export const FailureType = {
  /** A safety gate refused before anything changed. */
  GateRefused: 'GateRefused',
  /** Input (a file, a flag, a manifest) failed validation. */
  InvalidInput: 'InvalidInput',
  /** A release manifest or channel pointer could not be fetched from any repository. */
  ReleaseFetchFailed: 'ReleaseFetchFailed',
  /** A fetched manifest does not carry the identity it was asked for. */
  IdentityMismatch: 'IdentityMismatch',
  ChecksumMismatch: 'ChecksumMismatch',
  DigestMismatch: 'DigestMismatch',
  HostKeyMismatch: 'HostKeyMismatch',
  NotAdopted: 'NotAdopted',
  /** The host has a unit for the service, but not in a layout this tool can take over. */
  NotAdoptable: 'NotAdoptable',
  /** The cluster manifest named by the run is not served by this worker. */
  UnknownCluster: 'UnknownCluster',
  /** A migration's SQL failed on the database (not transient): needs a fix, not a retry. */
  MigrationFailed: 'MigrationFailed',
  /** A data migration (or one of its scopes) is paused: resume it first. */
  DataMigrationPaused: 'DataMigrationPaused',
  /** A release tarball is unsafe (absolute paths, `..`, links leaving the tree) or unreadable. */
  UnsafeArtifact: 'UnsafeArtifact',
  /** A remote step on a host exited non-zero (retryable: hosts recover). */
  HostCommandFailed: 'HostCommandFailed',
  /** Activate was called before stage: a workflow bug, never retried. */
  NotStaged: 'NotStaged',
  /** Nothing recorded to roll back to. */
  RollbackUnavailable: 'RollbackUnavailable',
  /** A service upgrade failed (rolled back or not); the sequence stopped. */
  UpgradeFailed: 'UpgradeFailed',
  /** Another holder has the per-database migration lock (retryable: it is released when that run ends). */
  LockHeld: 'LockHeld',
  /** No database node answered (retryable: nodes come back). */
  DatabaseUnavailable: 'DatabaseUnavailable',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types that must never be retried by an activity retry policy. */
export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.GateRefused,
  FailureType.InvalidInput,
  FailureType.IdentityMismatch,
  FailureType.ChecksumMismatch,
  FailureType.DigestMismatch,
  FailureType.HostKeyMismatch,
  FailureType.NotAdopted,
  FailureType.NotAdoptable,
  FailureType.UnknownCluster,
  FailureType.MigrationFailed,
  FailureType.UpgradeFailed,
  FailureType.DataMigrationPaused,
  FailureType.UnsafeArtifact,
  FailureType.NotStaged,
  FailureType.RollbackUnavailable,
];

/** One problem found in an input, located by file and key path (e.g. `services[2].digest`). */
export interface InputIssue {
  path: string;
  message: string;
}

/**
 * Bad input from outside: a file, a flag, a fetched document. The message names the source and every problem,
 * so an operator can fix them all at once.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly source: string;
  readonly issues: InputIssue[];

  constructor(source: string, issues: InputIssue[] | string, options?: { cause?: unknown }) {
    const list = typeof issues === 'string' ? [{ path: '', message: issues }] : issues;
    super(InputError.render(source, list), options);
    this.source = source;
    this.issues = list;
  }

  static render(source: string, issues: InputIssue[]): string {
    if (issues.length === 1) {
      const [only] = issues;
      return `${source}: ${only!.path ? `${only!.path}: ` : ''}${only!.message}`;
    }
    return [
      `${source}: ${issues.length} problems`,
      ...issues.map((i) => `  - ${i.path ? `${i.path}: ` : ''}${i.message}`),
    ].join('\n');
  }
}

/** An error the CLI reports as-is with a chosen exit code (1 refused/failed, 2 usage, 3 needs attention). */
export class ExitError extends Error {
  override readonly name = 'ExitError';
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A command line the CLI cannot run as typed (a flag's value, a missing or conflicting argument): exit 2. */
export class UsageError extends ExitError {
  constructor(message: string) {
    super(message, 2);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
