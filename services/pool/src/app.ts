import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import {
  PoolService,
  PoolInternalService,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { PoolConfig } from './config.js';
import { poolMigrations } from './migrations/index.js';
import { poolPolicy } from './policy.js';

/**
 * The pool service as the platform runs it. Its contract is served, checked by its access policy
 * and health probes, but its logic arrives with issue 4 (parimutuel markets end to end): until then every RPC answers
 * UNIMPLEMENTED rather than pretending.
 */
export const poolService: ServiceDefinition<PoolConfig> = {
  name: 'pool',
  migrations: poolMigrations,
  create: () => ({
    routes(router) {
      router.service(PoolService, {});
      router.service(PoolInternalService, {});
    },
    policy: poolPolicy,
  }),
};
