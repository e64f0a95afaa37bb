// The `service` data-migration driver (SPEC §7, reference §5.3 and §5.6): the service's own binary, on its host,
// runs the batches against its own database and reports state. The transport is injected (`runRemote`: SSH to
// the host, and `docker exec` built into argv for docker services), so this module is pure protocol plus the
// fail-closed classification, testable with an in-memory transport.
//
// PROTOCOL (stdout is exactly one JSON document; logs go to stderr; ids and scopes are single argv elements):
//   <bin> data-migrations status  <id> --json
//       exit 0 ⇒ JobState {id, exists, tablesExist, status, releaseVersion, lastError,
//                 scopes:[{scope:{kind,value}, status, checkpoint, counts:{scanned,changed,skipped,errors},
//                          attempts, lastError}]}
//              or {"id":…, "status":"not_registered", "not_registered":true}
//   <bin> data-migrations batch   <id> --scope-kind K --scope-value V --expect-checkpoint <json|null>
//                                      --batch-size N [--dry-run] --json
//       exit 0 ⇒ RunBatchResult {outcome: applied|stale|done, checkpoint, done, counts, batch, durationMs?}.
//       The service compares --expect-checkpoint with its stored checkpoint and applies the batch, checkpoint
//       and counters in ONE transaction of its own (compare-and-set), so a retried call never applies twice.
//       Whole job = kind "" and value "". --dry-run: same answer, transaction rolled back.
//              or the not_registered answer, or {"id":…, "status":"paused", "paused":true}
//   <bin> data-migrations verify  <id> --json   exit 0 ⇒ {"checks":[{name, expected, actual, ok}]} (read-only)
//   <bin> data-migrations scopes  <id> --json   exit 0 ⇒ {"scopes":[{kind, value}]}; [] ⇒ the whole job
// Adoption marker on the HOST (also for docker services): <markerDir>/<runtime>.enabled.
//
// Classification (reference §5.6, made reachable: exit codes are data here, see ssh/client.ts):
//   marker probe exit 1 ⇒ not adopted;  probe exit ≠ 0,1 or transport error ⇒ fetch error;
//   exit 127, stderr "command not found" / "unknown command" / "data-migrations" + "unknown" ⇒ not adopted
//   (except docker itself missing on the host, which is a fetch error);
//   not_registered answer ⇒ not registered;  other non-zero exit ⇒ fetch error `status exit N: <stderr>`;
//   unparsable or off-protocol JSON ⇒ fetch error with the raw output (truncated).
// `serviceLiveState` returns these as a LiveState (never throws); the mutating verbs throw: NotAdopted
// (non-retryable) for not adopted / not registered, DataMigrationPaused for paused, retryable errors else.
import { z } from 'zod';
import {
  JobStateSchema,
  RunBatchResultSchema,
  ScopeSchema,
  VerifyCheckSchema,
  WHOLE_JOB,
  type Checkpoint,
  type RunBatchResult,
  type Scope,
  type VerifyCheck,
} from '../../contracts/data-migrate';
import type { LiveState } from '../../domain/data-migrations/gates';
import { errorMessage, FailureType } from '../../errors';
import { failure } from '../failures';

/** `code` is null when the command ended by a signal. */
export type RemoteResult = { code: number | null; stdout: string; stderr: string; signal?: string | null };
/** Runs argv on the service's host (e.g. `(argv, o) => exec(conn, argv, o)` over ssh/client.ts). */
export type RunRemote = (argv: string[], opts: { timeoutMs: number }) => Promise<RemoteResult>;

export type ServiceInvocation =
  { mode: 'native'; bin: string; installDir?: string } | { mode: 'docker'; bin: string; container?: string };

export interface ServiceTarget {
  /** Runtime name (reference §5.3): names the adoption marker. */
  runtime: string;
  invocation: ServiceInvocation;
  runRemote: RunRemote;
  /** Default /etc/frameworks/data-migrations; configurable for tests. */
  markerDir?: string;
  /** Reference §5.3: probe 10 s, status 15 s (gates), batch/verify/scopes 10 min. */
  timeouts?: { probeMs?: number; statusMs?: number; commandMs?: number };
  /** Values to redact from any message (e.g. a DB password a failing binary might print). */
  secrets?: string[];
}

export const DEFAULT_MARKER_DIR = '/etc/frameworks/data-migrations';
export const DEFAULT_INSTALL_DIR = '/usr/local/bin';

// ---- argv builders (pure; quoting is the transport's job: domain/hosts/shell-quote.ts) ----

function checkWord(what: string, value: string): void {
  if (value.trim() === '') throw new Error(`${what} is empty`);
  // A leading dash would be read as an option by docker (or by the shell's command lookup).
  if (value.startsWith('-')) throw new Error(`${what} "${value}" must not start with "-"`);
}

