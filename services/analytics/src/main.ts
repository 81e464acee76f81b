import { runStandalone } from '@streambet/platform/runtime/standalone';
import { analyticsService } from './app.js';
import { loadAnalyticsConfig } from './config.js';

await runStandalone(analyticsService, () => loadAnalyticsConfig());
