/**
 * The pool's storage: channels (projected from integration events) with their settings documents,
 * markets and CreateMarket idempotency rows, in SQL. Every state change runs in one transaction
 * that locks the market row, lets the pure domain decide, writes the new state and appends the
 * resulting market.* events to the outbox — so exactly one of several concurrent terminal
 * transitions wins (the others wait for the row lock, re-read the new state and are refused or
 * answered idempotently) and an event exists if and only if its change committed.
 */
import { quoteInput } from '@streambet/platform/errors/quote-input';
import { randomBytes } from 'node:crypto';
import { appendToOutbox } from '@streambet/platform/outbox/outbox';
import { newEventId } from '@streambet/platform/outbox/event-id';
import { injectTraceHeaders } from '@streambet/platform/obs/tracing';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor, SqlValue } from '@streambet/platform/sql/types';
import { handleCommandIn, type CommandHandler } from '@streambet/platform/command/handle-command';
import { AlreadyExistsError, NotFoundError } from '@streambet/platform/errors/domain-errors';
import {
  assertValidSettings,
  decideSettingsUpdate,
  type ChannelSettingsDocument,
  type ChannelSettingsPatch,
} from './domain/channel-settings.js';
import {
  assertCanMirror,
  decideCreate,
  evolve,
  decideLockIfDue,
  type Actor,
  type AppliedEvent,
  type CreateMarketCommand,
  type Market,
  type MarketEvent,
  type MarketState,
  type MirroringFacts,
  type Platform,
  type StakeLimits,
} from './domain/market.js';
import { encodeUlid } from '@streambet/platform/ids/ulid';
import type { PoolSettings } from './config.js';
import {
  channelSettingsToProto,
  encodeMarketEvent,
  encodeSettingsChanged,
  type EncodedEvent,
  type EventMetadataInit,
} from './proto-codec.js';

/** Topic of every event the pool publishes (the `market` event family). */
export const marketTopic = 'market';

/** A linked (or formerly linked) channel as the pool knows it. */
export interface ChannelRecord {
  readonly channelId: string;
  readonly ownerUserId: string;
  readonly platform: Platform;
  /** False once unlinked: no new markets. */
  readonly linked: boolean;
  /** The effective settings (deployment defaults until the first update). */
  readonly settings: ChannelSettingsDocument;
  /** 0 while only defaults apply. */
  readonly settingsVersion: number;
  readonly settingsUpdatedAtMs: number;
}

/** A market with the channel it belongs to. */
export interface MarketWithChannel {
  readonly market: Market;
  readonly channel: ChannelRecord;
}

/** Result of a lifecycle change: the market after it and the events it produced (none = unchanged). */
export interface TransitionResult {
  readonly market: Market;
  readonly channel: ChannelRecord;
  readonly applied: readonly AppliedEvent[];
}

/** Decides a change from the current market and its channel; returns the events (maybe none). */
/** What CreateMarket asks of the store (see `createMarket`). */
export interface CreateMarketInput {
  readonly actor: Actor;
  readonly channelId: string;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly command: CreateMarketCommand;
  /**
   * Runs in the creating transaction right after the new market is written (not on a replay): a
   * market opened from a template records its launch atomically with the market.
   */
  readonly onCreated?: (tx: SqlExecutor, market: Market) => Promise<void>;
}

/**
 * What CreateMarket decides on: a replayed request's market, or the linked channel with the Twitch
 * mirroring facts (when the market mirrors a prediction) and, once decided, the new market.
 */
type CreateMarketState =
  | { readonly replayed: true; readonly market: Market }
  | {
      readonly replayed: false;
      readonly channel: ChannelRecord;
      readonly mirroring?: MirroringFacts;
      readonly market: Market | undefined;
    };

/** The one event of UpdateChannelSettings: the merged settings and the fields that changed. */
interface ChannelSettingsChangedEvent {
  readonly type: 'ChannelSettingsChanged';
  readonly settings: ChannelSettingsDocument;
  readonly changedFields: readonly string[];
}

