import { definePolicy, type AccessPolicy } from '@streambet/platform/auth/auth-interceptor';
import { AnalyticsService } from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';

/**
 * Who may call each analytics RPC. Internal services take only service credentials (the gateway
 * never routes them); streamer actions are checked again against channel ownership in the handler.
 */
export const analyticsPolicy: AccessPolicy = {
  ...definePolicy(AnalyticsService, {
    getMetrics: ['admin'],
    listFraudFlags: ['admin'],
    resolveFraudFlag: ['admin'],
    queryAuditLog: ['admin'],
    exportAuditLog: ['admin'],
  }),
};