/** `/usr/local/bin/<bin> <args…>`; an absolute `bin` is used as is. */
export function nativeCommand(bin: string, args: readonly string[], installDir = DEFAULT_INSTALL_DIR): string[] {
  checkWord('service binary', bin);
  return [bin.startsWith('/') ? bin : `${installDir.replace(/\/+$/, '')}/${bin}`, ...args];
}

/** `docker exec <container|bin> <bin> <args…>`: the binary is found on the container's PATH. */
export function dockerExecCommand(container: string, bin: string, args: readonly string[]): string[] {
  checkWord('service binary', bin);
  const name = container === '' ? bin : container;
  checkWord('container name', name);
  return ['docker', 'exec', name, bin, ...args];
}

export function serviceCommand(inv: ServiceInvocation, args: readonly string[]): string[] {
  switch (inv.mode) {
    case 'native':
      return nativeCommand(inv.bin, args, inv.installDir);
    case 'docker':
      return dockerExecCommand(inv.container ?? '', inv.bin, args);
    default:
      throw new Error(`unknown service mode "${(inv as { mode: string }).mode}" (expected native or docker)`);
  }
}

export function markerPath(runtime: string, markerDir = DEFAULT_MARKER_DIR): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(runtime)) throw new Error(`invalid runtime name "${runtime}"`);
  return `${markerDir.replace(/\/+$/, '')}/${runtime}.enabled`;
}

// ---- wire schemas and classification ----

const NotRegisteredAnswer = z.object({ status: z.literal('not_registered'), not_registered: z.literal(true) });
const PausedAnswer = z.object({ status: z.literal('paused'), paused: z.literal(true) });
const BatchAnswer = RunBatchResultSchema.extend({ durationMs: z.number().optional() });
const VerifyAnswer = z.object({ checks: z.array(VerifyCheckSchema) });
const ScopesAnswer = z.object({ scopes: z.array(ScopeSchema) });

const MAX_RAW = 2000;

function clip(text: string): string {
  const t = text.trim();
  return t.length <= MAX_RAW ? t : `${t.slice(0, MAX_RAW)}… (${t.length - MAX_RAW} more characters)`;
}

/** `<what>: <stderr>`, or a note that stderr was empty (an empty reason reads like a bug). */
function withStderr(what: string, stderr: string): string {
  const text = clip(stderr);
  return text === '' ? `${what} (nothing on stderr)` : `${what}: ${text}`;
}

function redactor(target: ServiceTarget): (s: string) => string {
  const secrets = (target.secrets ?? []).filter((s) => s.length > 0);
  return (s) => {
    let out = s.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]+:)[^@\s]+@/gi, '$1***@'); // URL passwords
    for (const secret of secrets) out = out.split(secret).join('***');
    return out;
  };
}

/** Exit status of a non-zero run ⇒ "the binary does not speak the protocol" (reference §5.6)? */
export function isNotAdoptedExit(code: number | null, stderr: string, mode: ServiceInvocation['mode']): boolean {
  const err = stderr.toLowerCase();
  // docker missing on a docker host is a broken host, not an old binary: report it, do not excuse it.
  if (mode === 'docker' && /\bdocker: (command )?not found/.test(err)) return false;
  return (
    code === 127 ||
    err.includes('command not found') ||
    err.includes('unknown command') ||
    (err.includes('data-migrations') && err.includes('unknown'))
  );
}

type Outcome<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'not_adopted'; reason: string }
  | { kind: 'not_registered' }
  | { kind: 'paused' }
  | { kind: 'fetch_error'; error: string };

