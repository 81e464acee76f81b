/**
 * The realtime service's SQL: channel / market / user projections and the chat tables (see
 * migrations/index.ts). Fan-out itself keeps no state in SQL: pushed events are best-effort and
 * never replayed (realtime.proto).
 */
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import { defaultChatSettings, type ChatBanDoc, type ChatSettingsDoc } from './domain/chat.js';

/** A chat message as stored and broadcast. */
export interface ChatMessageDoc {
  readonly messageId: string;
  readonly channelId: string;
  readonly userId: string;
  readonly clientMessageId: string;
  readonly displayName: string;
  readonly role: 'viewer' | 'streamer' | 'admin';
  readonly isChannelOwner: boolean;
  readonly text: string;
  readonly sentAtMs: bigint;
}

/** What the realtime service knows of a user (from user events). */
export interface KnownUser {
  readonly displayName: string;
  readonly isAdmin: boolean;
}

/** The realtime store; every method is one statement or one short transaction. */
export interface RealtimeStore {
  linkChannel(tx: SqlExecutor, channelId: string, ownerUserId: string): Promise<void>;
  unlinkChannel(tx: SqlExecutor, channelId: string): Promise<void>;
  recordMarket(tx: SqlExecutor, marketId: string, channelId: string): Promise<void>;
  /** Creates or renames a user (display name from UserRegistered / UserProfileUpdated). */
  upsertUser(tx: SqlExecutor, userId: string, displayName: string): Promise<void>;
  /** Records whether a user is an admin (UserRoleGranted carries all roles held). */
  setAdmin(tx: SqlExecutor, userId: string, isAdmin: boolean): Promise<void>;
  /** Owner of a linked channel, undefined for an unknown or unlinked one. */
  channelOwner(channelId: string): Promise<string | undefined>;
  marketExists(marketId: string): Promise<boolean>;
  user(userId: string): Promise<KnownUser | undefined>;
  settings(channelId: string): Promise<ChatSettingsDoc>;
  saveSettings(
    channelId: string,
    settings: ChatSettingsDoc,
    byUserId: string,
    nowMs: number,
  ): Promise<void>;
  ban(channelId: string, userId: string): Promise<ChatBanDoc | undefined>;
  saveBan(ban: ChatBanDoc): Promise<void>;
  /** Deletes a ban; returns it (undefined when there was none). */
  deleteBan(channelId: string, userId: string): Promise<ChatBanDoc | undefined>;
  /** Bans in force at `nowMs`, most recent first. */
  activeBans(
    channelId: string,
    nowMs: number,
    limit: number,
    offset: number,
  ): Promise<ChatBanDoc[]>;
  findMessage(
    channelId: string,
    userId: string,
    clientMessageId: string,
  ): Promise<ChatMessageDoc | undefined>;
  /** Inserts a message; false when (channel, user, client_message_id) already exists. */
  insertMessage(message: ChatMessageDoc): Promise<boolean>;
  /** The last `limit` messages of a channel, oldest first. */
  history(channelId: string, limit: number): Promise<ChatMessageDoc[]>;
}

interface BanRow {
  channel_id: string;
  user_id: string;
  until_ms: bigint | string;
  reason: string;
  banned_by_user_id: string;
  banned_at_ms: bigint | string;
}

interface MessageRow {
  message_id: string;
  channel_id: string;
  user_id: string;
  client_message_id: string;
  display_name: string;
  role: string;
  is_channel_owner: boolean;
  text: string;
  sent_at_ms: bigint | string;
}

const banFromRow = (row: BanRow): ChatBanDoc => ({
  channelId: row.channel_id,
  userId: row.user_id,
  untilMs: BigInt(row.until_ms),
  reason: row.reason,
  bannedByUserId: row.banned_by_user_id,
  bannedAtMs: BigInt(row.banned_at_ms),
});

const messageFromRow = (row: MessageRow): ChatMessageDoc => ({
  messageId: row.message_id,
  channelId: row.channel_id,
  userId: row.user_id,
  clientMessageId: row.client_message_id,
  displayName: row.display_name,
  role: row.role === 'admin' || row.role === 'streamer' ? row.role : 'viewer',
  isChannelOwner: row.is_channel_owner,
  text: row.text,
  sentAtMs: BigInt(row.sent_at_ms),
});

const messageColumns =
  'message_id, channel_id, user_id, client_message_id, display_name, role, is_channel_owner, text, sent_at_ms';

