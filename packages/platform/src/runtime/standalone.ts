import { createLogger } from '../log/logger.js';
import { tracingOptions } from '../obs/otlp-export.js';
import { initTracing } from '../obs/tracing.js';
import { openInfra } from './infra.js';
import { exitOnShutdownSignal } from './signals.js';
import type { PlatformConfig } from './platform-config.js';
import { startService, type RunningService, type ServiceDefinition } from './service-host.js';

/**
 * Entry point of a service's `main.ts` in cluster mode, given its already validated config: opens
 * its own database, bus and cache, starts the service, and shuts it down gracefully on SIGTERM /
 * SIGINT (exit 0) — the signal Kubernetes sends before killing a pod.
 */
export async function runStandalone<C extends PlatformConfig>(
  definition: ServiceDefinition<C>,
  config: C,
): Promise<RunningService> {
  const tracing = initTracing(tracingOptions(config, definition.name));
  const logger = createLogger({ service: definition.name, level: config.LOG_LEVEL });
  const startedAtMs = Date.now();
  let service: RunningService;
  try {
    const infra = await openInfra(definition.name, config, logger);
    service = await startService(definition, { config, infra, logger, ownsInfra: true });
  } catch (error) {
    logger.fatal({ err: error }, 'service failed to start');
    process.exit(1);
  }
  logger.info({ url: service.url, startupMs: Date.now() - startedAtMs }, 'service ready');

  exitOnShutdownSignal(logger, async () => {
    await service.shutdown();
    await tracing.shutdown();
  });
  return service;
}
