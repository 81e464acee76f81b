import {
  pino,
  type DestinationStream,
  type Logger as PinoLogger,
  type LevelWithSilent,
  type LoggerOptions,
} from 'pino';
import { trace, context as otelContext, isSpanContextValid } from '@opentelemetry/api';
import { currentLogContext } from './log-context.js';

/** The platform logger: pino, JSON lines. Child loggers (`logger.child({ component })`) keep the mixin. */
export type Logger = PinoLogger;

/** Log levels accepted by {@link createLogger}; `silent` turns logging off (tests). */
export type LogLevel = LevelWithSilent;

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Deployable name (`user`, `bet-engine`, `gateway`); present on every line as `service`. */
  readonly service: string;
  /** Minimum level written; defaults to `info`. */
  readonly level?: LogLevel;
  /** Where lines go; defaults to stdout. Tests pass a stream to read lines back. */
  readonly destination?: DestinationStream;
}

/**
 * Paths pino censors before a line is written. Credentials must never reach log storage, even
 * when a handler logs a whole request or headers object.
 */
export const redactedLogPaths: readonly string[] = [
  'authorization',
  'password',
  'token',
  'secret',
  'cookie',
  '*.authorization',
  '*.Authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.cookie',
  '*.privateJwk',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'header.authorization',
  'headers["set-cookie"]',
];

/**
 * Creates a JSON logger whose every line carries `service` and, when called inside a request or
 * event handling, `requestId` (from {@link runWithLogContext}) and the active OpenTelemetry
 * `traceId` / `spanId`, so a line can always be joined to its trace.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const loggerOptions: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...redactedLogPaths], censor: '[redacted]' },
    mixin: correlationFields,
  };
  return options.destination === undefined
    ? pino(loggerOptions)
    : pino(loggerOptions, options.destination);
}

function correlationFields(): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const logContext = currentLogContext();
  if (logContext?.requestId !== undefined) fields.requestId = logContext.requestId;
  if (logContext?.fields !== undefined) Object.assign(fields, logContext.fields);
  const spanContext = trace.getSpan(otelContext.active())?.spanContext();
  if (spanContext !== undefined && isSpanContextValid(spanContext)) {
    fields.traceId = spanContext.traceId;
    fields.spanId = spanContext.spanId;
  }
  return fields;
}
