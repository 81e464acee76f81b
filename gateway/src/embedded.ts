import { createLogger } from '@streambet/platform/log/logger';
import { initTracing } from '@streambet/platform/obs/tracing';
import { exitOnShutdownSignal } from '@streambet/platform/runtime/signals';
import { startEmbeddedPlatform } from './embedded-platform.js';

/**
 * `npm start`: the whole platform in one process on embedded defaults (PGlite under ./data,
 * in-process bus and caches). Nothing to install; Ctrl-C stops it gracefully.
 */
const dataDir = process.env.DATA_DIR ?? './data';
// DEMO=off starts the platform without the demo channel and its simulated bettors.
const demo = process.env.DEMO === 'off' ? undefined : {};
const tracing = initTracing({ serviceName: 'streambet' });
const logger = createLogger({ service: 'streambet' });
const platform = await startEmbeddedPlatform({
  dataDir,
  ports: 'default',
  ...(demo === undefined ? {} : { demo }),
});
const rssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
logger.info(
  { gateway: platform.gatewayUrl, startupMs: platform.startupMs, rssMb, dataDir },
  `StreamBet is ready: open ${platform.gatewayUrl}`,
);

exitOnShutdownSignal(logger, async () => {
  await platform.shutdown();
  await tracing.shutdown();
});
