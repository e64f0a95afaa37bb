// The CLI half of a change run (issue 13): one runChange(spec) starts any mutating workflow on the cluster's change
// lock, follows its `progress` query, asks for approval of the plan it shows, and renders the result; one
// followChange is also what `runs watch` uses to reattach. A command supplies only what is its own: its input, how
// its progress reads, its approval question and its outcome lines
// (src/cli/commands/{migrate,upgrade,release,noop,rollback}.ts).
import type { Client, WorkflowHandle } from '@temporalio/client';
import { TERMINAL_STATES, type ChangeRunProgress } from '../contracts/change-run';
import { ExitError } from '../errors';
import { connectClient, webUiLink, type TemporalTarget } from '../temporal/connection';
import type { ChangeRunMessages } from '../workflows/messages';
import { loadClusterContext, type ClusterContext } from './context';
import { askApproval, follow, readProgress } from './follow';
import { createOutput, type Output } from './output';
import { canPrompt } from './prompt';
import { describeRunFailure, operatorName, requireWorker, runSearchAttributes, startChange } from './runs';

/** How a change run's progress reads on a terminal: used while starting it and by `runs watch`. */
export interface ChangeView<P extends ChangeRunProgress> {
  /** The command's name: failure messages ("upgrade failed (run …)"), FwOperation and `<name>-dry-run` ids. */
  name: string;
  /** The workflow type the command starts. */
  workflowType: string;
  messages: ChangeRunMessages<P>;
  /** Lines for one progress snapshot (only lines not printed before are printed). */
  render(p: P, link: (workflowId: string) => string | undefined): string[];
  /** The approval question. */
  question(p: P): string;
  /** Extra live lines read elsewhere (release: its running data migration's progress). */
  live?(client: Client, p: P): Promise<string[]>;
  /**
   * A wait on the operator after approval (upgrade --canary): the key of what the run waits for now (undefined
   * when nothing), asked once per key on a terminal; the run's own lines say how to answer from elsewhere.
   */
  operatorWait?: { key(p: P): string | undefined; ask(handle: WorkflowHandle, p: P, out: Output): Promise<void> };
}

/** The flags every mutating command takes. */
export interface ChangeFlags {
  manifest?: string;
  dryRun?: boolean;
  yes?: boolean;
  detach?: boolean;
  json?: boolean;
}

export interface ChangeSpec<P extends ChangeRunProgress> {
  view: ChangeView<P>;
  flags: ChangeFlags;
  /** FwOperation of the run when it is not the command's name ("upgrade-all"). */
  operation?: string;
  /**
   * The workflow input beyond cluster, dryRun, approved and operator (which runChange sets). Runs after the
   * manifest is loaded and before anything connects, so its usage errors (exit 2) come first.
   */
  input(ctx: ClusterContext): Record<string, unknown>;
  /** More input read from Temporal once the worker is known to run (rollback: the reverted run's record). */
  read?(client: Client, ctx: ClusterContext): Promise<Record<string, unknown>>;
  /** Human lines for the result (not with --json); may throw an ExitError (release: cancelled exits 1). */
  outcome(p: P, out: Output): void;
}

