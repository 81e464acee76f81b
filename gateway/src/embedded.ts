import { createLogger } from '@streambet/platform/log/logger';
import { initTracing } from '@streambet/platform/obs/tracing';
import { startEmbeddedPlatform } from './embedded-platform.js';

/**
 * `npm start`: the whole platform in one process on embedded defaults (PGlite under ./data,
 * in-process bus and caches). Nothing to install; Ctrl-C stops it gracefully.
 */
const dataDir = process.env.DATA_DIR ?? './data';
const tracing = initTracing({ serviceName: 'streambet' });
const logger = createLogger({ service: 'streambet' });
const platform = await startEmbeddedPlatform({ dataDir, ports: 'default' });
const rssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
logger.info(
  { gateway: platform.gatewayUrl, startupMs: platform.startupMs, rssMb, dataDir },
  `StreamBet is ready: open ${platform.gatewayUrl}`,
);

let signalled = false;
const stop = (signal: NodeJS.Signals): void => {
  if (signalled) process.exit(1);
  signalled = true;
  logger.info({ signal }, 'shutting down');
  platform
    .shutdown()
    .then(() => tracing.shutdown())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
