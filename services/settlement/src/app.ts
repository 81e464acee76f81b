import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import {
  SettlementService,
  SettlementInternalService,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import type { SettlementConfig } from './config.js';
import { settlementMigrations } from './migrations/index.js';
import { settlementPolicy } from './policy.js';

/**
 * The settlement service as the platform runs it. Its contract is served, checked by its access policy
 * and health probes, but its logic arrives with issue 4 (parimutuel markets end to end): until then every RPC answers
 * UNIMPLEMENTED rather than pretending.
 */
export const settlementService: ServiceDefinition<SettlementConfig> = {
  name: 'settlement',
  migrations: settlementMigrations,
  create: () => ({
    routes(router) {
      router.service(SettlementService, {});
      router.service(SettlementInternalService, {});
    },
    policy: settlementPolicy,
  }),
};
