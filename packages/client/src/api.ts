/**
 * The viewer's Connect clients: every public API the apps call, behind one transport. The
 * transport is Connect-Web's (fetch-based, so it runs in browsers and in React Native with the
 * polyfills the README lists) or any transport a caller builds, e.g. connect's
 * `createRouterTransport` in tests. The access token is added by an interceptor that reads it on
 * every call, so a refreshed token is used at once and a signed-out app calls anonymously.
 */
import { createClient, type Client, type Interceptor, type Transport } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';
import { BetEngineService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { AnalyticsService } from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { PaymentService } from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { RealtimeService } from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import { SettlementService } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { NotificationService } from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';

/** Every public API the viewer apps call, behind one transport. */
export interface Api {
  readonly users: Client<typeof UserService>;
  readonly pool: Client<typeof PoolService>;
  readonly bets: Client<typeof BetEngineService>;
  readonly channels: Client<typeof IntegrationService>;
  readonly payments: Client<typeof PaymentService>;
  readonly settlements: Client<typeof SettlementService>;
  /** Chat moderation (settings, bans); messages themselves travel over the socket. */
  readonly chat: Client<typeof RealtimeService>;
  /** Admin-only reads (metrics, fraud flags, audit log); the server checks the role. */
  readonly analytics: Client<typeof AnalyticsService>;
  /** The signed-in user's notifications (the bell) and their preferences. */
  readonly notifications: Client<typeof NotificationService>;
}

/** Reads the current access token; undefined = call anonymously. */
export type AccessTokenSource = () => string | undefined;

/**
 * Adds `authorization: Bearer <token>` to every call while there is a token, unless the call
 * already carries its own authorization header.
 */
export function bearerAuth(accessToken: AccessTokenSource): Interceptor {
  return (next) => async (req) => {
    const token = accessToken();
    if (token !== undefined && !req.header.has('authorization')) {
      req.header.set('authorization', `Bearer ${token}`);
    }
    return next(req);
  };
}

/** Options of {@link createApiTransport}. */
export interface ApiTransportOptions {
  /** The gateway's origin, e.g. `https://streambet.example` (the web app passes its own origin). */
  readonly baseUrl: string;
  readonly accessToken: AccessTokenSource;
  /** The fetch to use; default the global one (React Native's, or a polyfilled one). */
  readonly fetch?: typeof globalThis.fetch;
}

/** A Connect-Web transport to the gateway that signs calls with the current access token. */
export function createApiTransport(options: ApiTransportOptions): Transport {
  return createConnectTransport({
    baseUrl: options.baseUrl,
    interceptors: [bearerAuth(options.accessToken)],
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
}

/** The clients over one transport. */
export function createApi(transport: Transport): Api {
  return {
    users: createClient(UserService, transport),
    pool: createClient(PoolService, transport),
    bets: createClient(BetEngineService, transport),
    channels: createClient(IntegrationService, transport),
    payments: createClient(PaymentService, transport),
    settlements: createClient(SettlementService, transport),
    chat: createClient(RealtimeService, transport),
    analytics: createClient(AnalyticsService, transport),
    notifications: createClient(NotificationService, transport),
  };
}