export type MarketDecision = (market: Market, channel: ChannelRecord) => MarketEvent[];

/** Dependencies of {@link createPoolStore}. */
export interface PoolStoreDeps {
  readonly sql: Sql;
  readonly clock: Clock;
  readonly settings: PoolSettings;
  /** Called after a commit that appended outbox rows (the relay publishes at once). */
  readonly onCommitted?: () => void;
  /** Random bytes for ids (default node:crypto). */
  readonly randomBytes?: (size: number) => Uint8Array;
}

/** Options of a market listing. */
export interface ListMarketsQuery {
  /** Empty: every channel. */
  readonly channelId: string;
  /** Empty: every state. */
  readonly states: readonly MarketState[];
  readonly includeDrafts: boolean;
  /** Keyset cursor: strictly older than this (created_at_ms, market_id). */
  readonly after: { readonly createdAtMs: number; readonly marketId: string } | undefined;
  readonly limit: number;
}

interface MarketRow {
  doc: MarketDocument;
}

/** JSON shape of a market (bigints as strings, absent enums as null). */
type MarketDocument = Omit<Market, 'stakeLimits' | 'lockReason' | 'cancelReason'> & {
  stakeLimits: Record<keyof StakeLimits, string>;
  lockReason: Market['lockReason'] | null;
  cancelReason: Market['cancelReason'] | null;
};

type SettingsDocumentJson = Omit<
  ChannelSettingsDocument,
  'realMoneyStakeLimits' | 'pointsStakeLimits'
> & {
  realMoneyStakeLimits: Record<keyof StakeLimits, string>;
  pointsStakeLimits: Record<keyof StakeLimits, string>;
};

function limitsToJson(limits: StakeLimits): Record<keyof StakeLimits, string> {
  return {
    minStakeMinor: limits.minStakeMinor.toString(),
    maxStakePerBetMinor: limits.maxStakePerBetMinor.toString(),
    maxStakePerUserMinor: limits.maxStakePerUserMinor.toString(),
  };
}

function limitsFromJson(json: Record<keyof StakeLimits, string>): StakeLimits {
  return {
    minStakeMinor: BigInt(json.minStakeMinor),
    maxStakePerBetMinor: BigInt(json.maxStakePerBetMinor),
    maxStakePerUserMinor: BigInt(json.maxStakePerUserMinor),
  };
}

function marketToDocument(market: Market): MarketDocument {
  return {
    ...market,
    stakeLimits: limitsToJson(market.stakeLimits),
    lockReason: market.lockReason ?? null,
    cancelReason: market.cancelReason ?? null,
  };
}

function marketFromDocument(doc: MarketDocument): Market {
  return {
    ...doc,
    outcomes: doc.outcomes.map((o) => ({ ...o })),
    stakeLimits: limitsFromJson(doc.stakeLimits),
    lockReason: doc.lockReason ?? undefined,
    cancelReason: doc.cancelReason ?? undefined,
  };
}

function settingsToJson(settings: ChannelSettingsDocument): SettingsDocumentJson {
  return {
    ...settings,
    realMoneyStakeLimits: limitsToJson(settings.realMoneyStakeLimits),
    pointsStakeLimits: limitsToJson(settings.pointsStakeLimits),
  };
}

function settingsFromJson(json: SettingsDocumentJson): ChannelSettingsDocument {
  return {
    commissionBps: json.commissionBps,
    streamerRevenueShareBps: json.streamerRevenueShareBps,
    broadcastDelaySeconds: json.broadcastDelaySeconds,
    realMoneyStakeLimits: limitsFromJson(json.realMoneyStakeLimits),
    pointsStakeLimits: limitsFromJson(json.pointsStakeLimits),
    defaultBettingWindowSeconds: json.defaultBettingWindowSeconds,
    autoLockOnOffline: json.autoLockOnOffline,
  };
}

/**
 * Creates the store. Functions taking `tx` run inside a caller's transaction (event consumers run
 * in the inbox transaction); the others open their own.
 */
