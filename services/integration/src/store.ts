/**
 * The integration service's storage: linked channels (live state, settings, sealed tokens), OAuth
 * states, platform subscriptions, webhook dedupe and the raw webhook log. Every change others must
 * hear about appends its integration.* event to the outbox in the same transaction.
 */
import { appendToOutbox } from '@streambet/platform/outbox/outbox';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor, SqlValue } from '@streambet/platform/sql/types';
import type { LiveState, OfflinePolicy } from './domain/live-state.js';
import type { WebhookProvider, WebhookVerdict } from './domain/webhook.js';
import type { IdentifiedEvent, PlatformName } from './events.js';

/** A JSON or SQL scalar as text; '' (or `fallback`) for anything else. */
function text(value: unknown, fallback = ''): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  return fallback;
}

/** Link health as stored. */
export type LinkStatusName = 'ACTIVE' | 'REAUTH_REQUIRED' | 'UNLINKED';

/** A channel row (tokens still sealed). */
export interface ChannelRow {
  readonly channelId: string;
  readonly ownerUserId: string;
  readonly platform: PlatformName;
  readonly platformChannelId: string;
  readonly handle: string;
  readonly displayName: string;
  readonly profileImageUrl: string;
  readonly channelUrl: string;
  readonly linkStatus: LinkStatusName;
  readonly reauthReason: string;
  readonly liveState: LiveState;
  readonly liveSinceMs: number;
  readonly streamTitle: string;
  readonly platformStreamId: string;
  readonly liveStateChangedAtMs: number;
  readonly mirrorTwitchPredictions: boolean;
  readonly scopes: string;
  readonly accessTokenSealed: string;
  readonly refreshTokenSealed: string;
  readonly tokenExpiresAtMs: number;
  readonly linkedAtMs: number;
  /** The StreamBet channel this link belongs to (what markets refer to). */
  readonly streambetChannelId: string;
  /** Of the StreamBet channel: when offline auto-lock fires across its links. */
  readonly offlineLockPolicy: OfflinePolicy;
  /** Of the StreamBet channel: push its markets to its Twitch link as predictions. */
  readonly pushMarketsToTwitch: boolean;
  /** Of the StreamBet channel: why the last market was not pushed; '' otherwise. */
  readonly pushNote: string;
  /** The StreamBet channel's live state across its links (live on any). */
  readonly channelLiveState: LiveState;
}

/** Links joined with their StreamBet channel (every ChannelRow query reads from this). */
const fromChannels = `integration_channels JOIN integration_streambet_channels USING (streambet_channel_id)`;

const columns = `channel_id, owner_user_id, platform, platform_channel_id, handle, display_name,
  profile_image_url, channel_url, link_status, reauth_reason, live_state, live_since_ms::text AS live_since_ms,
  stream_title, platform_stream_id, live_state_changed_at_ms::text AS live_state_changed_at_ms,
  mirror_twitch_predictions, scopes, access_token_sealed, refresh_token_sealed,
  token_expires_at_ms::text AS token_expires_at_ms, linked_at_ms::text AS linked_at_ms,
  streambet_channel_id, offline_lock_policy, push_markets_to_twitch, push_note,
  (SELECT CASE WHEN bool_or(l.live_state = 'LIVE') THEN 'LIVE'
               WHEN bool_or(l.live_state = 'OFFLINE') THEN 'OFFLINE' ELSE 'UNKNOWN' END
   FROM integration_channels l
   WHERE l.streambet_channel_id = integration_channels.streambet_channel_id
     AND l.link_status <> 'UNLINKED') AS channel_live_state`;

type RawRow = Record<string, unknown>;