/** Creates the store over the service's own database. */
export function createRealtimeStore(sql: Sql): RealtimeStore {
  return {
    async linkChannel(tx, channelId, ownerUserId) {
      await tx.query(
        `INSERT INTO rt_channels (channel_id, owner_user_id, linked) VALUES ($1, $2, true)
         ON CONFLICT (channel_id) DO UPDATE SET owner_user_id = EXCLUDED.owner_user_id, linked = true`,
        [channelId, ownerUserId],
      );
    },
    async unlinkChannel(tx, channelId) {
      await tx.query('UPDATE rt_channels SET linked = false WHERE channel_id = $1', [channelId]);
    },
    async recordMarket(tx, marketId, channelId) {
      await tx.query(
        'INSERT INTO rt_markets (market_id, channel_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [marketId, channelId],
      );
    },
    async upsertUser(tx, userId, displayName) {
      await tx.query(
        `INSERT INTO rt_users (user_id, display_name) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET display_name = EXCLUDED.display_name`,
        [userId, displayName],
      );
    },
    async setAdmin(tx, userId, isAdmin) {
      await tx.query(
        `INSERT INTO rt_users (user_id, display_name, is_admin) VALUES ($1, '', $2)
         ON CONFLICT (user_id) DO UPDATE SET is_admin = EXCLUDED.is_admin`,
        [userId, isAdmin],
      );
    },
    async channelOwner(channelId) {
      const result = await sql.query<{ owner_user_id: string }>(
        'SELECT owner_user_id FROM rt_channels WHERE channel_id = $1 AND linked',
        [channelId],
      );
      return result.rows[0]?.owner_user_id;
    },
    async marketExists(marketId) {
      const result = await sql.query('SELECT 1 FROM rt_markets WHERE market_id = $1', [marketId]);
      return result.rows.length > 0;
    },
    async user(userId) {
      const result = await sql.query<{ display_name: string; is_admin: boolean }>(
        'SELECT display_name, is_admin FROM rt_users WHERE user_id = $1',
        [userId],
      );
      const row = result.rows[0];
      return row === undefined
        ? undefined
        : { displayName: row.display_name, isAdmin: row.is_admin };
    },
    async settings(channelId) {
      const result = await sql.query<{
        chat_enabled: boolean;
        slow_mode_seconds: number;
        user_rate_limit_messages: number;
        user_rate_limit_window_seconds: number;
      }>(
        `SELECT chat_enabled, slow_mode_seconds, user_rate_limit_messages, user_rate_limit_window_seconds
         FROM rt_chat_settings WHERE channel_id = $1`,
        [channelId],
      );
      const row = result.rows[0];
      if (row === undefined) return defaultChatSettings;
      return {
        chatEnabled: row.chat_enabled,
        slowModeSeconds: row.slow_mode_seconds,
        userRateLimitMessages: row.user_rate_limit_messages,
        userRateLimitWindowSeconds: row.user_rate_limit_window_seconds,
      };
    },
    async saveSettings(channelId, settings, byUserId, nowMs) {
      await sql.query(
        `INSERT INTO rt_chat_settings (channel_id, chat_enabled, slow_mode_seconds, user_rate_limit_messages,
           user_rate_limit_window_seconds, updated_by_user_id, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (channel_id) DO UPDATE SET chat_enabled = EXCLUDED.chat_enabled,
           slow_mode_seconds = EXCLUDED.slow_mode_seconds,
           user_rate_limit_messages = EXCLUDED.user_rate_limit_messages,
           user_rate_limit_window_seconds = EXCLUDED.user_rate_limit_window_seconds,
           updated_by_user_id = EXCLUDED.updated_by_user_id, updated_at_ms = EXCLUDED.updated_at_ms`,
        [
          channelId,
          settings.chatEnabled,
          settings.slowModeSeconds,
          settings.userRateLimitMessages,
          settings.userRateLimitWindowSeconds,
          byUserId,
          BigInt(nowMs),
        ],
      );
    },
    async ban(channelId, userId) {
      const result = await sql.query<BanRow>(
        'SELECT * FROM rt_chat_bans WHERE channel_id = $1 AND user_id = $2',
        [channelId, userId],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : banFromRow(row);
    },
    async saveBan(ban) {
      await sql.query(
        `INSERT INTO rt_chat_bans (channel_id, user_id, until_ms, reason, banned_by_user_id, banned_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (channel_id, user_id) DO UPDATE SET until_ms = EXCLUDED.until_ms,
           reason = EXCLUDED.reason, banned_by_user_id = EXCLUDED.banned_by_user_id,
           banned_at_ms = EXCLUDED.banned_at_ms`,
        [ban.channelId, ban.userId, ban.untilMs, ban.reason, ban.bannedByUserId, ban.bannedAtMs],
      );
    },
    async deleteBan(channelId, userId) {
      const result = await sql.query<BanRow>(
        'DELETE FROM rt_chat_bans WHERE channel_id = $1 AND user_id = $2 RETURNING *',
        [channelId, userId],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : banFromRow(row);
    },
    async activeBans(channelId, nowMs, limit, offset) {
      const result = await sql.query<BanRow>(
        `SELECT * FROM rt_chat_bans WHERE channel_id = $1 AND (until_ms = 0 OR until_ms > $2)
         ORDER BY banned_at_ms DESC, user_id LIMIT $3 OFFSET $4`,
        [channelId, BigInt(nowMs), limit, offset],
      );
      return result.rows.map(banFromRow);
    },
    async findMessage(channelId, userId, clientMessageId) {
      const result = await sql.query<MessageRow>(
        `SELECT ${messageColumns} FROM rt_chat_messages
         WHERE channel_id = $1 AND user_id = $2 AND client_message_id = $3`,
        [channelId, userId, clientMessageId],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : messageFromRow(row);
    },
    async insertMessage(message) {
      const result = await sql.query(
        `INSERT INTO rt_chat_messages (${messageColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (channel_id, user_id, client_message_id) DO NOTHING`,
        [
          message.messageId,
          message.channelId,
          message.userId,
          message.clientMessageId,
          message.displayName,
          message.role,
          message.isChannelOwner,
          message.text,
          message.sentAtMs,
        ],
      );
      return result.rowCount === 1;
    },
    async history(channelId, limit) {
      const result = await sql.query<MessageRow>(
        `SELECT ${messageColumns} FROM rt_chat_messages WHERE channel_id = $1
         ORDER BY message_id DESC LIMIT $2`,
        [channelId, limit],
      );
      return result.rows.map(messageFromRow).reverse();
    },
  };
}
