import { runStandalone } from '@streambet/platform/runtime/standalone';
import { realtimeService } from './app.js';
import { loadRealtimeConfig } from './config.js';

await runStandalone(realtimeService, () => loadRealtimeConfig());
