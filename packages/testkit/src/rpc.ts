/**
 * The production server interceptor stack (request context, tracing, metrics, logging, error
 * mapping, auth with really signed tokens) for services served on an in-memory transport.
 */
import type { Interceptor } from '@connectrpc/connect';
import { authInterceptor, type AccessPolicy } from '@streambet/platform/auth/auth-interceptor';
import type { UserRole } from '@streambet/platform/auth/caller';
import {
  createServiceTokenVerifier,
  createUserTokenVerifier,
} from '@streambet/platform/auth/tokens';
import { createLogger, type Logger } from '@streambet/platform/log/logger';
import { createMetricsRegistry } from '@streambet/platform/obs/metrics';
import { createServerInterceptors } from '@streambet/platform/rpc/interceptors';
import { testTokenAudience, testTokenIssuer, type TestTokens } from './tokens.js';

/** Connect call options carrying one caller's credential. */
export interface CallOptions {
  readonly headers: { authorization: string };
}

/** A logger for service `service` at TEST_LOG_LEVEL (default silent). */
export function testLogger(service: string): Logger {
  return createLogger({ service, level: (process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent' });
}

/** Server interceptors of `service` enforcing `policy`, verifying tokens made by `tokens`. */
export function testServerInterceptors(
  tokens: TestTokens,
  policy: AccessPolicy,
  service: string,
  logger: Logger = testLogger(service),
): Interceptor[] {
  return createServerInterceptors({
    logger,
    registry: createMetricsRegistry({ service, collectDefaultMetrics: false }),
    auth: authInterceptor({
      verifyUserToken: createUserTokenVerifier({
        jwks: tokens.userJwks,
        issuer: testTokenIssuer,
        audience: testTokenAudience,
      }),
      verifyServiceToken: createServiceTokenVerifier({ publicJwks: tokens.serviceJwks }),
      policy,
    }),
  });
}

/** Call options of a user acting in `role`. */
export async function asUser(
  tokens: TestTokens,
  userId: string,
  role: UserRole = 'viewer',
): Promise<CallOptions> {
  return { headers: await tokens.userHeaders(userId, role) };
}

/** Call options of service `name` (internal RPCs). */
export async function asService(tokens: TestTokens, name: string): Promise<CallOptions> {
  return { headers: { authorization: `Bearer ${await tokens.serviceToken(name)}` } };
}
