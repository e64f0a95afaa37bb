// Visibility on the production-shaped Temporal server (FW_TEMPORAL=postgres; vitest.config.ts includes this folder
// only then): `runs list` (listRuns) finds a cluster's runs by FwCluster, the runs are rows of the PostgreSQL
// visibility database, and a namespace without the Fw* search attributes refuses the query until they are
// registered the way temporal-dev registers them (the `temporal` CLI).
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns } from '../../src/cli/commands/runs';
import { runSearchAttributes } from '../../src/cli/runs';
import { NAMESPACE, registerNamespace } from '../../temporal-dev/postgres-server';
import { sql, temporalAddress, temporalBinary } from '../helpers/servers';

let connection: Connection;
const started: { namespace: string; workflowId: string }[] = [];

function client(namespace: string): Client {
  return new Client({ connection, namespace });
}

/** A run as the CLI starts it (same search attributes), on a queue nobody polls: visibility is all we test. */
async function startRun(namespace: string, cluster: string): Promise<string> {
  const workflowId = `fw/${cluster}/vis-${randomUUID()}`;
  await client(namespace).workflow.start('clusterUpgrade', {
    taskQueue: `fw-vis-test-${cluster}`,
    workflowId,
    args: [],
    typedSearchAttributes: runSearchAttributes(cluster, 'upgrade'),
  });
  started.push({ namespace, workflowId });
  return workflowId;
}

/** Visibility is eventually consistent: poll until the list has `count` runs (or give up with what it has). */
async function listUntil(namespace: string, cluster: string, count: number): Promise<string[]> {
  let ids: string[] = [];
  for (let i = 0; i < 60; i++) {
    const runs = await listRuns(client(namespace), { address: temporalAddress(), namespace }, cluster, 50);
    ids = runs.map((r) => r.workflowId).sort();
    if (ids.length >= count) return ids;
    await new Promise((r) => setTimeout(r, 250));
  }
  return ids;
}

/** An error with its causes (the client wraps the server's answer: `Failed to list workflows` ← the reason). */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) out.push(e.message);
  return out.join(' ← ');
}

beforeAll(async () => {
  connection = await Connection.connect({ address: temporalAddress() });
});

afterAll(async () => {
  for (const { namespace, workflowId } of started) {
    await client(namespace)
      .workflow.getHandle(workflowId)
      .terminate('visibility test done')
      .catch(() => {});
  }
  await connection?.close();
});

describe('PostgreSQL visibility of the production-shaped server', () => {
  it('lists a cluster’s runs by FwCluster, from rows of the temporal_visibility database', async () => {
    const a = `vis-a-${randomUUID().slice(0, 8)}`;
    const b = `vis-b-${randomUUID().slice(0, 8)}`;
    const mine = [await startRun(NAMESPACE, a), await startRun(NAMESPACE, a)].sort();
    const other = await startRun(NAMESPACE, b);

    expect(await listUntil(NAMESPACE, a, 2)).toEqual(mine);
    expect(await listUntil(NAMESPACE, b, 1)).toEqual([other]);

    // The same runs in PostgreSQL: custom attributes sit in the row's search_attributes (under the column alias
    // the namespace maps FwCluster to), so the cluster's name is there.
    const rows = await sql<{ workflow_id: string; attrs: string }>(
      'temporal_visibility',
      'SELECT workflow_id, search_attributes::text AS attrs FROM executions_visibility WHERE workflow_id = ANY($1)',
      [[...mine, other]],
    );
    expect(rows.map((r) => r.workflow_id).sort()).toEqual([...mine, other].sort());
    for (const r of rows) expect(r.attrs).toContain(mine.includes(r.workflow_id) ? a : b);
  });

  it('a namespace without the Fw* search attributes refuses FwCluster; registering them makes it work', async () => {
    const namespace = `fw-vis-${randomUUID().slice(0, 8)}`;
    const cli = temporalBinary();
    const create = spawnSync(
      cli,
      ['operator', 'namespace', 'create', '--namespace', namespace, '--address', temporalAddress()],
      { encoding: 'utf8' },
    );
    expect(create.status, create.stderr).toBe(0);
    const cluster = `vis-c-${randomUUID().slice(0, 8)}`;

    // The new namespace reaches the frontend's cache within seconds; until it has the attributes, both the
    // CLI's start (with FwCluster) and `runs list` fail, naming the attribute.
    let refusal = '';
    for (let i = 0; i < 40 && !refusal.includes('FwCluster'); i++) {
      refusal = await listRuns(client(namespace), { address: temporalAddress(), namespace }, cluster, 5).then(
        () => 'accepted',
        (err: unknown) => messages(err),
      );
      if (!refusal.includes('FwCluster')) await new Promise((r) => setTimeout(r, 250));
    }
    expect(refusal).toMatch(/FwCluster/);
    expect(await startRun(namespace, cluster).then(() => 'started', messages)).toMatch(
      /no mapping defined for search attribute Fw(Cluster|Operation|Operator|State)/,
    );

    await registerNamespace(temporalAddress(), namespace, cli);
    const id = await startRun(namespace, cluster);
    expect(await listUntil(namespace, cluster, 1)).toEqual([id]);
  });
});
