import { runStandalone } from '@streambet/platform/runtime/standalone';
import { poolService } from './app.js';
import { loadPoolConfig } from './config.js';

await runStandalone(poolService, () => loadPoolConfig());
