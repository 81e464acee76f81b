import {
  anyUser,
  definePolicy,
  type AccessPolicy,
} from '@streambet/platform/auth/auth-interceptor';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';

/**
 * Who may call each integration RPC. Internal services take only service credentials (the gateway
 * never routes them); streamer actions are checked again against channel ownership in the handler.
 */
export const integrationPolicy: AccessPolicy = {
  ...definePolicy(IntegrationService, {
    beginChannelLink: ['streamer', 'admin'],
    linkChannel: ['streamer', 'admin'],
    unlinkChannel: ['streamer', 'admin'],
    listChannels: anyUser,
    getChannel: ['public'],
    updateChannelSettings: ['streamer', 'admin'],
  }),
};
