import { runStandalone } from '@streambet/platform/runtime/standalone';
import { settlementService } from './app.js';
import { loadSettlementConfig } from './config.js';

await runStandalone(settlementService, () => loadSettlementConfig());
