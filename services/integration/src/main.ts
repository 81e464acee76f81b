import { runStandalone } from '@streambet/platform/runtime/standalone';
import { integrationService } from './app.js';
import { loadIntegrationConfig } from './config.js';

await runStandalone(integrationService, () => loadIntegrationConfig());
