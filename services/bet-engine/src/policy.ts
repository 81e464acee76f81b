import {
  anyUser,
  definePolicy,
  type AccessPolicy,
} from '@streambet/platform/auth/auth-interceptor';
import {
  BetEngineService,
  BetEngineInternalService,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';

/**
 * Who may call each bet-engine RPC. Internal services take only service credentials (the gateway
 * never routes them); streamer actions are checked again against channel ownership in the handler.
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
    listMarketBets: ['service'],
    voidBetsAfter: ['service'],
    lapseUnmatched: ['service'],
  }),
};
