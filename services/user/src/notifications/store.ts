/**
 * SQL of the notifications centre: notifications (in-app), preferences per kind, the language of
 * texts and emails, and the devices each user logged in from. Every write runs in the caller's
 * transaction, so a notification, its NotificationCreated event and its email commit together
 * with the consumer's inbox row — or not at all.
 */
import type { NotificationKind } from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { ChannelChoice, NotificationLanguage } from './domain.js';

/** A stored notification. */
export interface NotificationRow {
  readonly notificationId: string;
  readonly userId: string;
  readonly kind: NotificationKind;
  readonly title: string;
  readonly body: string;
  readonly link: string;
  readonly createdAtMs: bigint;
  readonly readAtMs: bigint;
}

/** Who a notification is addressed to (from the users table). */
export interface Addressee {
  readonly userId: string;
  readonly email: string;
  readonly displayName: string;
  readonly language: NotificationLanguage;
}

type Row = Record<string, unknown>;

function toRow(r: Row): NotificationRow {
  return {
    notificationId: String(r.notification_id),
    userId: String(r.user_id),
    kind: Number(r.kind),
    title: String(r.title),
    body: String(r.body),
    link: String(r.link),
    createdAtMs: BigInt(r.created_at_ms as string | bigint),
    readAtMs: r.read_at_ms === null ? 0n : BigInt(r.read_at_ms as string | bigint),
  };
}

/** The notifications store over one SQL database (the user service's). */
export const notificationStore = {
  async addressee(db: SqlExecutor, userId: string): Promise<Addressee | undefined> {
    const { rows } = await db.query<Row>(
      `SELECT u.id, u.email, u.display_name, COALESCE(s.language, 'en') AS language
         FROM users u LEFT JOIN notification_settings s ON s.user_id = u.id
        WHERE u.id = $1`,
      [userId],
    );
    const r = rows[0];
    if (r === undefined) return undefined;
    return {
      userId: String(r.id),
      email: String(r.email),
      displayName: String(r.display_name),
      language: r.language === 'pt' ? 'pt' : 'en',
    };
  },

  /** The language of a user's texts and emails (English until they choose). */
  async languageOf(db: SqlExecutor, userId: string): Promise<NotificationLanguage> {
    const { rows } = await db.query<Row>(
      'SELECT language FROM notification_settings WHERE user_id = $1',
      [userId],
    );
    return rows[0]?.language === 'pt' ? 'pt' : 'en';
  },

  async insert(db: SqlExecutor, row: Omit<NotificationRow, 'readAtMs'>): Promise<void> {
    await db.query(
      `INSERT INTO notifications (notification_id, user_id, kind, title, body, link, created_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [row.notificationId, row.userId, row.kind, row.title, row.body, row.link, row.createdAtMs],
    );
  },

  async unreadCount(db: SqlExecutor, userId: string): Promise<bigint> {
    const { rows } = await db.query<Row>(
      'SELECT count(*) AS n FROM notifications WHERE user_id = $1 AND read_at_ms IS NULL',
      [userId],
    );
    const n = rows[0]?.n;
    return typeof n === 'bigint'
      ? n
      : BigInt(typeof n === 'number' || typeof n === 'string' ? n : 0);
  },

  /** A page newest first, starting below `beforeId` (exclusive) when given. */
  async list(
    db: SqlExecutor,
    userId: string,
    options: { limit: number; beforeId: string | undefined; unreadOnly: boolean },
  ): Promise<NotificationRow[]> {
    const { rows } = await db.query<Row>(
      `SELECT * FROM notifications
        WHERE user_id = $1 AND ($2::text IS NULL OR notification_id < $2)
          AND (NOT $3 OR read_at_ms IS NULL)
        ORDER BY notification_id DESC LIMIT $4`,
      [userId, options.beforeId ?? null, options.unreadOnly, options.limit],
    );
    return rows.map(toRow);
  },

  /** Marks read the given ids of `userId` (all when `ids` is undefined); others are left alone. */
  async markRead(
    db: SqlExecutor,
    userId: string,
    ids: readonly string[] | undefined,
    nowMs: number,
  ): Promise<void> {
    await db.query(
      `UPDATE notifications SET read_at_ms = $3
        WHERE user_id = $1 AND read_at_ms IS NULL
          AND ($2::text[] IS NULL OR notification_id = ANY($2::text[]))`,
      [userId, ids === undefined ? null : [...ids], BigInt(nowMs)],
    );
  },

  async choices(db: SqlExecutor, userId: string): Promise<Map<NotificationKind, ChannelChoice>> {
    const { rows } = await db.query<Row>(
      'SELECT kind, in_app, email FROM notification_preferences WHERE user_id = $1',
      [userId],
    );
    return new Map(
      rows.map((r) => [
        Number(r.kind) as NotificationKind,
        { inApp: r.in_app === true, email: r.email === true },
      ]),
    );
  },

  async setChoice(
    db: SqlExecutor,
    userId: string,
    kind: NotificationKind,
    choice: ChannelChoice,
  ): Promise<void> {
    await db.query(
      `INSERT INTO notification_preferences (user_id, kind, in_app, email) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, kind) DO UPDATE SET in_app = EXCLUDED.in_app, email = EXCLUDED.email`,
      [userId, kind, choice.inApp, choice.email],
    );
  },

  async setLanguage(
    db: SqlExecutor,
    userId: string,
    language: NotificationLanguage,
  ): Promise<void> {
    await db.query(
      `INSERT INTO notification_settings (user_id, language) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET language = EXCLUDED.language`,
      [userId, language],
    );
  },

  /**
   * Records that `userId` logged in from `deviceKey`; true when it was the first time. The first
   * device a user is ever seen on is not "new" to them (it is how they registered).
   */
  async rememberDevice(
    db: SqlExecutor,
    userId: string,
    deviceKey: string,
    nowMs: number,
  ): Promise<{ readonly firstTime: boolean; readonly firstDeviceEver: boolean }> {
    const { rows } = await db.query<Row>(
      `WITH known AS (SELECT count(*) AS n FROM notification_known_devices WHERE user_id = $1),
            added AS (
              INSERT INTO notification_known_devices (user_id, device_key, first_seen_at_ms)
              VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1)
       SELECT (SELECT count(*) FROM added) AS added, (SELECT n FROM known) AS known`,
      [userId, deviceKey, BigInt(nowMs)],
    );
    const count = (v: unknown) =>
      typeof v === 'bigint' || typeof v === 'number' || typeof v === 'string' ? Number(v) : 0;
    const added = count(rows[0]?.added) > 0;
    return { firstTime: added, firstDeviceEver: added && count(rows[0]?.known) === 0 };
  },
};
