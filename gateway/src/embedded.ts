import { exitOnConfigError } from '@streambet/platform/config/load-config';
import { loadEmbeddedConfig } from './config.js';

/**
 * `npm start`: the whole platform in one process on embedded defaults (PGlite under DATA_DIR,
 * in-process bus and caches). Nothing to install; Ctrl-C stops it gracefully. Its own settings
 * (DATA_DIR, DEMO, LOG_LEVEL) come from config.ts, validated before anything starts (exit 78).
 */
const config = exitOnConfigError(() => loadEmbeddedConfig());
const { createLogger } = await import('@streambet/platform/log/logger');
const { initTracing } = await import('@streambet/platform/obs/tracing');
const { exitOnShutdownSignal } = await import('@streambet/platform/runtime/signals');
const { startEmbeddedPlatform } = await import('./embedded-platform.js');

const dataDir = config.DATA_DIR;
const tracing = initTracing({ serviceName: 'streambet' });
const logger = createLogger({ service: 'streambet', level: config.LOG_LEVEL });
const platform = await startEmbeddedPlatform({
  dataDir,
  ports: 'default',
  ...(config.DEMO === 'on' ? { demo: {} } : {}),
});
const rssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
logger.info(
  {
    gateway: platform.gatewayUrl,
    adminConsole: `${platform.gatewayUrl}/admin/`,
    startupMs: platform.startupMs,
    rssMb,
    dataDir,
  },
  `StreamBet is ready: open ${platform.gatewayUrl}`,
);

exitOnShutdownSignal(logger, async () => {
  await platform.shutdown();
  await tracing.shutdown();
});