async function call<T>(
  target: ServiceTarget,
  verb: 'status' | 'batch' | 'verify' | 'scopes',
  id: string,
  extra: string[],
  schema: z.ZodType<T>,
): Promise<Outcome<T>> {
  // Bad configuration (empty binary, a runtime or id that could be read as an option) is refused before any
  // remote call, as non-retryable invalid input; the id is positional, so an option-like id would change what
  // the binary does.
  let marker: string;
  let argv: string[];
  try {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) throw new Error(`invalid migration id "${id}"`);
    marker = markerPath(target.runtime, target.markerDir);
    argv = serviceCommand(target.invocation, ['data-migrations', verb, id, ...extra, '--json']);
  } catch (err) {
    throw failure(FailureType.InvalidInput, `service driver for ${target.runtime}: ${errorMessage(err)}`);
  }
  const clean = redactor(target);
  const probeMs = target.timeouts?.probeMs ?? 10_000;
  try {
    const probe = await target.runRemote(['test', '-f', marker], { timeoutMs: probeMs });
    if (probe.code === 1) return { kind: 'not_adopted', reason: `missing ${marker}` };
    if (probe.code !== 0) {
      const how = probe.code === null ? `killed by ${probe.signal ?? 'a signal'}` : `exit ${probe.code}`;
      return { kind: 'fetch_error', error: clean(withStderr(`marker probe ${marker} ${how}`, probe.stderr)) };
    }
  } catch (err) {
    return { kind: 'fetch_error', error: clean(`marker probe ${marker} failed: ${errorMessage(err)}`) };
  }

  let res: RemoteResult;
  try {
    const t = target.timeouts;
    const timeoutMs = verb === 'status' ? (t?.statusMs ?? 15_000) : (t?.commandMs ?? 600_000);
    res = await target.runRemote(argv, { timeoutMs });
  } catch (err) {
    return { kind: 'fetch_error', error: clean(`${verb} failed: ${errorMessage(err)}`) };
  }
  if (res.code !== 0) {
    if (isNotAdoptedExit(res.code, res.stderr, target.invocation.mode)) {
      return { kind: 'not_adopted', reason: clean(withStderr(`${verb} exit ${res.code}`, res.stderr)) };
    }
    const how = res.code === null ? `killed by ${res.signal ?? 'a signal'}` : `exit ${res.code}`;
    return { kind: 'fetch_error', error: clean(withStderr(`${verb} ${how}`, res.stderr)) };
  }
  let json: unknown;
  try {
    json = JSON.parse(res.stdout);
  } catch {
    return { kind: 'fetch_error', error: clean(`${verb} returned unparsable JSON: ${clip(res.stdout) || '(empty)'}`) };
  }
  if (NotRegisteredAnswer.safeParse(json).success) return { kind: 'not_registered' };
  if (verb === 'batch' && PausedAnswer.safeParse(json).success) return { kind: 'paused' };
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { kind: 'fetch_error', error: clean(`${verb} answer is off-protocol (${issues}): ${clip(res.stdout)}`) };
  }
  return { kind: 'ok', value: parsed.data };
}

/** The live state of one data migration for the gates (never throws: every uncertainty is a blocker). */
export async function serviceLiveState(target: ServiceTarget, id: string): Promise<LiveState> {
  let out: Outcome<z.infer<typeof JobStateSchema>>;
  try {
    out = await call(target, 'status', id, [], JobStateSchema);
  } catch (err) {
    return { kind: 'fetch_error', error: errorMessage(err) };
  }
  switch (out.kind) {
    case 'not_adopted':
      return { kind: 'not_adopted' };
    case 'not_registered':
      return { kind: 'not_registered' };
    case 'fetch_error':
      return { kind: 'fetch_error', error: out.error };
    case 'paused': // only a batch answer; unreachable for status, and never a pass
      return { kind: 'fetch_error', error: 'status answered with a batch refusal' };
    case 'ok':
      if (out.value.id !== id) {
        return { kind: 'fetch_error', error: `status answered for "${out.value.id}", not "${id}"` };
      }
      if (!out.value.tablesExist) return { kind: 'missing_table' };
      // No row: the migration never ran here, which is exactly "pending" (as the sql driver reads it).
      return { kind: 'status', status: out.value.exists ? (out.value.status ?? 'pending') : 'pending' };
  }
}

function unwrap<T>(target: ServiceTarget, id: string, out: Outcome<T>): T {
  switch (out.kind) {
    case 'ok':
      return out.value;
    case 'not_adopted':
      throw failure(FailureType.NotAdopted, `${target.runtime} has not adopted data-migrations (${out.reason})`);
    case 'not_registered':
      throw failure(FailureType.NotAdopted, `${id} is not registered in the ${target.runtime} binary`);
    case 'paused':
      throw failure(FailureType.DataMigrationPaused, `${id} is paused (${target.runtime} refused the batch)`);
    case 'fetch_error':
      // Retryable: a batch is compare-and-set guarded, so a retry after an unclear answer is safe.
      throw new Error(`${target.runtime} data-migrations: ${out.error}`);
  }
}

export interface ServiceBatchInput {
  id: string;
  scope: Scope;
  expectedCheckpoint: Checkpoint | null;
  batchSize: number;
  dryRun?: boolean;
}

export async function serviceRunBatch(target: ServiceTarget, input: ServiceBatchInput): Promise<RunBatchResult> {
  const started = Date.now();
  const flags = {
    '--scope-kind': input.scope.kind,
    '--scope-value': input.scope.value,
    '--expect-checkpoint': JSON.stringify(input.expectedCheckpoint),
    '--batch-size': String(input.batchSize),
  };
  const extra = [...Object.entries(flags).flat(), ...(input.dryRun ? ['--dry-run'] : [])];
  const answer = unwrap(target, input.id, await call(target, 'batch', input.id, extra, BatchAnswer));
  return { ...answer, durationMs: answer.durationMs ?? Date.now() - started };
}

export async function serviceVerify(target: ServiceTarget, id: string): Promise<VerifyCheck[]> {
  return unwrap(target, id, await call(target, 'verify', id, [], VerifyAnswer)).checks;
}

export async function serviceScopes(target: ServiceTarget, id: string): Promise<Scope[]> {
  const { scopes } = unwrap(target, id, await call(target, 'scopes', id, [], ScopesAnswer));
  return scopes.length > 0 ? scopes : [WHOLE_JOB];
}
