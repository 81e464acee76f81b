import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import {
  BetEngineService,
  BetEngineInternalService,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import type { BetEngineConfig } from './config.js';
import { betEngineMigrations } from './migrations/index.js';
import { betEnginePolicy } from './policy.js';

/**
 * The bet-engine service as the platform runs it. Its contract is served, checked by its access policy
 * and health probes, but its logic arrives with issue 4 (parimutuel markets end to end): until then every RPC answers
 * UNIMPLEMENTED rather than pretending.
 */
export const betEngineService: ServiceDefinition<BetEngineConfig> = {
  name: 'bet-engine',
  migrations: betEngineMigrations,
  create: () => ({
    routes(router) {
      router.service(BetEngineService, {});
      router.service(BetEngineInternalService, {});
    },
    policy: betEnginePolicy,
  }),
};
