import {
  anyUser,
  definePolicy,
  services,
  type AccessPolicy,
} from '@streambet/platform/auth/auth-interceptor';
import {
  SettlementService,
  SettlementInternalService,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';

/**
 * Who may call each settlement RPC. Internal services take only service credentials (the gateway
 * never routes them); streamer actions are checked again against channel ownership in the handler.
 */
export const settlementPolicy: AccessPolicy = {
  ...definePolicy(SettlementService, {
    getSettlement: ['public'],
    listPayouts: anyUser,
    listSettlements: ['admin'],
    retrySettlement: ['admin'],
  }),
  ...definePolicy(SettlementInternalService, {
    // Only the pool (VoidResolvedMarket) reverses a settlement; any other service is refused.
    reverseSettlement: services('pool'),
  }),
};
