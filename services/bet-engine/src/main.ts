import { exitOnConfigError } from '@streambet/platform/config/load-config';
import { loadBetEngineConfig } from './config.js';

// Configuration is read and checked before the rest of the service is even loaded: a bad or
// missing variable stops the process at once (exit 78) with a message naming it.
const config = exitOnConfigError(() => loadBetEngineConfig());
const { runStandalone } = await import('@streambet/platform/runtime/standalone');
const { betEngineService } = await import('./app.js');
await runStandalone(betEngineService, config);
