import {
  definePolicy,
  services,
  type AccessPolicy,
} from '@streambet/platform/auth/auth-interceptor';
import {
  PoolService,
  PoolInternalService,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';

/**
 * Who may call each pool RPC. Internal services take only service credentials (the gateway
 * never routes them); streamer actions are checked again against channel ownership in the handler.
 */
export const poolPolicy: AccessPolicy = {
  ...definePolicy(PoolService, {
    createMarket: ['streamer', 'admin'],
    openMarket: ['streamer', 'admin'],
    lockMarket: ['streamer', 'admin'],
    resolveMarket: ['streamer', 'admin'],
    cancelMarket: ['streamer', 'admin'],
    voidResolvedMarket: ['admin'],
    getMarket: ['public'],
    listMarkets: ['public'],
    getChannelSettings: ['streamer', 'admin'],
    updateChannelSettings: ['streamer', 'admin'],
    getLeaderboard: ['public'],
    saveMarketTemplate: ['streamer', 'admin'],
    listMarketTemplates: ['streamer', 'admin'],
    deleteMarketTemplate: ['streamer', 'admin'],
    openMarketFromTemplate: ['streamer', 'admin'],
  }),
  ...definePolicy(PoolInternalService, {
    // Each internal RPC names the services that call it; any other service is refused.
    getMarketForBetting: services('bet-engine'),
    getMarketForSettlement: services('settlement'),
  }),
};
