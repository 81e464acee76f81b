/**
 * The payment service for other packages' tests: its migrations on a given database and its RPCs on
 * an in-memory Connect transport behind the production interceptor stack and its access policy.
 * Its handlers arrive with the payments issue; until then, exactly as app.ts serves the
 * contract, every RPC a caller is allowed to make answers UNIMPLEMENTED.
 */
import {
  createClient,
  createRouterTransport,
  type Client,
  type Transport,
} from '@connectrpc/connect';
import { PaymentService } from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { platformMigrations } from '@streambet/platform/outbox/index';
import { migrate } from '@streambet/platform/sql/migrate';
import type { Sql } from '@streambet/platform/sql/types';
import { testServerInterceptors } from '@streambet/testkit/rpc';
import type { TestTokens } from '@streambet/testkit/tokens';
import { paymentMigrations } from './migrations/index.js';
import { paymentPolicy } from './policy.js';

/** Inputs of {@link createPaymentTestService}. */
export interface PaymentTestServiceOptions {
  /** The service's database, migrated here; omit it when the test needs only the RPCs. */
  readonly sql?: Sql;
  /** Keys the interceptors' auth verifies callers' tokens with. */
  readonly tokens: TestTokens;
}

/** The payment service's RPCs in memory, and a client of them. */
export interface PaymentTestService {
  readonly transport: Transport;
  readonly payment: Client<typeof PaymentService>;
}

/** Migrates `options.sql` (when given) and serves the payment service on an in-memory transport. */
export async function createPaymentTestService(
  options: PaymentTestServiceOptions,
): Promise<PaymentTestService> {
  if (options.sql !== undefined) {
    await migrate(options.sql, 'payment', [...platformMigrations, ...paymentMigrations]);
  }
  const transport = createRouterTransport((router) => router.service(PaymentService, {}), {
    router: { interceptors: testServerInterceptors(options.tokens, paymentPolicy, 'payment') },
  });
  return { transport, payment: createClient(PaymentService, transport) };
}