export function createPoolStore(deps: PoolStoreDeps) {
  const { sql, clock, settings } = deps;
  const random = deps.randomBytes ?? ((size: number) => new Uint8Array(randomBytes(size)));
  const newUlid = (nowMs: number): string => encodeUlid(nowMs, random(10));
  assertValidSettings(settings.channelDefaults, 'deployment channel defaults');

  function channelFromRow(row: Record<string, unknown>): ChannelRecord {
    const stored = row.settings as SettingsDocumentJson | null;
    return {
      channelId: row.channel_id as string,
      ownerUserId: row.owner_user_id as string,
      platform: row.platform as Platform,
      linked: row.linked as boolean,
      settings: stored === null ? settings.channelDefaults : settingsFromJson(stored),
      settingsVersion: Number(row.settings_version),
      settingsUpdatedAtMs: Number(row.settings_updated_at_ms),
    };
  }

  async function loadChannel(
    db: SqlExecutor,
    channelId: string,
    lock = false,
  ): Promise<ChannelRecord | undefined> {
    const result = await db.query(
      `SELECT * FROM pool_channels WHERE channel_id = $1${lock ? ' FOR UPDATE' : ''}`,
      [channelId],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : channelFromRow(row);
  }

  async function requireChannel(
    db: SqlExecutor,
    channelId: string,
    lock = false,
  ): Promise<ChannelRecord> {
    const channel = await loadChannel(db, channelId, lock);
    if (channel === undefined)
      throw new NotFoundError(`channel ${quoteInput(channelId)} is not a linked channel`);
    return channel;
  }

  async function loadMarket(
    db: SqlExecutor,
    marketId: string,
    lock: boolean,
  ): Promise<Market | undefined> {
    const result = await db.query<MarketRow>(
      `SELECT doc FROM pool_markets WHERE market_id = $1${lock ? ' FOR UPDATE' : ''}`,
      [marketId],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : marketFromDocument(row.doc);
  }

  /** Appends encoded events keyed by `key` with metadata whose event id is the outbox row id. */
  async function appendEncoded(
    tx: SqlExecutor,
    key: string,
    actor: Actor,
    nowMs: number,
    encoders: ReadonlyArray<(meta: EventMetadataInit) => EncodedEvent>,
  ): Promise<void> {
    if (encoders.length === 0) return;
    const ids = encoders.map(() => newEventId());
    const headers = injectTraceHeaders({ producer: 'pool' });
    const traceParent = headers.traceparent ?? '';
    let next = 0;
    await appendToOutbox(
      tx,
      encoders.map((encode, index) => {
        const encoded = encode({
          eventId: ids[index]!,
          occurredAtMs: nowMs,
          traceParent,
          aggregateId: key,
          actor,
        });
        return { topic: marketTopic, key, type: encoded.type, payload: encoded.payload, headers };
      }),
      { clock: () => nowMs, newId: () => ids[next++]! },
    );
  }

  async function writeMarket(
    tx: SqlExecutor,
    market: Market,
    previousVersion: number | undefined,
  ): Promise<void> {
    const params: SqlValue[] = [
      market.marketId,
      market.channelId,
      market.state,
      BigInt(market.createdAtMs),
      BigInt(market.bettingClosesAtMs),
      market.autoLockOnOffline,
      market.twitchPredictionId,
      BigInt(market.version),
      marketToDocument(market),
    ];
    if (previousVersion === undefined) {
      await tx.query(
        `INSERT INTO pool_markets (market_id, channel_id, state, created_at_ms, betting_closes_at_ms,
           auto_lock_on_offline, twitch_prediction_id, version, doc)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
        params,
      );
      return;
    }
    const updated = await tx.query(
      `UPDATE pool_markets SET state = $3, betting_closes_at_ms = $5, version = $8, doc = $9::jsonb
       WHERE market_id = $1 AND channel_id = $2 AND created_at_ms = $4 AND auto_lock_on_offline = $6
         AND twitch_prediction_id = $7 AND version = $10`,
      [...params, BigInt(previousVersion)],
    );
    if (updated.rowCount !== 1) {
      throw new Error(
        `market ${market.marketId} changed under its row lock (version ${previousVersion} expected)`,
      );
    }
  }

  /**
   * The platform's command handler for one market: loads and locks the market row (with its
   * channel), lets `decide` choose the events, folds them with the domain's `evolve`, writes the
   * market and appends the market.* events to the outbox. No events: nothing is written.
   */
  function marketCommand(
    marketId: string,
    actor: Actor,
    nowMs: number,
    decide: MarketDecision,
  ): CommandHandler<MarketWithChannel, MarketEvent> {
    return {
      async load(tx) {
        const market = await loadMarket(tx, marketId, true);
        if (market === undefined)
          throw new NotFoundError(`market ${quoteInput(marketId)} does not exist`);
        return { market, channel: await requireChannel(tx, market.channelId) };
      },
      decide: (state) => decide(state.market, state.channel),
      evolve: (state, event) => ({ ...state, market: evolve(state.market, event, nowMs) }),
      async save(tx, { before, after, applied }) {
        await writeMarket(tx, after.market, before.market.version);
        await appendEncoded(
          tx,
          marketId,
          actor,
          nowMs,
          applied.map(
            ({ event, after: state }) =>
              (meta: EventMetadataInit) =>
                encodeMarketEvent({ event, after: state.market }, meta),
          ),
        );
      },
    };
  }

  /** Runs one lifecycle change in `tx` (see {@link marketCommand}); the caller commits. */
  async function transitionIn(
    tx: SqlExecutor,
    marketId: string,
    actor: Actor,
    nowMs: number,
    decide: MarketDecision,
  ): Promise<TransitionResult> {
    const result = await handleCommandIn(tx, marketCommand(marketId, actor, nowMs, decide));
    return {
      market: result.after.market,
      channel: result.after.channel,
      applied: result.applied.map(({ event, after }) => ({ event, after: after.market })),
    };
  }

  /**
   * The command handler of CreateMarket. `load` claims the idempotency key (a replay with the same
   * request is answered with the first market and decides nothing; another request under the key
   * is ALREADY_EXISTS), requires a linked channel and reads the Twitch mirroring facts; `decide`
   * checks mirroring and decides the market (MarketCreated, and MarketOpened when open-now);
   * `save` inserts the market and appends its events. A refused decision rolls the claim back.
   */
  function createMarketCommand(
    input: CreateMarketInput,
    nowMs: number,
    ids: { readonly marketId: string; readonly outcomeIds: readonly string[] },
  ): CommandHandler<CreateMarketState, MarketEvent> {
    const callerId = input.actor.kind === 'user' ? input.actor.userId : 'system';
    const predictionId = input.command.twitchPredictionId;
    return {
      async load(tx) {
        const claimed = await tx.query(
          `INSERT INTO pool_create_requests (caller_id, idempotency_key, request_hash, market_id)
           VALUES ($1, $2, $3, $4) ON CONFLICT (caller_id, idempotency_key) DO NOTHING`,
          [callerId, input.idempotencyKey, input.requestHash, ids.marketId],
        );
        if (claimed.rowCount === 0) {
          const existing = await tx.query<{ request_hash: string; market_id: string }>(
            'SELECT request_hash, market_id FROM pool_create_requests WHERE caller_id = $1 AND idempotency_key = $2',
            [callerId, input.idempotencyKey],
          );
          const row = existing.rows[0]!;
          if (row.request_hash !== input.requestHash) {
            throw new AlreadyExistsError(
              `idempotency_key "${input.idempotencyKey}" was already used for a different CreateMarket request`,
            );
          }
          const market = await loadMarket(tx, row.market_id, false);
          if (market === undefined)
            throw new NotFoundError(`market ${row.market_id} does not exist`);
          return { replayed: true, market };
        }
        const channel = await loadChannel(tx, input.channelId);
        if (channel === undefined || !channel.linked) {
          throw new NotFoundError(`channel ${quoteInput(input.channelId)} is not a linked channel`);
        }
        if (predictionId === '') return { replayed: false, channel, market: undefined };
        const taken = await tx.query('SELECT 1 FROM pool_markets WHERE twitch_prediction_id = $1', [
          predictionId,
        ]);
        const active = await tx.query(
          `SELECT 1 FROM pool_markets WHERE channel_id = $1 AND twitch_prediction_id <> ''
             AND state IN ('DRAFT', 'OPEN', 'LOCKED')`,
          [channel.channelId],
        );
        return {
          replayed: false,
          channel,
          mirroring: {
            platform: channel.platform,
            predictionAlreadyMirrored: taken.rowCount > 0,
            channelHasUnfinishedMirror: active.rowCount > 0,
          },
          market: undefined,
        };
      },
      decide(state) {
        if (state.replayed) return [];
        if (state.mirroring !== undefined) assertCanMirror(predictionId, state.mirroring);
        return decideCreate(input.command, {
          actor: input.actor,
          channelId: state.channel.channelId,
          channelOwnerUserId: state.channel.ownerUserId,
          defaults: state.channel.settings,
          realCurrency: settings.realCurrency,
          nowMs,
          marketId: ids.marketId,
          outcomeIds: ids.outcomeIds,
        });
      },
      evolve(state, event) {
        if (event.type === 'MarketCreated') return { ...state, market: event.market };
        if (state.market === undefined) throw new Error(`${event.type} before MarketCreated`);
        return { ...state, market: evolve(state.market, event, nowMs) };
      },
      async save(tx, { after, applied }) {
        await writeMarket(tx, after.market!, undefined);
        await input.onCreated?.(tx, after.market!);
        await appendEncoded(
          tx,
          ids.marketId,
          input.actor,
          nowMs,
          applied.map(
            ({ event, after: state }) =>
              (meta: EventMetadataInit) =>
                encodeMarketEvent({ event, after: state.market! }, meta),
          ),
        );
      },
    };
  }

  /**
   * The command handler of UpdateChannelSettings: loads and locks the channel row, lets the domain
   * merge and check the patch (no changed field: no event), bumps the settings version and appends
   * ChannelSettingsChanged with the fields that changed.
   */
  function channelSettingsCommand(
    input: {
      readonly channelId: string;
      readonly actor: Actor;
      readonly patch: ChannelSettingsPatch;
      readonly expectedVersion: number;
    },
    nowMs: number,
  ): CommandHandler<ChannelRecord, ChannelSettingsChangedEvent> {
    return {
      load: (tx) => requireChannel(tx, input.channelId, true),
      decide(channel) {
        const decision = decideSettingsUpdate(
          channel.settings,
          channel.settingsVersion,
          input.patch,
          {
            actor: input.actor,
            channelOwnerUserId: channel.ownerUserId,
            expectedVersion: input.expectedVersion,
          },
        );
        return decision.changedFields.length === 0
          ? []
          : [
              {
                type: 'ChannelSettingsChanged',
                settings: decision.settings,
                changedFields: decision.changedFields,
              },
            ];
      },
      evolve: (channel, event) => ({
        ...channel,
        settings: event.settings,
        settingsVersion: channel.settingsVersion + 1,
        settingsUpdatedAtMs: nowMs,
      }),
      async save(tx, { after, applied }) {
        await tx.query(
          `UPDATE pool_channels SET settings = $2::jsonb, settings_version = $3, settings_updated_at_ms = $4
           WHERE channel_id = $1`,
          [
            after.channelId,
            settingsToJson(after.settings) as unknown as Record<string, unknown>,
            BigInt(after.settingsVersion),
            BigInt(nowMs),
          ],
        );
        const proto = channelSettingsToProto({
          channelId: after.channelId,
          ownerUserId: after.ownerUserId,
          platform: after.platform,
          settings: after.settings,
          version: after.settingsVersion,
          updatedAtMs: after.settingsUpdatedAtMs,
        });
        await appendEncoded(
          tx,
          after.channelId,
          input.actor,
          nowMs,
          applied.map(
            ({ event }) =>
              (meta: EventMetadataInit) =>
                encodeSettingsChanged(proto, event.changedFields, meta),
          ),
        );
      },
    };
  }

  function committed(applied: readonly unknown[]): void {
    if (applied.length > 0) deps.onCommitted?.();
  }

  return {
    /** The deployment settings the store was built with. */
    settings,

    /** A channel, or undefined when the pool never heard of it. */
    getChannel(channelId: string): Promise<ChannelRecord | undefined> {
      return loadChannel(sql, channelId);
    },

    /** A channel read in `db` (a caller's transaction), optionally locking its row. */
    channelIn(
      db: SqlExecutor,
      channelId: string,
      lock = false,
    ): Promise<ChannelRecord | undefined> {
      return loadChannel(db, channelId, lock);
    },

    /**
     * Records a linked channel and its owner (from ChannelLinked). A re-link to another owner moves
     * the ownership; settings are kept.
     */
    async upsertLinkedChannel(
      tx: SqlExecutor,
      channel: { channelId: string; ownerUserId: string; platform: Platform },
      atMs: number,
    ): Promise<void> {
      await tx.query(
        `INSERT INTO pool_channels (channel_id, owner_user_id, platform, linked, updated_at_ms)
         VALUES ($1, $2, $3, true, $4)
         ON CONFLICT (channel_id) DO UPDATE
           SET owner_user_id = EXCLUDED.owner_user_id, platform = EXCLUDED.platform, linked = true,
               updated_at_ms = EXCLUDED.updated_at_ms`,
        [channel.channelId, channel.ownerUserId, channel.platform, BigInt(atMs)],
      );
    },

    /** Marks a channel unlinked (from ChannelUnlinked) and returns its non-terminal market ids. */
    async unlinkChannel(tx: SqlExecutor, channelId: string, atMs: number): Promise<string[]> {
      await tx.query(
        'UPDATE pool_channels SET linked = false, updated_at_ms = $2 WHERE channel_id = $1',
        [channelId, BigInt(atMs)],
      );
      const markets = await tx.query<{ market_id: string }>(
        `SELECT market_id FROM pool_markets WHERE channel_id = $1 AND state IN ('DRAFT', 'OPEN', 'LOCKED')
         ORDER BY created_at_ms, market_id`,
        [channelId],
      );
      return markets.rows.map((row) => row.market_id);
    },

    /** Ids of a channel's OPEN markets that lock when the stream goes offline. */
    async autoLockOnOfflineMarketIds(tx: SqlExecutor, channelId: string): Promise<string[]> {
      const result = await tx.query<{ market_id: string }>(
        `SELECT market_id FROM pool_markets WHERE channel_id = $1 AND state = 'OPEN' AND auto_lock_on_offline
         ORDER BY created_at_ms, market_id`,
        [channelId],
      );
      return result.rows.map((row) => row.market_id);
    },

    /** The market mirroring a Twitch prediction, if any. */
    async marketIdForPrediction(
      db: SqlExecutor,
      predictionId: string,
    ): Promise<string | undefined> {
      const result = await db.query<{ market_id: string }>(
        'SELECT market_id FROM pool_markets WHERE twitch_prediction_id = $1',
        [predictionId],
      );
      return result.rows[0]?.market_id;
    },

    /**
     * CreateMarket: idempotent per (caller, idempotency key) — the same key and request hash returns
     * the first market; another hash is ALREADY_EXISTS. Checks the channel is linked and the Twitch
     * mirroring rules, decides and stores the market with MarketCreated (and MarketOpened), on the
     * platform's command handler (see {@link createMarketCommand}).
     */
    async createMarket(input: CreateMarketInput): Promise<{ market: Market; created: boolean }> {
      const nowMs = clock.now();
      const ids = {
        marketId: newUlid(nowMs),
        outcomeIds: input.command.outcomes.map(() => newUlid(nowMs)),
      };
      const result = await sql.transaction((tx) =>
        handleCommandIn(tx, createMarketCommand(input, nowMs, ids)),
      );
      committed(result.applied);
      return { market: result.after.market!, created: result.applied.length > 0 };
    },

    /** A market with its channel, or undefined. */
    async getMarket(marketId: string): Promise<MarketWithChannel | undefined> {
      const market = await loadMarket(sql, marketId, false);
      if (market === undefined) return undefined;
      const channel = await requireChannel(sql, market.channelId);
      return { market, channel };
    },

    /** One lifecycle change in its own transaction (see {@link transitionIn}). */
    async transition(
      marketId: string,
      actor: Actor,
      decide: MarketDecision,
    ): Promise<TransitionResult> {
      const nowMs = clock.now();
      const result = await sql.transaction((tx) =>
        transitionIn(tx, marketId, actor, nowMs, decide),
      );
      committed(result.applied);
      return result;
    },

    /** One lifecycle change inside a caller's transaction (event consumers); the caller commits. */
    transitionIn,

    /** Markets newest first (created_at_ms, then market_id, descending), keyset-paginated. */
    async listMarkets(query: ListMarketsQuery): Promise<Market[]> {
      const params: SqlValue[] = [];
      const where: string[] = [];
      if (query.channelId !== '') {
        params.push(query.channelId);
        where.push(`channel_id = $${params.length}`);
      }
      if (query.states.length > 0) {
        params.push([...query.states]);
        where.push(`state = ANY($${params.length}::text[])`);
      }
      if (!query.includeDrafts) where.push(`state <> 'DRAFT'`);
      if (query.after !== undefined) {
        params.push(BigInt(query.after.createdAtMs), query.after.marketId);
        where.push(`(created_at_ms, market_id) < ($${params.length - 1}, $${params.length})`);
      }
      params.push(query.limit);
      const result = await sql.query<MarketRow>(
        `SELECT doc FROM pool_markets ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at_ms DESC, market_id DESC LIMIT $${params.length}`,
        params,
      );
      return result.rows.map((row) => marketFromDocument(row.doc));
    },

    /**
     * Locks every OPEN market whose betting window elapsed by `nowMs` (lock reason WINDOW_ELAPSED,
     * lock instant = betting_closes_at_ms), one transaction per market, at most `limit` per call.
     * Safe to run from several replicas: each market is re-checked under its row lock. Returns the
     * number locked.
     */
    async lockDueMarkets(nowMs: number, limit = 100): Promise<number> {
      const due = await sql.query<{ market_id: string }>(
        `SELECT market_id FROM pool_markets WHERE state = 'OPEN' AND betting_closes_at_ms <= $1
         ORDER BY betting_closes_at_ms, market_id LIMIT $2`,
        [BigInt(nowMs), limit],
      );
      let locked = 0;
      for (const { market_id: marketId } of due.rows) {
        const result = await sql.transaction((tx) =>
          transitionIn(tx, marketId, { kind: 'system' }, nowMs, (market) =>
            decideLockIfDue(market, nowMs),
          ),
        );
        if (result.applied.length > 0) locked += 1;
      }
      if (locked > 0) deps.onCommitted?.();
      return locked;
    },

    /** A channel's settings (deployment defaults until the first update). NOT_FOUND if unknown. */
    async getChannelSettings(channelId: string): Promise<ChannelRecord> {
      return requireChannel(sql, channelId);
    },

    /**
     * UpdateChannelSettings: validated merge, version + 1, ChannelSettingsChanged (keyed by channel),
     * on the platform's command handler (see {@link channelSettingsCommand}). A patch that changes
     * nothing writes nothing.
     */
    async updateChannelSettings(input: {
      readonly channelId: string;
      readonly actor: Actor;
      readonly patch: ChannelSettingsPatch;
      readonly expectedVersion: number;
    }): Promise<ChannelRecord> {
      const result = await sql.transaction((tx) =>
        handleCommandIn(tx, channelSettingsCommand(input, clock.now())),
      );
      committed(result.applied);
      return result.after;
    },
  };
}

/** The store's type (see {@link createPoolStore}). */
export type PoolStore = ReturnType<typeof createPoolStore>;
