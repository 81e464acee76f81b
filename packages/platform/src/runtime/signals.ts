import type { Logger } from '../log/logger.js';

/**
 * On SIGTERM (what Kubernetes sends before killing a pod) or SIGINT (Ctrl-C): runs `shutdown`
 * once and exits 0, or 1 if it failed. A second signal exits at once, for an operator who
 * does not want to wait for the drain.
 */
export function exitOnShutdownSignal(logger: Logger, shutdown: () => Promise<void>): void {
  let signalled = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down');
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
