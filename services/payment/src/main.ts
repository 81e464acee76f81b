import { runStandalone } from '@streambet/platform/runtime/standalone';
import { paymentService } from './app.js';
import { loadPaymentConfig } from './config.js';

await runStandalone(paymentService, () => loadPaymentConfig());
