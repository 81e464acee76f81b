import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';
import type { IntegrationConfig } from './config.js';
import { integrationMigrations } from './migrations/index.js';
import { integrationPolicy } from './policy.js';

/**
 * The integration service as the platform runs it. Its contract is served, checked by its access policy
 * and health probes, but its logic arrives with a later issue (Twitch, Kick and YouTube integration): until then every RPC answers
 * UNIMPLEMENTED rather than pretending.
 */
export const integrationService: ServiceDefinition<IntegrationConfig> = {
  name: 'integration',
  migrations: integrationMigrations,
  create: () => ({
    routes(router) {
      router.service(IntegrationService, {});
    },
    policy: integrationPolicy,
  }),
};
