import { runStandalone } from '@streambet/platform/runtime/standalone';
import { betEngineService } from './app.js';
import { loadBetEngineConfig } from './config.js';

await runStandalone(betEngineService, () => loadBetEngineConfig());
