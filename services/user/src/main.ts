/**
 * Starts the user service as its own process (config first, then the service host).
 */
import { exitOnConfigError } from '@streambet/platform/config/load-config';
import { loadUserConfig } from './config.js';

// Configuration is read and checked before the rest of the service is even loaded: a bad or
// missing variable stops the process at once (exit 78) with a message naming it.
const config = exitOnConfigError(() => loadUserConfig());
const { runStandalone } = await import('@streambet/platform/runtime/standalone');
const { userService } = await import('./app.js');
await runStandalone(userService, config);
