import { runStandalone } from '@streambet/platform/runtime/standalone';
import { userService } from './app.js';
import { loadUserConfig } from './config.js';

await runStandalone(userService, () => loadUserConfig());
