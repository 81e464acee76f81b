import { definePolicy, type AccessPolicy } from '@streambet/platform/auth/auth-interceptor';
import {
  RealtimeService,
  RealtimeInternalService,
} from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';

/**
 * Who may call each realtime RPC. Internal services take only service credentials (the gateway
 * never routes them); streamer actions are checked again against channel ownership in the handler.
 */
export const realtimePolicy: AccessPolicy = {
  ...definePolicy(RealtimeService, {
    getChatSettings: ['public'],
    setChatSettings: ['streamer', 'admin'],
    banChatUser: ['streamer', 'admin'],
    unbanChatUser: ['streamer', 'admin'],
    listChatBans: ['streamer', 'admin'],
  }),
  ...definePolicy(RealtimeInternalService, {
    // Any service may push to rooms (contract: "Roles: service (any)").
    publish: ['service'],
  }),
};
