// One way to reach Temporal for the CLI and the worker: @temporalio/envconfig (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS variables, or a TOML profile via TEMPORAL_CONFIG_FILE /
// TEMPORAL_PROFILE). Nothing else differs between the local dev server and a production cluster.
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';

export interface TemporalTarget {
  address: string;
  namespace: string;
  connectionOptions: Record<string, unknown>;
}

export function temporalTarget(overrideAddress?: string): TemporalTarget {
  const { connectionOptions, namespace } = loadClientConnectConfig({ profile: process.env.TEMPORAL_PROFILE });
  const address = overrideAddress ?? connectionOptions.address ?? 'localhost:7233';
  return {
    address,
    namespace: namespace ?? 'default',
    connectionOptions: { ...(connectionOptions as Record<string, unknown>), address },
  };
}

export async function connectClient(overrideAddress?: string): Promise<{ client: Client; target: TemporalTarget }> {
  const target = temporalTarget(overrideAddress);
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...target.connectionOptions,
      address: target.address,
      connectTimeout: 5_000,
    });
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${target.address} (namespace ${target.namespace}): ${err instanceof Error ? err.message : String(err)}. ` +
        'Start a local server with `npm run temporal`, or set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE / TEMPORAL_API_KEY) for a production cluster.',
      { cause: err },
    );
  }
  return { client: new Client({ connection, namespace: target.namespace }), target };
}

export async function connectWorker(
  overrideAddress?: string,
): Promise<{ connection: NativeConnection; target: TemporalTarget }> {
  const target = temporalTarget(overrideAddress);
  const connection = await NativeConnection.connect({ ...target.connectionOptions, address: target.address });
  return { connection, target };
}

/**
 * Web UI link for a run. FRAMEWORKS_TEMPORAL_UI_URL wins (production); otherwise the dev-server convention
 * (gRPC port + 1000) for a local address.
 */
export function webUiLink(
  target: Pick<TemporalTarget, 'address' | 'namespace'>,
  workflowId: string,
): string | undefined {
  let base = process.env.FRAMEWORKS_TEMPORAL_UI_URL;
  if (!base) {
    const m = /^(localhost|127\.0\.0\.1|\[::1\]):(\d+)$/.exec(target.address);
    if (!m) return undefined;
    base = `http://${m[1]}:${Number(m[2]) + 1000}`;
  }
  return `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(target.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
