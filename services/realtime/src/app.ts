import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import {
  RealtimeService,
  RealtimeInternalService,
} from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import type { RealtimeConfig } from './config.js';
import { realtimeMigrations } from './migrations/index.js';
import { realtimePolicy } from './policy.js';

/**
 * The realtime service as the platform runs it. Its contract is served, checked by its access policy
 * and health probes, but its logic arrives with issue 5 (the live layer): until then every RPC answers
 * UNIMPLEMENTED rather than pretending.
 */
export const realtimeService: ServiceDefinition<RealtimeConfig> = {
  name: 'realtime',
  migrations: realtimeMigrations,
  create: () => ({
    routes(router) {
      router.service(RealtimeService, {});
      router.service(RealtimeInternalService, {});
    },
    policy: realtimePolicy,
  }),
};
