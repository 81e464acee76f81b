import { exitOnConfigError } from '@streambet/platform/config/load-config';
import { createLogger } from '@streambet/platform/log/logger';
import { loadGatewayConfig } from './config.js';
import { startGateway } from './gateway.js';

const config = exitOnConfigError(() => loadGatewayConfig());
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