export async function runChange<P extends ChangeRunProgress>(
  spec: ChangeSpec<P>,
  globals: { color?: boolean },
): Promise<void> {
  const { flags, view } = spec;
  const out = createOutput({ color: globals.color !== false });
  const ctx = await loadClusterContext(flags.manifest);
  const cluster = ctx.cluster;
  const input = spec.input(ctx);
  if (!flags.yes && !flags.dryRun && !flags.detach && !canPrompt()) {
    throw new ExitError('no terminal to ask for approval on: pass --yes to approve, or --dry-run to preview', 1);
  }
  const { client, target } = await connectClient();
  try {
    await requireWorker(client, cluster, ctx.manifestPath);
    const read = spec.read ? await spec.read(client, ctx) : {};
    const dryRun = flags.dryRun ?? false;
    const { handle, workflowId } = await startChange(client, target, {
      cluster,
      workflowType: view.workflowType,
      dryRunOperation: `${view.name}-dry-run`,
      dryRun,
      args: [{ cluster, ...input, ...read, dryRun, approved: flags.yes ?? false, operator: operatorName() }],
      typedSearchAttributes: runSearchAttributes(cluster, spec.operation ?? view.name),
    });
    const link = webUiLink(target, workflowId);
    if (!flags.json) out.line(out.dim(`Run ${workflowId}${link ? ` — ${link}` : ''}`));
    if (flags.detach) {
      if (flags.json) out.json({ workflowId, runId: handle.firstExecutionRunId, webUi: link });
      else out.line(`Started; follow it with: frameworks cluster runs watch ${workflowId}`);
      return;
    }
    await followChange(client, target, handle, workflowId, view, out, { json: flags.json, cancelOnDecline: true });
    const result = (await handle.result()) as P;
    if (flags.json) out.json({ ...result, run: { workflowId, webUi: link } });
    else spec.outcome(result, out);
    if (result.state === 'refused' || result.state === 'expired') throw new ExitError('', 1);
  } finally {
    await client.connection.close();
  }
}

/**
 * Follows a change run until it ends or waits for nothing more from us: its progress lines, the approval prompt
 * (declining cancels the run when `cancelOnDecline`, the command that started it; `runs watch` leaves it waiting),
 * and a failed run as one message with exit 1.
 */
export async function followChange<P extends ChangeRunProgress>(
  client: Client,
  target: TemporalTarget,
  handle: WorkflowHandle,
  workflowId: string,
  view: ChangeView<P>,
  out: Output,
  opts: { json?: boolean; cancelOnDecline: boolean },
): Promise<P> {
  const linkOf = (id: string): string | undefined => webUiLink(target, id);
  type Snapshot = P & { live: string[] };
  let final: Snapshot;
  try {
    final = await follow<Snapshot>({
      handle,
      query: async () => {
        const p = await readProgress(handle, () => handle.query(view.messages.progress), TERMINAL_STATES);
        const live = view.live && !TERMINAL_STATES.has(p.state) ? await view.live(client, p) : [];
        return { ...p, live };
      },
      render: (p) => (opts.json ? [] : [...view.render(p, linkOf), ...p.live]),
      done: (p) => TERMINAL_STATES.has(p.state),
      waiting: (p) =>
        p.state === 'awaiting-approval'
          ? opts.cancelOnDecline || canPrompt()
          : !opts.json && canPrompt() && view.operatorWait?.key(p) !== undefined,
      waitKey: (p) => (p.state === 'awaiting-approval' ? 'approval' : (view.operatorWait?.key(p) ?? 'approval')),
      onWaiting: async (p) => {
        if (p.state !== 'awaiting-approval' && view.operatorWait) {
          await view.operatorWait.ask(handle, p, out);
          return true;
        }
        return askApproval(
          handle,
          p,
          view.question(p),
          opts.cancelOnDecline
            ? { approve: view.messages.approve, cancel: view.messages.cancel }
            : { approve: view.messages.approve },
          out,
        );
      },
      reattach: `frameworks cluster runs watch ${workflowId}`,
    });
  } catch (err) {
    // A failed run ends the query loop with the run's own error.
    const why = describeRunFailure(err);
    if (why) throw new ExitError(`${view.name} failed (run ${workflowId}): ${why}`, 1);
    throw err;
  }
  const { live: _live, ...progress } = final;
  if (progress.state === 'failed') {
    const why = await handle.result().then(
      () => progress.error,
      (err: unknown) => describeRunFailure(err) ?? progress.error,
    );
    if (opts.json) out.json({ ...progress, run: { workflowId, webUi: linkOf(workflowId) } });
    throw new ExitError(`${view.name} failed (run ${workflowId}): ${why ?? 'unknown'}`, 1);
  }
  return progress as unknown as P;
}
