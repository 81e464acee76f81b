/**
 * Chat of a channel: `chat:send` from sockets and the moderation RPCs, over the chat rules in
 * domain/chat.ts. Slow mode and the per-user rate are token buckets in the cache port (Redis in
 * the cluster, so every realtime node enforces the same budget); settings, bans and messages live
 * in the realtime database. The `chat:history` sent on every channel join is cached in the cache
 * port under a per-channel generation that every accepted message and every moderation change
 * replaces (see {@link createChat}), so a crowd joining a channel costs no SQL.
 */
import { quoteInput } from '@streambet/platform/errors/quote-input';
import { randomBytes } from 'node:crypto';
import { create, toJson, type JsonValue } from '@bufbuild/protobuf';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  ChatBanSchema,
  ChatMessageSchema,
  ChatSettingsSchema,
} from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import type { Cache } from '@streambet/platform/cache/types';
import {
  NotFoundError,
  ResourceExhaustedError,
  UnauthenticatedError,
} from '@streambet/platform/errors/domain-errors';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import {
  applySettingsChange,
  assertChatEnabled,
  assertModerator,
  assertNotBanned,
  chatHistorySize,
  decideBan,
  isBanActive,
  isModerator,
  parseChatSend,
  slowModeBucket,
  userRateBucket,
  type BanCommand,
  type ChatActor,
  type ChatBanDoc,
  type ChatSettingsChange,
  type ChatSettingsDoc,
} from './domain/chat.js';
import { roomName } from './domain/rooms.js';
import type { Fanout } from './fanout.js';
import type { ChatMessageDoc, RealtimeStore } from './store.js';

/** Chat operations; errors are domain errors (mapped to acks on sockets, codes on RPCs). */
export interface Chat {
  /** Accepts a `chat:send` payload from `actor` (undefined = anonymous) and broadcasts it. */
  send(actor: ChatActor | undefined, payload: unknown): Promise<{ messageId: string }>;
  /** `chat:history` payload of a channel: `{ channelId, messages }`, the last 50, oldest first. */
  history(channelId: string): Promise<JsonValue>;
  settings(channelId: string): Promise<ChatSettingsDoc>;
  setSettings(
    actor: ChatActor,
    channelId: string,
    change: ChatSettingsChange,
  ): Promise<ChatSettingsDoc>;
  ban(actor: ChatActor, command: BanCommand): Promise<ChatBanDoc>;
  unban(actor: ChatActor, channelId: string, userId: string): Promise<boolean>;
  listBans(
    actor: ChatActor,
    channelId: string,
    limit: number,
    offset: number,
  ): Promise<ChatBanDoc[]>;
}

/** Dependencies of {@link createChat}. */
export interface ChatDeps {
  readonly store: RealtimeStore;
  readonly cache: Cache;
  readonly clock: Clock;
  readonly fanout: Fanout;
  /** Random bytes for message ids; default crypto. */
  readonly random?: (size: number) => Uint8Array;
  /** Receives one `chat moderation` line per change (the audit trail until analytics consumes one). */
  readonly logger?: Pick<Logger, 'info'>;
}

/** Cache key of a channel's history generation: replaced whenever its history may change. */
const historyGenerationKey = (channelId: string): string => `chat:history-gen:${channelId}`;
/** Cache key of a channel's cached `chat:history` payload, tagged with its generation. */
const historyKey = (channelId: string): string => `chat:history:${channelId}`;
/** How long an unread cached history is kept; a generation outlives any history cached under it. */
const historyTtlMs = 10 * 60_000;
const historyGenerationTtlMs = 24 * 60 * 60_000;

const roleOf: Record<ChatActor['role'], Role> = {
  viewer: Role.VIEWER,
  streamer: Role.STREAMER,
  admin: Role.ADMIN,
};