function toChannel(row: RawRow): ChannelRow {
  const s = (k: string): string => text(row[k] ?? '');
  const n = (k: string): number => Number(row[k] ?? 0);
  return {
    channelId: s('channel_id'),
    ownerUserId: s('owner_user_id'),
    platform: s('platform') as PlatformName,
    platformChannelId: s('platform_channel_id'),
    handle: s('handle'),
    displayName: s('display_name'),
    profileImageUrl: s('profile_image_url'),
    channelUrl: s('channel_url'),
    linkStatus: s('link_status') as LinkStatusName,
    reauthReason: s('reauth_reason'),
    liveState: s('live_state') as LiveState,
    liveSinceMs: n('live_since_ms'),
    streamTitle: s('stream_title'),
    platformStreamId: s('platform_stream_id'),
    liveStateChangedAtMs: n('live_state_changed_at_ms'),
    mirrorTwitchPredictions: row.mirror_twitch_predictions === true,
    scopes: s('scopes'),
    accessTokenSealed: s('access_token_sealed'),
    refreshTokenSealed: s('refresh_token_sealed'),
    tokenExpiresAtMs: n('token_expires_at_ms'),
    linkedAtMs: n('linked_at_ms'),
    streambetChannelId: s('streambet_channel_id'),
    offlineLockPolicy: s('offline_lock_policy') === 'first' ? 'first' : 'last',
    pushMarketsToTwitch: row.push_markets_to_twitch === true,
    pushNote: s('push_note'),
    channelLiveState: (s('channel_live_state') || 'UNKNOWN') as LiveState,
  };
}

/** A new link to insert. */
export interface NewChannel {
  readonly channelId: string;
  /** The StreamBet channel it joins ({@link IntegrationStore.ownerChannel}). */
  readonly streambetChannelId: string;
  readonly ownerUserId: string;
  readonly platform: PlatformName;
  readonly platformChannelId: string;
  readonly handle: string;
  readonly displayName: string;
  readonly profileImageUrl: string;
  readonly channelUrl: string;
  readonly scopes: string;
  readonly accessTokenSealed: string;
  readonly refreshTokenSealed: string;
  readonly tokenExpiresAtMs: number;
}

/** A stored OAuth state. */
export interface StateRow {
  readonly userId: string;
  readonly platform: string;
  readonly redirectUri: string;
  readonly codeVerifierSealed: string;
  readonly expiresAtMs: number;
  readonly usedForChannelId: string | undefined;
}

/** One webhook log row. */
export interface WebhookLogEntry {
  readonly provider: WebhookProvider;
  readonly messageId: string;
  readonly messageType: string;
  readonly verdict: WebhookVerdict;
  readonly detail: string;
  readonly channelId: string;
  readonly body: string;
}

/** Filters of {@link IntegrationStore.listChannels}. */
export interface ChannelFilter {
  readonly ownerUserId: string;
  readonly platform: PlatformName | undefined;
  readonly liveOnly: boolean;
  readonly query: string;
  readonly offset: number;
  readonly limit: number;
}

/** The dedupe key of a delivery: provider and message id, the claims table's primary key. */
export function claimKey(provider: WebhookProvider, messageId: string): string {
  return `${provider}\u0000${messageId}`;
}

/** Bodies kept in the webhook log are cut to this many characters. */
const maxLoggedBodyChars = 16_384;

