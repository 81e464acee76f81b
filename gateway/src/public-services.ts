import type { DescService } from '@bufbuild/protobuf';
import { AnalyticsService } from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { BetEngineService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import { PaymentService } from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { PoolService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { RealtimeService } from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import { SettlementService } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { NotificationService } from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import type { DownstreamName } from '@streambet/platform/runtime/platform-config';

/** A public API the gateway exposes, and the service that implements it. */
export interface PublicRoute {
  readonly service: DescService;
  readonly downstream: DownstreamName;
}

/**
 * The only services reachable from the internet. Internal services (`*InternalService`: the
 * ledger, bet voiding, market lookups for settlement, realtime publishing) are deliberately absent:
 * the gateway has no route to them, so they answer 404 / UNIMPLEMENTED at the edge whatever the
 * token (architecture.md: internal RPCs are not routable from the gateway).
 */
export const publicRoutes: readonly PublicRoute[] = [
  { service: UserService, downstream: 'user' },
  { service: NotificationService, downstream: 'user' },
  { service: BetEngineService, downstream: 'bet-engine' },
  { service: PoolService, downstream: 'pool' },
  { service: SettlementService, downstream: 'settlement' },
  { service: PaymentService, downstream: 'payment' },
  { service: IntegrationService, downstream: 'integration' },
  { service: RealtimeService, downstream: 'realtime' },
  { service: AnalyticsService, downstream: 'analytics' },
];

/** Every service the gateway talks to. */
export const downstreamNames: readonly DownstreamName[] = [
  'user',
  'bet-engine',
  'pool',
  'settlement',
  'payment',
  'integration',
  'realtime',
  'analytics',
];