/** A message in its ChatMessage JSON mapping. */
function chatMessageJson(message: ChatMessageDoc): JsonValue {
  return toJson(
    ChatMessageSchema,
    create(ChatMessageSchema, {
      messageId: message.messageId,
      channelId: message.channelId,
      userId: message.userId,
      displayName: message.displayName,
      roles: [roleOf[message.role]],
      isChannelOwner: message.isChannelOwner,
      text: message.text,
      sentAtMs: message.sentAtMs,
    }),
  );
}

/** Settings in their ChatSettings JSON mapping (and proto form for RPCs). */
export function chatSettingsMessage(settings: ChatSettingsDoc) {
  return create(ChatSettingsSchema, settings);
}

/** A ban as a ChatBan message; `public` blanks what only moderators may see. */
export function chatBanMessage(ban: ChatBanDoc, visibility: 'moderator' | 'public') {
  return create(ChatBanSchema, {
    channelId: ban.channelId,
    userId: ban.userId,
    untilMs: ban.untilMs,
    reason: visibility === 'public' ? '' : ban.reason,
    bannedByUserId: visibility === 'public' ? '' : ban.bannedByUserId,
    bannedAtMs: ban.bannedAtMs,
  });
}

/** Creates the chat over its store, cache and fan-out. */
export function createChat(deps: ChatDeps): Chat {
  const { store, cache, clock, fanout } = deps;
  const random = deps.random ?? ((size: number) => randomBytes(size));
  const audit = (actor: ChatActor, action: string, details: Record<string, unknown>): void => {
    deps.logger?.info(
      { audit: true, actorUserId: actor.userId, actorRole: actor.role, action, ...details },
      'chat moderation',
    );
  };

  const ownerOf = async (channelId: string): Promise<string> => {
    const owner = await store.channelOwner(channelId);
    if (owner === undefined)
      throw new NotFoundError(`channel ${quoteInput(channelId)} is not a linked channel`);
    return owner;
  };

  // History cache. A reader takes the channel's generation *before* its SQL read and stores the
  // result under it; a writer replaces the generation *after* its change committed. So a history
  // stored under generation g holds every change whose new generation was written before g was
  // read, and any later change makes g stale: a hit is never older than the last committed change.
  // An absent generation (never written, expired or evicted) is replaced by a fresh one before the
  // read, never trusted as "unchanged".
  const newGeneration = (): string => Buffer.from(random(10)).toString('base64url');
  const historyChanged = async (channelId: string): Promise<void> => {
    await cache.set(historyGenerationKey(channelId), newGeneration(), historyGenerationTtlMs);
  };
  const currentGeneration = async (channelId: string): Promise<string> => {
    const known = await cache.get(historyGenerationKey(channelId));
    if (known !== null) return known;
    const fresh = newGeneration();
    await cache.set(historyGenerationKey(channelId), fresh, historyGenerationTtlMs);
    return fresh;
  };

  const take = async (key: string, spec: Parameters<Cache['takeTokens']>[1], what: string) => {
    const decision = await cache.takeTokens(key, spec, clock.now());
    if (!decision.allowed) {
      throw new ResourceExhaustedError(what, { retryAfterMs: decision.retryAfterMs });
    }
  };

  return {
    async send(actor, payload) {
      if (actor === undefined) throw new UnauthenticatedError('sign in to chat');
      const command = parseChatSend(payload);
      const owner = await ownerOf(command.channelId);
      const settings = await store.settings(command.channelId);
      assertChatEnabled(settings);
      const exempt = isModerator(actor, owner);
      if (!exempt) assertNotBanned(await store.ban(command.channelId, actor.userId), clock.now());
      const resent = await store.findMessage(
        command.channelId,
        actor.userId,
        command.clientMessageId,
      );
      if (resent !== undefined) {
        // The first attempt may have failed after its insert, before the history moved on.
        await historyChanged(command.channelId);
        return { messageId: resent.messageId };
      }
      if (!exempt) {
        const slow = slowModeBucket(settings);
        if (slow !== undefined) {
          await take(
            `chat:slow:${command.channelId}:${actor.userId}:${settings.slowModeSeconds}`,
            slow,
            `slow mode: one message every ${settings.slowModeSeconds} s`,
          );
        }
        await take(
          `chat:rate:${command.channelId}:${actor.userId}:${settings.userRateLimitMessages}/${settings.userRateLimitWindowSeconds}`,
          userRateBucket(settings),
          `too many messages: at most ${settings.userRateLimitMessages} per ${settings.userRateLimitWindowSeconds} s`,
        );
      }
      const nowMs = clock.now();
      const message: ChatMessageDoc = {
        messageId: encodeUlid(nowMs, random(10)),
        channelId: command.channelId,
        userId: actor.userId,
        clientMessageId: command.clientMessageId,
        displayName:
          (await store.user(actor.userId))?.displayName || `user-${actor.userId.slice(-6)}`,
        role: actor.role,
        isChannelOwner: actor.userId === owner,
        text: command.text,
        sentAtMs: BigInt(nowMs),
      };
      if (!(await store.insertMessage(message))) {
        // A concurrent resend won the insert: answer with its id, broadcast nothing.
        const winner = await store.findMessage(
          message.channelId,
          message.userId,
          message.clientMessageId,
        );
        return { messageId: winner?.messageId ?? message.messageId };
      }
      await historyChanged(message.channelId);
      fanout.send(roomName('channel', message.channelId), 'chat:message', chatMessageJson(message));
      return { messageId: message.messageId };
    },

    async history(channelId) {
      const generation = await currentGeneration(channelId);
      const cached = await cache.get(historyKey(channelId));
      if (cached !== null) {
        const entry = JSON.parse(cached) as { generation: string; history: JsonValue };
        if (entry.generation === generation) return entry.history;
      }
      const messages = await store.history(channelId, chatHistorySize);
      // camelCase like every other payload on the socket (the protobuf JSON mapping).
      const history: JsonValue = { channelId, messages: messages.map(chatMessageJson) };
      await cache.set(historyKey(channelId), JSON.stringify({ generation, history }), historyTtlMs);
      return history;
    },

    async settings(channelId) {
      await ownerOf(channelId);
      return store.settings(channelId);
    },

    async setSettings(actor, channelId, change) {
      assertModerator(actor, await ownerOf(channelId));
      const next = applySettingsChange(await store.settings(channelId), change);
      await store.saveSettings(channelId, next, actor.userId, clock.now());
      audit(actor, 'SetChatSettings', { channelId, settings: next });
      fanout.send(
        roomName('channel', channelId),
        'chat:settings',
        toJson(ChatSettingsSchema, chatSettingsMessage(next)),
      );
      return next;
    },

    async ban(actor, command) {
      const owner = await ownerOf(command.channelId);
      assertModerator(actor, owner);
      const target = await store.user(command.userId);
      if (target === undefined)
        throw new NotFoundError(`user ${quoteInput(command.userId)} does not exist`);
      const ban = decideBan(
        command,
        actor,
        { ownerUserId: owner, targetIsAdmin: target.isAdmin },
        clock.now(),
      );
      await store.saveBan(ban);
      await historyChanged(ban.channelId);
      audit(actor, 'BanChatUser', {
        channelId: ban.channelId,
        userId: ban.userId,
        untilMs: String(ban.untilMs),
        reason: ban.reason,
      });
      fanout.send(
        roomName('channel', ban.channelId),
        'chat:user_banned',
        toJson(ChatBanSchema, chatBanMessage(ban, 'public')),
      );
      return ban;
    },

    async unban(actor, channelId, userId) {
      assertModerator(actor, await ownerOf(channelId));
      const removed = await store.deleteBan(channelId, userId);
      await historyChanged(channelId);
      audit(actor, 'UnbanChatUser', { channelId, userId });
      return isBanActive(removed, clock.now());
    },

    async listBans(actor, channelId, limit, offset) {
      assertModerator(actor, await ownerOf(channelId));
      return store.activeBans(channelId, clock.now(), limit, offset);
    },
  };
}
