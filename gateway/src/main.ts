import { exitOnConfigError } from '@streambet/platform/config/load-config';
import { loadGatewayConfig } from './config.js';

// Configuration first, before the rest is loaded: a bad variable stops the process at once (exit 78).
const config = exitOnConfigError(() => loadGatewayConfig());
const { createLogger } = await import('@streambet/platform/log/logger');
const { startGateway } = await import('./gateway.js');
const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
const gateway = await startGateway({ config, logger });
logger.info({ url: gateway.url }, 'gateway ready');

let signalled = false;
const stop = (signal: NodeJS.Signals): void => {
  if (signalled) process.exit(1);
  signalled = true;
  logger.info({ signal }, 'shutting down');
  gateway.shutdown().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
