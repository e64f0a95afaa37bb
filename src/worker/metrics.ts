// Where the worker serves Prometheus metrics: `frameworks worker --metrics <host:port>`, else
// $FRAMEWORKS_METRICS_ADDRESS, else nowhere. Off by default because a fixed default port would collide when two
// workers share a host (a second worker on one machine is the usual way to add capacity). The Temporal runtime
// serves the SDK's metrics (temporal_*) and the orchestrator's (frameworks_*, src/domain/metrics.ts) at
// http://<host:port>/metrics.
import type { TelemetryOptions } from '@temporalio/worker';
import { ExitError } from '../errors';

export const METRICS_ENV = 'FRAMEWORKS_METRICS_ADDRESS';

/**
 * The bind address the runtime's exporter accepts: an IP socket address (`0.0.0.0:9464`, `[::]:9464`).
 * `localhost` is taken as 127.0.0.1 because the exporter does not resolve names.
 */
export function parseMetricsAddress(raw: string, source: string): string {
  const value = raw.trim();
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9a-fA-F:.]+)\]|(localhost)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[4]) : NaN;
  const ipv4ok = !m?.[1] || m[1].split('.').every((o) => Number(o) <= 255);
  if (!m || !ipv4ok || port < 1 || port > 65_535) {
    throw new ExitError(
      `${source}: "${raw}" is not a metrics address; expected <ip>:<port>, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::]:9464`,
    );
  }
  if (m[3]) return `127.0.0.1:${port}`;
  return value;
}

/** The address from the flag, else the environment; undefined = metrics off. */
export function metricsAddress(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag !== undefined) return parseMetricsAddress(flag, '--metrics');
  const fromEnv = env[METRICS_ENV]?.trim();
  return fromEnv ? parseMetricsAddress(fromEnv, METRICS_ENV) : undefined;
}

/** Runtime telemetry serving Prometheus metrics at http://<address>/metrics with the SDK's default naming. */
export function prometheusTelemetry(address: string): TelemetryOptions {
  return { metrics: { prometheus: { bindAddress: address } } };
}
