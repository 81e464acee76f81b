import { exitOnConfigError } from '@streambet/platform/config/load-config';
import { loadGatewayConfig } from './config.js';

// Configuration first, before the rest is loaded: a bad variable stops the process at once (exit 78).
const config = exitOnConfigError(() => loadGatewayConfig());
const { createLogger } = await import('@streambet/platform/log/logger');
const { initTracing } = await import('@streambet/platform/obs/tracing');
const { tracingOptions } = await import('@streambet/platform/obs/otlp-export');
const { startGateway } = await import('./gateway.js');
const { exitOnShutdownSignal } = await import('@streambet/platform/runtime/signals');
const tracing = initTracing(tracingOptions(config, 'gateway'));
const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
const gateway = await startGateway({ config, logger });
logger.info({ url: gateway.url }, 'gateway ready');

exitOnShutdownSignal(logger, async () => {
  await gateway.shutdown();
  await tracing.shutdown();
});
