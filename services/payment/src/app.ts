import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import { PaymentService } from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import type { PaymentConfig } from './config.js';
import { paymentMigrations } from './migrations/index.js';
import { paymentPolicy } from './policy.js';

/**
 * The payment service as the platform runs it. Its contract is served, checked by its access policy
 * and health probes, but its logic arrives with a later issue (payments: Stripe and MercadoPago): until then every RPC answers
 * UNIMPLEMENTED rather than pretending.
 */
export const paymentService: ServiceDefinition<PaymentConfig> = {
  name: 'payment',
  migrations: paymentMigrations,
  create: () => ({
    routes(router) {
      router.service(PaymentService, {});
    },
    policy: paymentPolicy,
  }),
};
