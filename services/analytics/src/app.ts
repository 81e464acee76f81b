import type { ServiceDefinition } from '@streambet/platform/runtime/service-host';
import { AnalyticsService } from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import type { AnalyticsConfig } from './config.js';
import { analyticsMigrations } from './migrations/index.js';
import { analyticsPolicy } from './policy.js';

/**
 * The analytics service as the platform runs it. Its contract is served, checked by its access policy
 * and health probes, but its logic arrives with a later issue (analytics and fraud flags): until then every RPC answers
 * UNIMPLEMENTED rather than pretending.
 */
export const analyticsService: ServiceDefinition<AnalyticsConfig> = {
  name: 'analytics',
  migrations: analyticsMigrations,
  create: () => ({
    routes(router) {
      router.service(AnalyticsService, {});
    },
    policy: analyticsPolicy,
  }),
};
