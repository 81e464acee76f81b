/**
 * Proto ↔ domain translation of RealtimeService (chat settings and moderation) and
 * RealtimeInternalService (Publish). Callers come from the auth interceptor (policy.ts admits
 * the roles); ownership is checked by the chat.
 */
import type { ServiceImpl, HandlerContext } from '@connectrpc/connect';
import {
  RoomKind,
  type RealtimeInternalService,
  type RealtimeService,
} from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import { callerKey } from '@streambet/platform/auth/caller';
import { UnauthenticatedError, ValidationError } from '@streambet/platform/errors/domain-errors';
import { isUlid } from '@streambet/platform/ids/ulid';
import { chatBanMessage, chatSettingsMessage, type Chat } from './chat.js';
import type { ChatActor } from './domain/chat.js';
import { validatePublish } from './domain/publish.js';
import type { RoomKind as DomainRoomKind } from './domain/rooms.js';
import type { Fanout } from './fanout.js';

const actorOf = (ctx: HandlerContext): ChatActor => {
  const caller = ctx.values.get(callerKey);
  if (caller.kind !== 'user')
    throw new UnauthenticatedError('sign in as the channel owner or an admin');
  return { userId: caller.userId, role: caller.role };
};

const requireUlid = (field: string, value: string): string => {
  if (!isUlid(value)) {
    throw new ValidationError(`${field} must be a ULID`, [
      { field, description: 'must be a ULID' },
    ]);
  }
  return value;
};

const defaultPageSize = 50;
const maxPageSize = 200;

const decodePageToken = (token: string): number => {
  if (token === '') return 0;
  const offset = Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new ValidationError('bad page token; start again without one', [
      { field: 'page.page_token', description: 'must be a next_page_token from a previous answer' },
    ]);
  }
  return offset;
};

/** RealtimeService: chat settings and moderation. */
export function createRealtimeServiceImpl(deps: {
  chat: Chat;
}): ServiceImpl<typeof RealtimeService> {
  const { chat } = deps;
  return {
    async getChatSettings(request) {
      const settings = await chat.settings(requireUlid('channel_id', request.channelId));
      return { settings: chatSettingsMessage(settings) };
    },
    async setChatSettings(request, ctx) {
      const settings = await chat.setSettings(
        actorOf(ctx),
        requireUlid('channel_id', request.channelId),
        {
          ...(request.chatEnabled === undefined ? {} : { chatEnabled: request.chatEnabled }),
          ...(request.slowModeSeconds === undefined
            ? {}
            : { slowModeSeconds: request.slowModeSeconds }),
          ...(request.userRateLimitMessages === undefined
            ? {}
            : { userRateLimitMessages: request.userRateLimitMessages }),
          ...(request.userRateLimitWindowSeconds === undefined
            ? {}
            : { userRateLimitWindowSeconds: request.userRateLimitWindowSeconds }),
        },
      );
      return { settings: chatSettingsMessage(settings) };
    },
    async banChatUser(request, ctx) {
      const ban = await chat.ban(actorOf(ctx), {
        channelId: requireUlid('channel_id', request.channelId),
        userId: requireUlid('user_id', request.userId),
        durationSeconds: request.durationSeconds,
        reason: request.reason,
      });
      return { ban: chatBanMessage(ban, 'moderator') };
    },
    async unbanChatUser(request, ctx) {
      const wasBanned = await chat.unban(
        actorOf(ctx),
        requireUlid('channel_id', request.channelId),
        requireUlid('user_id', request.userId),
      );
      return { wasBanned };
    },
    async listChatBans(request, ctx) {
      const pageSize = request.page?.pageSize ?? 0;
      if (pageSize < 0 || pageSize > maxPageSize) {
        throw new ValidationError(`page_size must be 0–${maxPageSize}`, [
          {
            field: 'page.page_size',
            description: `must be 0 (default ${defaultPageSize}) to ${maxPageSize}`,
          },
        ]);
      }
      const limit = pageSize === 0 ? defaultPageSize : pageSize;
      const offset = decodePageToken(request.page?.pageToken ?? '');
      const bans = await chat.listBans(
        actorOf(ctx),
        requireUlid('channel_id', request.channelId),
        limit + 1,
        offset,
      );
      const more = bans.length > limit;
      return {
        bans: bans.slice(0, limit).map((ban) => chatBanMessage(ban, 'moderator')),
        page: {
          nextPageToken: more ? Buffer.from(String(offset + limit)).toString('base64url') : '',
        },
      };
    },
  };
}

const roomKinds: Partial<Record<RoomKind, DomainRoomKind>> = {
  [RoomKind.CHANNEL]: 'channel',
  [RoomKind.MARKET]: 'market',
  [RoomKind.USER]: 'user',
};

/** RealtimeInternalService: pushes on behalf of other services. */
export function createRealtimeInternalServiceImpl(deps: {
  fanout: Fanout;
}): ServiceImpl<typeof RealtimeInternalService> {
  return {
    publish(request) {
      const messages = validatePublish(
        request.messages.map((message) => ({
          roomKind: roomKinds[message.room?.kind ?? RoomKind.UNSPECIFIED],
          roomId: message.room?.id ?? '',
          eventName: message.eventName,
          payloadJson: message.payloadJson,
          conflationKey: message.conflationKey,
        })),
        (text) => Buffer.byteLength(text, 'utf8'),
      );
      for (const message of messages) {
        if (message.conflationKey === '') {
          deps.fanout.send(message.room, message.event, message.payload);
        } else {
          deps.fanout.sendConflated(
            message.room,
            message.event,
            message.payload,
            message.conflationKey,
          );
        }
      }
      return { accepted: messages.length };
    },
  };
}
