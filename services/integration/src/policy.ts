import { definePolicy, type AccessPolicy } from '@streambet/platform/auth/auth-interceptor';
import { IntegrationService } from '@streambet/contracts/gen/streambet/integration/v1/integration_pb';

/**
 * Who may call each integration RPC, as the contract says. Any signed-in user may link a channel
 * (the first link makes them a streamer); unlink and settings are checked again against channel
 * ownership in the handler; reads are public.
 */
export const integrationPolicy: AccessPolicy = {
  ...definePolicy(IntegrationService, {
    beginChannelLink: ['viewer', 'streamer', 'admin'],
    linkChannel: ['viewer', 'streamer', 'admin'],
    unlinkChannel: ['streamer', 'admin'],
    listChannels: ['public'],
    getChannel: ['public'],
    updateChannelSettings: ['streamer', 'admin'],
  }),
};
