import { loadSqlMigrations } from '@streambet/platform/sql/load-migrations';
import type { Migration } from '@streambet/platform/sql/types';

/**
 * The realtime service's schema, applied at start in id order.
 * - `rt_channels`, `rt_markets`, `rt_users`: projections from integration, market and user events
 *   (channel owners for moderation, which rooms exist, display names and admin flags for chat).
 * - `rt_chat_settings`: a channel's chat rules (no row = deployment defaults).
 * - `rt_chat_bans`: bans in force or expired (until_ms 0 = permanent).
 * - `rt_chat_messages`: accepted messages, for `chat:history` and resend deduplication by
 *   (channel, user, client_message_id).
 *
 * Each migration is a frozen `<id>.sql` file in this folder: never edited once applied anywhere
 * (migrate() refuses a changed one); a change is a new file with the next number.
 */
export const realtimeMigrations: readonly Migration[] = loadSqlMigrations(
  new URL('./', import.meta.url),
);
