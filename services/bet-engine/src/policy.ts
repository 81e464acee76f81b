import {
  anyUser,
  definePolicy,
  services,
  type AccessPolicy,
} from '@streambet/platform/auth/auth-interceptor';
import {
  BetEngineService,
  BetEngineInternalService,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';

/**
 * Who may call each bet-engine RPC. Public RPCs take any signed-in user (viewer, streamer, admin;
 * the own-channel rule and the admin-only user_id filter are checked in the handlers); odds and
 * books are public, anonymous callers included. Internal RPCs take only service credentials (the
 * gateway never routes them).
 */
export const betEnginePolicy: AccessPolicy = {
  ...definePolicy(BetEngineService, {
    placeBet: anyUser,
    cancelOrder: anyUser,
    listMyBets: anyUser,
    getOdds: ['public'],
    getBook: ['public'],
  }),
  ...definePolicy(BetEngineInternalService, {
    // Each internal RPC names the services that call it; any other service is refused.
    listMarketBets: services('settlement'),
    resolveMarketBets: services('settlement'),
    voidBetsAfter: services('pool'),
    lapseUnmatched: services('pool'),
  }),
};
