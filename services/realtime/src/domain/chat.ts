/**
 * Chat rules of a channel (realtime.proto ChatSettings, `chat:send`, BanChatUser): validation
 * of what clients send, the settings' ranges, who moderates, bans, and the token buckets that
 * implement slow mode and the per-user rate. Pure: the caller brings the time, the channel's
 * owner and the stored settings and bans.
 */
import {
  IllegalStateError,
  PermissionDeniedError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';
import type { TokenBucketSpec } from '@streambet/platform/cache/types';
import { isUlid } from '@streambet/platform/ids/ulid';
import { isRecord } from './rooms.js';

/** A channel's chat rules, as stored and as in ChatSettings. */
export interface ChatSettingsDoc {
  readonly chatEnabled: boolean;
  /** Minimum seconds between two messages of one user; 0 = off. */
  readonly slowModeSeconds: number;
  /** At most this many messages per window per user. */
  readonly userRateLimitMessages: number;
  readonly userRateLimitWindowSeconds: number;
}

/** A partial change of {@link ChatSettingsDoc}; undefined fields stay as they are. */
export type ChatSettingsChange = Partial<ChatSettingsDoc>;

/** Deployment defaults, in force until a channel's first SetChatSettings. */
export const defaultChatSettings: ChatSettingsDoc = Object.freeze({
  chatEnabled: true,
  slowModeSeconds: 0,
  userRateLimitMessages: 5,
  userRateLimitWindowSeconds: 10,
});

/** Longest chat message, in characters (Unicode code points) after trimming. */
const maxChatTextChars = 500;
/** Longest clientMessageId. */
const maxClientMessageIdChars = 64;
/** Longest ban reason. */
const maxBanReasonChars = 500;
/** Longest timed ban: 14 days. */
const maxBanSeconds = 1_209_600n;
/** Messages sent in `chat:history` to a socket joining a channel. */
export const chatHistorySize = 50;

/** Applies `change` to `current`, refusing out-of-range values (all reported at once). */
export function applySettingsChange(
  current: ChatSettingsDoc,
  change: ChatSettingsChange,
): ChatSettingsDoc {
  const violations: FieldViolation[] = [];
  const check = (field: string, value: number | undefined, min: number, max: number): void => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      violations.push({ field, description: `must be an integer from ${min} to ${max}` });
    }
  };
  check('slow_mode_seconds', change.slowModeSeconds, 0, 600);
  check('user_rate_limit_messages', change.userRateLimitMessages, 1, 100);
  check('user_rate_limit_window_seconds', change.userRateLimitWindowSeconds, 1, 300);
  if (violations.length > 0) throw new ValidationError('chat settings out of range', violations);
  return {
    chatEnabled: change.chatEnabled ?? current.chatEnabled,
    slowModeSeconds: change.slowModeSeconds ?? current.slowModeSeconds,
    userRateLimitMessages: change.userRateLimitMessages ?? current.userRateLimitMessages,
    userRateLimitWindowSeconds:
      change.userRateLimitWindowSeconds ?? current.userRateLimitWindowSeconds,
  };
}

/** A validated `chat:send`. */
export interface ChatSend {
  readonly channelId: string;
  /** Trimmed text, 1–500 chars. */
  readonly text: string;
  readonly clientMessageId: string;
}

/** Validates the payload of `chat:send` (any JSON a client sent); every violation is listed. */
export function parseChatSend(payload: unknown): ChatSend {
  if (!isRecord(payload)) {
    throw new ValidationError('chat:send needs { channelId, text, clientMessageId }');
  }
  const violations: FieldViolation[] = [];
  // camelCase, like every other socket payload (the proto JSON mapping).
  const { channelId, text, clientMessageId } = payload;
  if (typeof channelId !== 'string' || !isUlid(channelId)) {
    violations.push({ field: 'channelId', description: 'must be a channel id (ULID)' });
  }
  const trimmed = typeof text === 'string' ? text.trim() : '';
  const textChars = typeof text === 'string' ? countChars(trimmed) : 0;
  if (typeof text !== 'string' || textChars < 1 || textChars > maxChatTextChars) {
    violations.push({
      field: 'text',
      description: `must be 1–${maxChatTextChars} characters after trimming${
        textChars > maxChatTextChars ? ` (got ${textChars})` : ''
      }`,
    });
  }
  if (
    typeof clientMessageId !== 'string' ||
    clientMessageId.length < 1 ||
    clientMessageId.length > maxClientMessageIdChars
  ) {
    violations.push({
      field: 'clientMessageId',
      description: `must be a string of 1–${maxClientMessageIdChars} characters`,
    });
  }
  if (violations.length > 0) throw new ValidationError('invalid chat message', violations);
  return {
    channelId: channelId as string,
    text: trimmed,
    clientMessageId: clientMessageId as string,
  };
}

