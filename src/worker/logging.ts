// Structured logs for the worker: pino to stderr, with the Temporal runtime's own logs (core, workflow `log`,
// activity `log`) bridged into the same stream. Runtime.install may run once per process, so the runtime's
// telemetry (the Prometheus endpoint, src/worker/metrics.ts) is installed here too.
import { DefaultLogger, Runtime, type LogLevel, type TelemetryOptions } from '@temporalio/worker';
import pino, { type Logger } from 'pino';

let installed: Logger | undefined;

const LEVELS: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

export function installWorkerLogging(level = 'info', telemetryOptions?: TelemetryOptions): Logger {
  if (installed) return installed;
  const logger = pino({ level, base: { component: 'frameworks-worker' } }, pino.destination(2));
  const temporalLevel = LEVELS[level] ?? 'INFO';
  Runtime.install({
    ...(telemetryOptions ? { telemetryOptions } : {}),
    logger: new DefaultLogger(temporalLevel, (entry) => {
      const meta = { ...(entry.meta ?? {}) };
      const msg = entry.message;
      switch (entry.level) {
        case 'TRACE':
          logger.trace(meta, msg);
          break;
        case 'DEBUG':
          logger.debug(meta, msg);
          break;
        case 'INFO':
          logger.info(meta, msg);
          break;
        case 'WARN':
          logger.warn(meta, msg);
          break;
        default:
          logger.error(meta, msg);
      }
    }),
  });
  installed = logger;
  return logger;
}