/** Creates the store over the service's database. */
export function createIntegrationStore(deps: {
  readonly sql: Sql;
  readonly clock: Clock;
  /** Wakes the outbox relay after a commit that appended events. */
  readonly onCommitted?: () => void;
}) {
  const { sql, clock } = deps;

  async function append(tx: SqlExecutor, events: readonly IdentifiedEvent[]): Promise<void> {
    if (events.length === 0) return;
    let i = 0;
    await appendToOutbox(tx, events, {
      clock: () => clock.now(),
      newId: () => events[i++]?.id ?? '',
    });
  }

  async function one(
    db: SqlExecutor,
    where: string,
    params: readonly SqlValue[],
    lock = false,
  ): Promise<ChannelRow | undefined> {
    const result = await db.query<RawRow>(
      `SELECT ${columns} FROM ${fromChannels} WHERE ${where}${lock ? ' FOR UPDATE' : ''}`,
      params,
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toChannel(row);
  }

  /** Appends `entries` to the webhook log in one statement, in order (ids ascend with it). */
  async function log(db: SqlExecutor, entries: readonly WebhookLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const nowMs = clock.now();
    const params: SqlValue[] = [];
    const rows = entries.map((entry) => {
      const at = params.length;
      params.push(
        entry.provider,
        entry.messageId.slice(0, 200),
        entry.messageType.slice(0, 200),
        entry.verdict,
        entry.detail.slice(0, 1000),
        entry.channelId,
        nowMs,
        entry.body.slice(0, maxLoggedBodyChars),
      );
      return `(${Array.from({ length: 8 }, (_, i) => `$${at + i + 1}`).join(', ')})`;
    });
    await db.query(
      `INSERT INTO integration_webhook_log
         (provider, message_id, message_type, verdict, detail, channel_id, received_at_ms, body)
       VALUES ${rows.join(', ')}`,
      params,
    );
  }

  return {
    sql,

    /** Runs `fn` in one transaction and wakes the relay afterwards. */
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const result = await sql.transaction(fn);
      deps.onCommitted?.();
      return result;
    },

    append,

    /** A channel by id, any status. */
    channel(id: string, db: SqlExecutor = sql, lock = false): Promise<ChannelRow | undefined> {
      return one(db, 'channel_id = $1', [id], lock);
    },

    /** The linked (not unlinked) channel with this platform id. */
    channelByPlatformId(
      db: SqlExecutor,
      platform: PlatformName,
      platformChannelId: string,
      lock = false,
    ): Promise<ChannelRow | undefined> {
      return one(
        db,
        `platform = $1 AND platform_channel_id = $2 AND link_status <> 'UNLINKED'`,
        [platform, platformChannelId],
        lock,
      );
    },

    /** Inserts a new ACTIVE link with live state UNKNOWN. */
    async insertChannel(tx: SqlExecutor, channel: NewChannel, nowMs: number): Promise<void> {
      await tx.query(
        `INSERT INTO integration_channels (channel_id, owner_user_id, platform, platform_channel_id,
           handle, display_name, profile_image_url, channel_url, link_status, scopes,
           access_token_sealed, refresh_token_sealed, token_expires_at_ms, linked_at_ms,
           streambet_channel_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'ACTIVE', $9, $10, $11, $12, $13, $14)`,
        [
          channel.channelId,
          channel.ownerUserId,
          channel.platform,
          channel.platformChannelId,
          channel.handle,
          channel.displayName,
          channel.profileImageUrl,
          channel.channelUrl,
          channel.scopes,
          channel.accessTokenSealed,
          channel.refreshTokenSealed,
          channel.tokenExpiresAtMs,
          nowMs,
          channel.streambetChannelId,
        ],
      );
    },

    /**
     * The owner's StreamBet channel id, created with id `newChannelId` if they have none (a user
     * has at most one, forever: the unique owner column settles concurrent first links).
     */
    async ownerChannel(tx: SqlExecutor, ownerUserId: string, newChannelId: string, nowMs: number) {
      await tx.query(
        `INSERT INTO integration_streambet_channels
           (streambet_channel_id, channel_owner_user_id, created_at_ms)
         VALUES ($1, $2, $3) ON CONFLICT (channel_owner_user_id) DO NOTHING`,
        [newChannelId, ownerUserId, nowMs],
      );
      const result = await tx.query<{ streambet_channel_id: string }>(
        `SELECT streambet_channel_id FROM integration_streambet_channels
         WHERE channel_owner_user_id = $1 FOR UPDATE`,
        [ownerUserId],
      );
      return text(result.rows[0]?.streambet_channel_id);
    },

    /** Locks a StreamBet channel's row: serializes decisions over all its links. */
    async lockStreambetChannel(tx: SqlExecutor, streambetChannelId: string): Promise<void> {
      await tx.query(
        `SELECT 1 FROM integration_streambet_channels WHERE streambet_channel_id = $1 FOR UPDATE`,
        [streambetChannelId],
      );
    },

    /** The links (not unlinked) of a StreamBet channel, earliest first. */
    async linksOf(db: SqlExecutor, streambetChannelId: string): Promise<ChannelRow[]> {
      const result = await db.query<RawRow>(
        `SELECT ${columns} FROM ${fromChannels}
         WHERE streambet_channel_id = $1 AND link_status <> 'UNLINKED'
         ORDER BY linked_at_ms, (channel_id = streambet_channel_id) DESC, channel_id`,
        [streambetChannelId],
      );
      return result.rows.map(toChannel);
    },

    /**
     * A link by its id, or, given a StreamBet channel id, the channel's earliest link not unlinked
     * (its first link if that one is still linked, since they share the id).
     */
    async resolve(id: string, db: SqlExecutor = sql): Promise<ChannelRow | undefined> {
      const result = await db.query<RawRow>(
        `SELECT ${columns} FROM ${fromChannels}
         WHERE channel_id = $1 OR (streambet_channel_id = $1 AND link_status <> 'UNLINKED')
         ORDER BY (link_status <> 'UNLINKED') DESC, (channel_id = $1) DESC, linked_at_ms,
           (channel_id = streambet_channel_id) DESC, channel_id
         LIMIT 1`,
        [id],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : toChannel(row);
    },

    /** Sets the StreamBet channel's offline policy and push flag (undefined keeps each). */
    async setChannelSettings(
      tx: SqlExecutor,
      streambetChannelId: string,
      settings: { offlineLockPolicy?: OfflinePolicy; pushMarketsToTwitch?: boolean },
    ): Promise<void> {
      await tx.query(
        `UPDATE integration_streambet_channels
         SET offline_lock_policy = COALESCE($2, offline_lock_policy),
             push_markets_to_twitch = COALESCE($3, push_markets_to_twitch)
         WHERE streambet_channel_id = $1`,
        [
          streambetChannelId,
          settings.offlineLockPolicy ?? null,
          settings.pushMarketsToTwitch ?? null,
        ],
      );
    },

    /** Records why the last market was (not) pushed to Twitch; '' when it went through. */
    async setPushNote(db: SqlExecutor, streambetChannelId: string, note: string): Promise<void> {
      await db.query(
        `UPDATE integration_streambet_channels SET push_note = $2 WHERE streambet_channel_id = $1`,
        [streambetChannelId, note.slice(0, 500)],
      );
    },

    /** Records a change of live state. */
    async setLive(
      tx: SqlExecutor,
      channelId: string,
      live: {
        readonly state: LiveState;
        readonly sinceMs: number;
        readonly title: string;
        readonly streamId: string;
      },
      nowMs: number,
    ): Promise<void> {
      await tx.query(
        `UPDATE integration_channels SET live_state = $2, live_since_ms = $3, stream_title = $4,
           platform_stream_id = $5, live_state_changed_at_ms = $6 WHERE channel_id = $1`,
        [channelId, live.state, live.sinceMs, live.title, live.streamId, nowMs],
      );
    },

    /** Sets the link status (REAUTH_REQUIRED with a reason, UNLINKED); tokens cleared when unlinked. */
    async setLinkStatus(
      tx: SqlExecutor,
      channelId: string,
      status: LinkStatusName,
      reason: string,
      nowMs: number,
    ): Promise<void> {
      await tx.query(
        `UPDATE integration_channels SET link_status = $2, reauth_reason = $3,
           unlinked_at_ms = CASE WHEN $2 = 'UNLINKED' THEN $4::bigint ELSE unlinked_at_ms END,
           access_token_sealed = CASE WHEN $2 = 'UNLINKED' THEN '' ELSE access_token_sealed END,
           refresh_token_sealed = CASE WHEN $2 = 'UNLINKED' THEN '' ELSE refresh_token_sealed END
         WHERE channel_id = $1`,
        [channelId, status, reason, nowMs],
      );
    },

    /** Replaces the sealed tokens after a refresh. */
    async setTokens(
      tx: SqlExecutor,
      channelId: string,
      tokens: { access: string; refresh: string; expiresAtMs: number },
    ): Promise<void> {
      await tx.query(
        `UPDATE integration_channels SET access_token_sealed = $2, refresh_token_sealed = $3,
           token_expires_at_ms = $4 WHERE channel_id = $1`,
        [channelId, tokens.access, tokens.refresh, tokens.expiresAtMs],
      );
    },

    /** Sets mirror_twitch_predictions. */
    async setMirror(tx: SqlExecutor, channelId: string, mirror: boolean): Promise<void> {
      await tx.query(
        `UPDATE integration_channels SET mirror_twitch_predictions = $2 WHERE channel_id = $1`,
        [channelId, mirror],
      );
    },

    /** Channels needing a token refresh: ACTIVE with tokens expiring before `beforeMs`. */
    async channelsToRefresh(beforeMs: number, limit: number): Promise<ChannelRow[]> {
      const result = await sql.query<RawRow>(
        `SELECT ${columns} FROM ${fromChannels}
         WHERE link_status = 'ACTIVE' AND refresh_token_sealed <> '' AND token_expires_at_ms < $1
         ORDER BY token_expires_at_ms LIMIT $2`,
        [beforeMs, limit],
      );
      return result.rows.map(toChannel);
    },

    /** ACTIVE channels of a platform (for subscription reconciliation). */
    async activeChannels(platform: PlatformName): Promise<ChannelRow[]> {
      const result = await sql.query<RawRow>(
        `SELECT ${columns} FROM ${fromChannels} WHERE link_status = 'ACTIVE' AND platform = $1`,
        [platform],
      );
      return result.rows.map(toChannel);
    },

    /** Linked channels matching `filter`: live first, then by display name. */
    async listChannels(filter: ChannelFilter): Promise<ChannelRow[]> {
      const where: string[] = [`link_status <> 'UNLINKED'`];
      const params: SqlValue[] = [];
      if (filter.ownerUserId !== '') {
        params.push(filter.ownerUserId);
        where.push(`owner_user_id = $${params.length}`);
      }
      if (filter.platform !== undefined) {
        params.push(filter.platform);
        where.push(`platform = $${params.length}`);
      }
      if (filter.liveOnly) where.push(`live_state = 'LIVE'`);
      if (filter.query !== '') {
        params.push(`${filter.query.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
        where.push(
          `(lower(handle) LIKE $${params.length} OR lower(display_name) LIKE $${params.length})`,
        );
      }
      params.push(filter.limit, filter.offset);
      const result = await sql.query<RawRow>(
        `SELECT ${columns} FROM ${fromChannels} WHERE ${where.join(' AND ')}
         ORDER BY (live_state = 'LIVE') DESC, lower(display_name), channel_id
         LIMIT $${params.length - 1} OFFSET $${params.length}`,
        params,
      );
      return result.rows.map(toChannel);
    },

    /** Stores an OAuth state under its hash. */
    async saveState(stateHash: string, row: Omit<StateRow, 'usedForChannelId'>): Promise<void> {
      await sql.query(
        `INSERT INTO integration_oauth_states
           (state_hash, user_id, platform, redirect_uri, code_verifier_sealed, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          stateHash,
          row.userId,
          row.platform,
          row.redirectUri,
          row.codeVerifierSealed,
          row.expiresAtMs,
        ],
      );
    },

    /** The state with this hash, locked in `tx` when given one. */
    async state(db: SqlExecutor, stateHash: string, lock = false): Promise<StateRow | undefined> {
      const result = await db.query<RawRow>(
        `SELECT user_id, platform, redirect_uri, code_verifier_sealed,
           expires_at_ms::text AS expires_at_ms, used_for_channel_id
         FROM integration_oauth_states WHERE state_hash = $1${lock ? ' FOR UPDATE' : ''}`,
        [stateHash],
      );
      const row = result.rows[0];
      if (row === undefined) return undefined;
      return {
        userId: text(row.user_id),
        platform: text(row.platform),
        redirectUri: text(row.redirect_uri),
        codeVerifierSealed: text(row.code_verifier_sealed ?? ''),
        expiresAtMs: Number(row.expires_at_ms),
        usedForChannelId:
          row.used_for_channel_id === null || row.used_for_channel_id === undefined
            ? undefined
            : text(row.used_for_channel_id),
      };
    },

    /** Marks a state used for `channelId` (single use). */
    async useState(tx: SqlExecutor, stateHash: string, channelId: string): Promise<void> {
      await tx.query(
        `UPDATE integration_oauth_states SET used_for_channel_id = $2 WHERE state_hash = $1`,
        [stateHash, channelId],
      );
    },

    /** Records a subscription we hold on a platform. */
    async saveSubscription(
      db: SqlExecutor,
      sub: { platform: PlatformName; id: string; channelId: string; type: string; status: string },
    ): Promise<void> {
      await db.query(
        `INSERT INTO integration_subscriptions (platform, subscription_id, channel_id, type, status, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (platform, subscription_id) DO UPDATE SET status = EXCLUDED.status`,
        [sub.platform, sub.id, sub.channelId, sub.type, sub.status, clock.now()],
      );
    },

    /** Subscriptions recorded for a channel. */
    async subscriptions(
      channelId: string,
    ): Promise<{ platform: string; id: string; type: string; status: string }[]> {
      const result = await sql.query<RawRow>(
        `SELECT platform, subscription_id, type, status FROM integration_subscriptions
         WHERE channel_id = $1 ORDER BY type`,
        [channelId],
      );
      return result.rows.map((r) => ({
        platform: text(r.platform),
        id: text(r.subscription_id),
        type: text(r.type),
        status: text(r.status),
      }));
    },

    /** Forgets a subscription (deleted on the platform). */
    async deleteSubscription(platform: PlatformName, id: string): Promise<void> {
      await sql.query(
        `DELETE FROM integration_subscriptions WHERE platform = $1 AND subscription_id = $2`,
        [platform, id],
      );
    },

    /** Marks a subscription revoked; returns its channel id, if we know it. */
    async revokeSubscription(
      tx: SqlExecutor,
      platform: PlatformName,
      id: string,
    ): Promise<string | undefined> {
      const result = await tx.query<{ channel_id: string }>(
        `UPDATE integration_subscriptions SET status = 'revoked'
         WHERE platform = $1 AND subscription_id = $2 RETURNING channel_id`,
        [platform, id],
      );
      return result.rows[0]?.channel_id;
    },

    /**
     * Claims the message ids of a batch of deliveries in `tx`, in one statement; the keys
     * (`claimKey`) of those claimed now. An id already recorded (by a committed transaction or one
     * that commits first) is not among them: that delivery is a replay.
     */
    async claimMessages(
      tx: SqlExecutor,
      deliveries: readonly { provider: WebhookProvider; messageId: string }[],
    ): Promise<Set<string>> {
      const keys = new Map<string, { provider: WebhookProvider; messageId: string }>();
      for (const d of deliveries) keys.set(claimKey(d.provider, d.messageId), d);
      if (keys.size === 0) return new Set();
      const nowMs = clock.now();
      const params: SqlValue[] = [];
      const rows = [...keys.values()].map((d) => {
        params.push(d.provider, d.messageId, nowMs);
        const at = params.length;
        return `($${at - 2}, $${at - 1}, $${at})`;
      });
      const result = await tx.query<RawRow>(
        `INSERT INTO integration_webhook_messages (provider, message_id, received_at_ms)
         VALUES ${rows.join(', ')} ON CONFLICT DO NOTHING RETURNING provider, message_id`,
        params,
      );
      return new Set(
        result.rows.map((r) => claimKey(text(r.provider) as WebhookProvider, text(r.message_id))),
      );
    },

    /** Appends to the webhook log (in `db`: the delivery's transaction, or on its own). */
    log(entry: WebhookLogEntry, db: SqlExecutor = sql): Promise<void> {
      return log(db, [entry]);
    },

    /** Appends a batch's rows to the webhook log in `db`, in one statement, in order. */
    logMany(db: SqlExecutor, entries: readonly WebhookLogEntry[]): Promise<void> {
      return log(db, entries);
    },

    /** The webhook log, newest last (for tests and support). */
    async webhookLog(
      provider?: WebhookProvider,
    ): Promise<
      { provider: string; messageId: string; verdict: string; detail: string; channelId: string }[]
    > {
      const result = await sql.query<RawRow>(
        `SELECT provider, message_id, verdict, detail, channel_id FROM integration_webhook_log
         ${provider === undefined ? '' : 'WHERE provider = $1'} ORDER BY id`,
        provider === undefined ? [] : [provider],
      );
      return result.rows.map((r) => ({
        provider: text(r.provider),
        messageId: text(r.message_id),
        verdict: text(r.verdict),
        detail: text(r.detail),
        channelId: text(r.channel_id),
      }));
    },

    /** Forgets processed message ids received before `beforeMs` (older than the dedupe retention). */
    async pruneMessages(beforeMs: number): Promise<number> {
      const result = await sql.query(
        `DELETE FROM integration_webhook_messages WHERE received_at_ms < $1`,
        [beforeMs],
      );
      return result.rowCount;
    },
  };
}

/** The integration store. */
export type IntegrationStore = ReturnType<typeof createIntegrationStore>;