/** Who is acting on a channel's chat. */
export interface ChatActor {
  readonly userId: string;
  readonly role: 'viewer' | 'streamer' | 'admin';
}

/** True when `actor` moderates the channel owned by `ownerUserId` (its owner, or any admin). */
export function isModerator(actor: ChatActor, ownerUserId: string): boolean {
  return actor.role === 'admin' || actor.userId === ownerUserId;
}

/** Refuses a moderation RPC by someone who neither owns the channel nor is an admin. */
export function assertModerator(actor: ChatActor, ownerUserId: string): void {
  if (!isModerator(actor, ownerUserId)) {
    throw new PermissionDeniedError('only the channel owner or an admin moderates this chat');
  }
}

/** A ban as stored. */
export interface ChatBanDoc {
  readonly channelId: string;
  readonly userId: string;
  /** 0 = permanent. */
  readonly untilMs: bigint;
  readonly reason: string;
  readonly bannedByUserId: string;
  readonly bannedAtMs: bigint;
}

/** True when `ban` is in force at `nowMs`. */
export function isBanActive(ban: ChatBanDoc | undefined, nowMs: number): boolean {
  return ban !== undefined && (ban.untilMs === 0n || ban.untilMs > BigInt(nowMs));
}

/** Refuses a message of a banned user, saying until when. */
export function assertNotBanned(ban: ChatBanDoc | undefined, nowMs: number): void {
  if (ban === undefined || !isBanActive(ban, nowMs)) return;
  throw new PermissionDeniedError(
    ban.untilMs === 0n
      ? 'you are banned from this chat permanently'
      : `you are banned from this chat until ${new Date(Number(ban.untilMs)).toISOString()}`,
  );
}

/** Refuses a message while the channel's chat is disabled. */
export function assertChatEnabled(settings: ChatSettingsDoc): void {
  if (!settings.chatEnabled) {
    throw new IllegalStateError(
      'chat is disabled in this channel; wait for the streamer to open it',
    );
  }
}

/** A validated BanChatUser request. */
export interface BanCommand {
  readonly channelId: string;
  readonly userId: string;
  readonly durationSeconds: bigint;
  readonly reason: string;
}

/**
 * Decides a ban: validates duration and reason, refuses banning the owner or an admin, and
 * returns the ban in force from `nowMs` (replacing any earlier one).
 */
export function decideBan(
  command: BanCommand,
  actor: ChatActor,
  target: { ownerUserId: string; targetIsAdmin: boolean },
  nowMs: number,
): ChatBanDoc {
  const violations: FieldViolation[] = [];
  if (command.durationSeconds < 0n || command.durationSeconds > maxBanSeconds) {
    violations.push({
      field: 'duration_seconds',
      description: `must be 0 (permanent) or 1–${maxBanSeconds} (14 days)`,
    });
  }
  if (countChars(command.reason) > maxBanReasonChars) {
    violations.push({
      field: 'reason',
      description: `must be at most ${maxBanReasonChars} characters`,
    });
  }
  if (violations.length > 0) throw new ValidationError('invalid ban', violations);
  if (command.userId === target.ownerUserId || target.targetIsAdmin) {
    throw new IllegalStateError('the channel owner and admins cannot be banned from chat');
  }
  return {
    channelId: command.channelId,
    userId: command.userId,
    untilMs: command.durationSeconds === 0n ? 0n : BigInt(nowMs) + command.durationSeconds * 1000n,
    reason: command.reason,
    bannedByUserId: actor.userId,
    bannedAtMs: BigInt(nowMs),
  };
}

/** Slow mode as a token bucket: one message, refilled after `slowModeSeconds`. Undefined when off. */
export function slowModeBucket(settings: ChatSettingsDoc): TokenBucketSpec | undefined {
  if (settings.slowModeSeconds <= 0) return undefined;
  return { capacity: 1, refillPerSecond: 1 / settings.slowModeSeconds };
}

/** The per-user rate: `messages` per `window`, as a bucket of that size refilled evenly. */
export function userRateBucket(settings: ChatSettingsDoc): TokenBucketSpec {
  return {
    capacity: settings.userRateLimitMessages,
    refillPerSecond: settings.userRateLimitMessages / settings.userRateLimitWindowSeconds,
  };
}

/** Characters as people count them (code points, so an emoji is one). */
function countChars(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}
