/**
 * The bet engine's storage: the market projection, bets, live totals and the outbox, in SQL.
 *
 * Money safety rests on two rules kept here:
 * - a bet row exists (status PENDING, the "intent") before its hold is submitted to the ledger,
 *   so a crash can never leave a hold without a bet; PENDING rows are finished by
 *   {@link BetEngineStore.finalizeHolds} (from the group commit or the reconciliation);
 * - every status change is a conditional update (`WHERE status = …`), so two finishers (a batch
 *   and a reconciliation, two replicas) apply it once, and the totals, odds version and events
 *   move only with the rows that actually changed, in the same transaction.
 */
import { appendToOutbox } from '@streambet/platform/outbox/outbox';
import { newEventId } from '@streambet/platform/outbox/event-id';
import { injectTraceHeaders } from '@streambet/platform/obs/tracing';
import type { Sql, SqlExecutor, SqlValue } from '@streambet/platform/sql/types';
import {
  checkPlacement,
  holdTransferId,
  poolPayoutMinor,
  reject,
  type BetStatus,
  type MarketKind,
  type MarketOutcome,
  type MarketState,
  type MarketView,
  type PlacementRequest,
  type Rejection,
  type VoidReason,
} from './domain/bet.js';
import { oddsSnapshot, type MarketTotals, type OddsSnapshot } from './domain/odds.js';
import {
  encodeBetPlaced,
  encodeBetVoided,
  encodeOddsChanged,
  type BetMarketFacts,
  type BetRecord,
  type ClientContext,
  type EncodedEvent,
  type EventMetadataInit,
} from './proto-codec.js';

/** Topic of bet events (BetPlaced, BetVoided), keyed by market id. */
export const betTopic = 'bet';
/** Topic of odds snapshots (OddsChanged), keyed by market id. */
export const oddsTopic = 'odds';

/** A market as stored: the view the rules need plus the bet engine's own per-market facts. */
export interface MarketRecord extends MarketView {
  readonly escrowCreated: boolean;
  /** A lock instant is fixed but the bets placed after it are not all voided yet. */
  readonly lateVoidPending: boolean;
  /** Bets voided in full by the retroactive lock so far, and their stake. */
  readonly voidedBetCount: bigint;
  readonly voidedStakeMinor: bigint;
}

/** A market definition (MarketCreated, or BettingRules from the pool on a miss). */
export interface MarketDefinition {
  readonly marketId: string;
  readonly channelId: string;
  readonly channelOwnerUserId: string;
  readonly title: string;
  readonly kind: MarketKind;
  readonly currency: string;
  readonly outcomes: readonly MarketOutcome[];
  readonly minStakeMinor: bigint;
  readonly maxStakePerBetMinor: bigint;
  readonly maxStakePerUserMinor: bigint;
  readonly commissionBps: number;
  readonly state: MarketState;
  readonly bettingClosesAtMs: number;
  readonly lockEffectiveAtMs: number;
  readonly marketVersion: number;
}

/** One placement queued for the group commit (shape, market and idempotency pre-checked). */
export interface IntentRequest extends PlacementRequest {
  readonly betId: string;
  readonly idempotencyKey: string;
  readonly client: ClientContext;
}

/** What writing one intent came to. */
export type IntentOutcome =
  | { readonly kind: 'intent'; readonly bet: BetRecord }
  | { readonly kind: 'existing'; readonly bet: BetRecord }
  | { readonly kind: 'conflict'; readonly bet: BetRecord }
  | { readonly kind: 'rejected'; readonly rejection: Rejection };

/** What the ledger said about one hold. */
export type HoldOutcome =
  /** Committed (now or earlier with the same content). */
  | { readonly betId: string; readonly result: 'held' }
  /** The wallet lacks funds or does not exist. */
  | { readonly betId: string; readonly result: 'no-funds' }
  /** Any other refusal: the hold will never exist. */
  | { readonly betId: string; readonly result: 'failed' };

/** Result of {@link BetEngineStore.finalizeHolds}. */
export interface FinalizeResult {
  /** Each bet after the call; absent when its intent was withdrawn (no funds, a caller waiting). */
  readonly bets: ReadonlyMap<string, BetRecord>;
  /** Markets whose totals changed (odds to refresh and publish). */
  readonly changedMarkets: ReadonlySet<string>;
  /** Markets where a bet placed after the fixed lock instant was accepted: run the late void. */
  readonly lateVoidMarkets: ReadonlySet<string>;
  /** Totals of each changed market as this transaction left them (the odds cache's input). */
  readonly totals: ReadonlyMap<string, MarketTotals>;
  /** Changed markets whose OddsChanged went into the outbox with this transaction. */
  readonly oddsPublished: ReadonlySet<string>;
}

/** A page request of ListMyBets. */
export interface MyBetsQuery {
  readonly userId: string;
  readonly statuses: readonly BetStatus[];
  readonly marketId: string;
  readonly before: { readonly placedAtMs: number; readonly betId: string } | undefined;
  readonly limit: number;
}

/** Dependencies of {@link createBetEngineStore}. */
export interface BetEngineStoreDeps {
  readonly sql: Sql;
  /** Called after a commit that appended outbox rows (the relay publishes at once). */
  readonly onCommitted?: () => void;
}

const MARKET_COLUMNS = `m.market_id, m.channel_id, m.channel_owner_user_id, m.title, m.kind, m.currency,
  m.min_stake_minor, m.max_stake_per_bet_minor, m.max_stake_per_user_minor, m.commission_bps, m.state,
  m.betting_closes_at_ms, m.lock_effective_at_ms, m.late_void_pending, m.voided_bet_count,
  m.voided_stake_minor, m.market_version, m.escrow_created,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('outcomeId', o.outcome_id, 'title', o.title) ORDER BY o.position), '[]'::jsonb)
     FROM be_outcome_totals o WHERE o.market_id = m.market_id) AS outcomes`;

function marketFromRow(row: Record<string, unknown>): MarketRecord {
  const lock = row.lock_effective_at_ms as bigint | null;
  return {
    marketId: row.market_id as string,
    channelId: row.channel_id as string,
    channelOwnerUserId: row.channel_owner_user_id as string,
    title: row.title as string,
    kind: row.kind as MarketKind,
    currency: row.currency as string,
    outcomes: row.outcomes as MarketOutcome[],
    minStakeMinor: BigInt(row.min_stake_minor as bigint),
    maxStakePerBetMinor: BigInt(row.max_stake_per_bet_minor as bigint),
    maxStakePerUserMinor: BigInt(row.max_stake_per_user_minor as bigint),
    commissionBps: Number(row.commission_bps),
    state: row.state as MarketState,
    bettingClosesAtMs: Number(row.betting_closes_at_ms),
    lockEffectiveAtMs: lock === null ? undefined : Number(lock),
    marketVersion: Number(row.market_version),
    escrowCreated: row.escrow_created as boolean,
    lateVoidPending: row.late_void_pending as boolean,
    voidedBetCount: BigInt(row.voided_bet_count as bigint),
    voidedStakeMinor: BigInt(row.voided_stake_minor as bigint),
  };
}

function betFromRow(row: Record<string, unknown>): BetRecord {
  return {
    betId: row.bet_id as string,
    userId: row.user_id as string,
    idempotencyKey: row.idempotency_key as string,
    marketId: row.market_id as string,
    outcomeId: row.outcome_id as string,
    currency: row.currency as string,
    stakeMinor: BigInt(row.stake_minor as bigint),
    status: row.status as BetStatus,
    voidReason: (row.void_reason as VoidReason | null) ?? undefined,
    holdTransferId: row.hold_transfer_id as string,
    holdTimeoutSeconds: Number(row.hold_timeout_seconds),
    heldMinor: BigInt(row.held_minor as bigint),
    voidedStakeMinor: BigInt(row.voided_stake_minor as bigint),
    payoutMinor: BigInt(row.payout_minor as bigint),
    netProfitMinor: BigInt(row.net_profit_minor as bigint),
    placedAtMs: Number(row.placed_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
    settledAtMs: Number(row.settled_at_ms),
    client: row.client as ClientContext,
  };
}

/** Display facts of a market for bets and events. */
export function marketFacts(market: MarketView): BetMarketFacts {
  return {
    channelId: market.channelId,
    title: market.title,
    kind: market.kind,
    outcomeTitles: new Map(market.outcomes.map((o) => [o.outcomeId, o.title])),
  };
}

/** Creates the store. Functions taking `tx` run inside a caller's transaction. */
export function createBetEngineStore(deps: BetEngineStoreDeps) {
  const { sql } = deps;

  async function loadMarkets(
    db: SqlExecutor,
    marketIds: readonly string[],
    lock: '' | ' FOR SHARE' | ' FOR UPDATE',
  ): Promise<Map<string, MarketRecord>> {
    if (marketIds.length === 0) return new Map();
    const ids = [...new Set(marketIds)].sort();
    if (lock !== '') {
      await db.query(
        `SELECT market_id FROM be_markets WHERE market_id = ANY($1::text[]) ORDER BY market_id${lock}`,
        [ids],
      );
    }
    const result = await db.query(
      `SELECT ${MARKET_COLUMNS} FROM be_markets m WHERE m.market_id = ANY($1::text[])`,
      [ids],
    );
    return new Map(result.rows.map((row) => [row.market_id as string, marketFromRow(row)]));
  }

  async function loadMarket(
    db: SqlExecutor,
    marketId: string,
    lock: '' | ' FOR SHARE' | ' FOR UPDATE' = '',
  ): Promise<MarketRecord | undefined> {
    return (await loadMarkets(db, [marketId], lock)).get(marketId);
  }

  async function appendEvents(
    tx: SqlExecutor,
    nowMs: number,
    events: ReadonlyArray<{
      topic: string;
      key: string;
      actorUserId: string;
      encode: (meta: EventMetadataInit) => EncodedEvent;
    }>,
  ): Promise<void> {
    if (events.length === 0) return;
    const ids = events.map(() => newEventId());
    const headers = injectTraceHeaders({ producer: 'bet-engine' });
    const traceParent = headers.traceparent ?? '';
    let next = 0;
    await appendToOutbox(
      tx,
      events.map((event, index) => {
        const encoded = event.encode({
          eventId: ids[index]!,
          occurredAtMs: nowMs,
          traceParent,
          aggregateId: event.key,
          actorUserId: event.actorUserId,
        });
        return {
          topic: event.topic,
          key: event.key,
          type: encoded.type,
          payload: encoded.payload,
          headers,
        };
      }),
      { clock: () => nowMs, newId: () => ids[next++]! },
    );
  }

  /**
   * Adds (`sign` 1) or removes (`sign` -1) bets from the live totals of their markets (T, P_o,
   * bet counts, bettor count) and bumps each touched market's odds version.
   */
  async function applyLiveDelta(
    tx: SqlExecutor,
    bets: readonly BetRecord[],
    sign: 1n | -1n,
    nowMs: number,
  ): Promise<Set<string>> {
    if (bets.length === 0) return new Set();
    const perOutcome = new Map<
      string,
      { marketId: string; outcomeId: string; stake: bigint; n: bigint }
    >();
    const perUser = new Map<
      string,
      { marketId: string; userId: string; stake: bigint; n: bigint }
    >();
    for (const bet of bets) {
      const o = perOutcome.get(`${bet.marketId} ${bet.outcomeId}`) ?? {
        marketId: bet.marketId,
        outcomeId: bet.outcomeId,
        stake: 0n,
        n: 0n,
      };
      o.stake += bet.stakeMinor * sign;
      o.n += sign;
      perOutcome.set(`${bet.marketId} ${bet.outcomeId}`, o);
      const u = perUser.get(`${bet.marketId} ${bet.userId}`) ?? {
        marketId: bet.marketId,
        userId: bet.userId,
        stake: 0n,
        n: 0n,
      };
      u.stake += bet.stakeMinor * sign;
      u.n += sign;
      perUser.set(`${bet.marketId} ${bet.userId}`, u);
    }
    const outcomes = [...perOutcome.values()];
    await tx.query(
      `UPDATE be_outcome_totals t SET staked_minor = t.staked_minor + d.stake, bet_count = t.bet_count + d.n
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS d(market_id, outcome_id, stake, n)
       WHERE t.market_id = d.market_id AND t.outcome_id = d.outcome_id`,
      [
        outcomes.map((o) => o.marketId),
        outcomes.map((o) => o.outcomeId),
        outcomes.map((o) => o.stake.toString()),
        outcomes.map((o) => o.n.toString()),
      ],
    );
    const users = [...perUser.values()];
    const userRows = await tx.query<{ market_id: string; user_id: string; live_bet_count: bigint }>(
      `INSERT INTO be_user_market AS u (market_id, user_id, live_stake_minor, live_bet_count)
       SELECT d.market_id, d.user_id, d.stake, d.n
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS d(market_id, user_id, stake, n)
       ON CONFLICT (market_id, user_id) DO UPDATE
         SET live_stake_minor = u.live_stake_minor + EXCLUDED.live_stake_minor,
             live_bet_count = u.live_bet_count + EXCLUDED.live_bet_count
       RETURNING u.market_id, u.user_id, u.live_bet_count`,
      [
        users.map((u) => u.marketId),
        users.map((u) => u.userId),
        users.map((u) => u.stake.toString()),
        users.map((u) => u.n.toString()),
      ],
    );
    const bettorDelta = new Map<string, bigint>();
    const stakeDelta = new Map<string, bigint>();
    for (const o of outcomes)
      stakeDelta.set(o.marketId, (stakeDelta.get(o.marketId) ?? 0n) + o.stake);
    for (const row of userRows.rows) {
      const after = BigInt(row.live_bet_count);
      const before = after - (perUser.get(`${row.market_id} ${row.user_id}`)?.n ?? 0n);
      const change = before === 0n && after > 0n ? 1n : before > 0n && after === 0n ? -1n : 0n;
      bettorDelta.set(row.market_id, (bettorDelta.get(row.market_id) ?? 0n) + change);
    }
    const marketIds = [...stakeDelta.keys()].sort();
    await tx.query(
      `UPDATE be_markets m SET total_staked_minor = m.total_staked_minor + d.stake,
         bettor_count = m.bettor_count + d.bettors, odds_version = m.odds_version + 1, updated_at_ms = $4
       FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS d(market_id, stake, bettors)
       WHERE m.market_id = d.market_id`,
      [
        marketIds,
        marketIds.map((id) => (stakeDelta.get(id) ?? 0n).toString()),
        marketIds.map((id) => (bettorDelta.get(id) ?? 0n).toString()),
        BigInt(nowMs),
      ],
    );
    return new Set(marketIds);
  }

  async function voidBetsIn(
    tx: SqlExecutor,
    where: string,
    params: readonly SqlValue[],
    details: {
      reason: VoidReason;
      releasedByEngine: boolean;
      lockEffectiveAtMs: number;
      nowMs: number;
      /** Returned-stake bookkeeping for MARKET_VOIDED (payout = stake, net 0). */
      stakeReturned: boolean;
    },
  ): Promise<BetRecord[]> {
    const n = params.length;
    const result = await tx.query(
      `UPDATE be_bets SET status = 'VOIDED', void_reason = $${n + 1}, voided_stake_minor = stake_minor,
         held_minor = CASE WHEN $${n + 2} THEN 0 ELSE held_minor END,
         payout_minor = CASE WHEN $${n + 3} THEN stake_minor ELSE 0 END, net_profit_minor = 0,
         updated_at_ms = $${n + 4}, settled_at_ms = $${n + 4}
       WHERE ${where}
       RETURNING *`,
      [
        ...params,
        details.reason,
        details.releasedByEngine,
        details.stakeReturned,
        BigInt(details.nowMs),
      ],
    );
    return result.rows.map(betFromRow);
  }

  async function appendVoidedEvents(
    tx: SqlExecutor,
    voided: ReadonlyArray<{ bet: BetRecord; previousStatus: BetStatus }>,
    markets: ReadonlyMap<string, MarketView>,
    details: {
      reason: VoidReason;
      releasedByEngine: boolean;
      lockEffectiveAtMs: number;
      nowMs: number;
    },
  ): Promise<void> {
    await appendEvents(
      tx,
      details.nowMs,
      voided.map(({ bet }) => ({
        topic: betTopic,
        key: bet.marketId,
        actorUserId: '',
        encode: (meta) =>
          encodeBetVoided(
            bet,
            marketFacts(markets.get(bet.marketId)!),
            {
              reason: details.reason,
              releasedMinor: details.releasedByEngine ? bet.stakeMinor : 0n,
              lockEffectiveAtMs: details.lockEffectiveAtMs,
              voidedAtMs: details.nowMs,
            },
            meta,
          ),
      })),
    );
  }

  /** Appends OddsChanged with the snapshot of `totals` to the outbox in `tx`. */
  async function appendOddsChanged(
    tx: SqlExecutor,
    channelId: string,
    totals: MarketTotals,
    nowMs: number,
  ): Promise<OddsSnapshot> {
    const odds = oddsSnapshot(totals, nowMs);
    await appendEvents(tx, nowMs, [
      {
        topic: oddsTopic,
        key: totals.marketId,
        actorUserId: '',
        encode: (meta) => encodeOddsChanged(odds, channelId, meta),
      },
    ]);
    return odds;
  }

  const store = {
    sql,

    /** The market as projected, or undefined. */
    getMarket(marketId: string, db: SqlExecutor = sql): Promise<MarketRecord | undefined> {
      return loadMarket(db, marketId);
    },

    /**
     * Stores a market definition unless a newer version is already projected (then only missing
     * titles are filled in). Returns whether the definition was applied.
     */
    async upsertMarketDefinition(
      tx: SqlExecutor,
      def: MarketDefinition,
      nowMs: number,
    ): Promise<boolean> {
      const applied = await tx.query(
        `INSERT INTO be_markets AS m (market_id, channel_id, channel_owner_user_id, title, kind, currency,
           min_stake_minor, max_stake_per_bet_minor, max_stake_per_user_minor, commission_bps, state,
           betting_closes_at_ms, lock_effective_at_ms, late_void_pending, market_version, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::bigint, $13::bigint IS NOT NULL, $14, $15)
         ON CONFLICT (market_id) DO UPDATE SET
           title = CASE WHEN EXCLUDED.title <> '' THEN EXCLUDED.title ELSE m.title END,
           state = CASE WHEN EXCLUDED.market_version > m.market_version THEN EXCLUDED.state ELSE m.state END,
           betting_closes_at_ms = CASE WHEN EXCLUDED.market_version > m.market_version
             THEN EXCLUDED.betting_closes_at_ms ELSE m.betting_closes_at_ms END,
           lock_effective_at_ms = coalesce(m.lock_effective_at_ms, EXCLUDED.lock_effective_at_ms),
           late_void_pending = m.late_void_pending OR (m.lock_effective_at_ms IS NULL AND EXCLUDED.lock_effective_at_ms IS NOT NULL),
           market_version = greatest(m.market_version, EXCLUDED.market_version),
           updated_at_ms = EXCLUDED.updated_at_ms
         RETURNING (xmax = 0) AS inserted`,
        [
          def.marketId,
          def.channelId,
          def.channelOwnerUserId,
          def.title,
          def.kind,
          def.currency,
          def.minStakeMinor,
          def.maxStakePerBetMinor,
          def.maxStakePerUserMinor,
          def.commissionBps,
          def.state,
          BigInt(def.bettingClosesAtMs),
          def.lockEffectiveAtMs > 0 ? BigInt(def.lockEffectiveAtMs) : null,
          BigInt(def.marketVersion),
          BigInt(nowMs),
        ],
      );
      await tx.query(
        `INSERT INTO be_outcome_totals AS t (market_id, outcome_id, position, title)
         SELECT $1, d.outcome_id, d.position, d.title
         FROM unnest($2::text[], $3::int[], $4::text[]) AS d(outcome_id, position, title)
         ON CONFLICT (market_id, outcome_id) DO UPDATE
           SET title = CASE WHEN EXCLUDED.title <> '' THEN EXCLUDED.title ELSE t.title END`,
        [
          def.marketId,
          def.outcomes.map((o) => o.outcomeId),
          def.outcomes.map((_, index) => index),
          def.outcomes.map((o) => o.title),
        ],
      );
      return applied.rows[0]?.inserted === true;
    },

    /**
     * Applies a lifecycle change of version `marketVersion` if newer than the projection's.
     * Returns the market before the change, or undefined when the market is unknown.
     */
    async applyMarketState(
      tx: SqlExecutor,
      change: {
        readonly marketId: string;
        readonly state: MarketState;
        readonly marketVersion: number;
        readonly bettingClosesAtMs?: number;
      },
      nowMs: number,
    ): Promise<{ before: MarketRecord; applied: boolean } | undefined> {
      const before = await loadMarket(tx, change.marketId, ' FOR UPDATE');
      if (before === undefined) return undefined;
      if (change.marketVersion <= before.marketVersion) return { before, applied: false };
      await tx.query(
        `UPDATE be_markets SET state = $2, market_version = $3,
           betting_closes_at_ms = coalesce($4, betting_closes_at_ms), updated_at_ms = $5
         WHERE market_id = $1`,
        [
          change.marketId,
          change.state,
          BigInt(change.marketVersion),
          change.bettingClosesAtMs === undefined ? null : BigInt(change.bettingClosesAtMs),
          BigInt(nowMs),
        ],
      );
      return { before, applied: true };
    },

    /**
     * Fixes the market's lock instant if none is in force (betting closes at once) and returns the
     * one in force; undefined when the market is unknown.
     */
    async fixLockInstant(
      tx: SqlExecutor,
      marketId: string,
      lockEffectiveAtMs: number,
      nowMs: number,
    ): Promise<number | undefined> {
      const result = await tx.query<{ lock_effective_at_ms: bigint }>(
        `UPDATE be_markets SET
           late_void_pending = late_void_pending OR lock_effective_at_ms IS NULL,
           lock_effective_at_ms = coalesce(lock_effective_at_ms, $2), updated_at_ms = $3
         WHERE market_id = $1 RETURNING lock_effective_at_ms`,
        [marketId, BigInt(lockEffectiveAtMs), BigInt(nowMs)],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : Number(row.lock_effective_at_ms);
    },

    /** Records that the markets' escrow accounts exist in the ledger. */
    async markEscrowCreated(marketIds: readonly string[]): Promise<void> {
      if (marketIds.length === 0) return;
      await sql.query(
        'UPDATE be_markets SET escrow_created = true WHERE market_id = ANY($1::text[])',
        [[...marketIds]],
      );
    },

    /** The bet the user placed with `idempotencyKey`, if any. */
    /** Bets by (user, idempotency key), keyed `${userId} ${key}`: one query for many placements. */
    async findBetsByKeys(
      keys: ReadonlyArray<{ readonly userId: string; readonly idempotencyKey: string }>,
    ): Promise<Map<string, BetRecord>> {
      if (keys.length === 0) return new Map();
      const result = await sql.query(
        `SELECT b.* FROM be_bets b
           JOIN unnest($1::text[], $2::text[]) AS k(user_id, idempotency_key)
             ON b.user_id = k.user_id AND b.idempotency_key = k.idempotency_key`,
        [keys.map((k) => k.userId), keys.map((k) => k.idempotencyKey)],
      );
      return new Map(
        result.rows.map((row) => [
          `${row.user_id as string} ${row.idempotency_key as string}`,
          betFromRow(row),
        ]),
      );
    },

    async findBetByKey(userId: string, idempotencyKey: string): Promise<BetRecord | undefined> {
      const result = await sql.query(
        'SELECT * FROM be_bets WHERE user_id = $1 AND idempotency_key = $2',
        [userId, idempotencyKey],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : betFromRow(row);
    },

    /** Bets by id. */
    async getBets(
      betIds: readonly string[],
      db: SqlExecutor = sql,
    ): Promise<Map<string, BetRecord>> {
      if (betIds.length === 0) return new Map();
      const result = await db.query('SELECT * FROM be_bets WHERE bet_id = ANY($1::text[])', [
        [...betIds],
      ]);
      return new Map(result.rows.map((row) => [row.bet_id as string, betFromRow(row)]));
    },

    /**
     * Step 1 of the group commit, in ONE transaction: re-checks every request under its market's
     * row lock at `nowMs` (state, lock instant, window, limits and the per-user cap including the
     * user's PENDING and ACCEPTED bets and earlier requests of this batch), resolves idempotency
     * (an existing (user, key) is returned or is a conflict) and writes the survivors as PENDING
     * intents. Results come back in request order.
     */
    async insertIntents(
      requests: readonly IntentRequest[],
      nowMs: number,
      holdTimeoutSeconds: number,
    ): Promise<IntentOutcome[]> {
      return sql.transaction(async (tx) => {
        const markets = await loadMarkets(
          tx,
          requests.map((r) => r.marketId),
          ' FOR SHARE',
        );
        const existing = await tx.query(
          `SELECT b.* FROM be_bets b JOIN unnest($1::text[], $2::text[]) AS k(user_id, idempotency_key)
             ON b.user_id = k.user_id AND b.idempotency_key = k.idempotency_key`,
          [requests.map((r) => r.userId), requests.map((r) => r.idempotencyKey)],
        );
        const byKey = new Map(
          existing.rows.map((row) => [
            `${row.user_id as string} ${row.idempotency_key as string}`,
            betFromRow(row),
          ]),
        );
        const totals = await tx.query<{ market_id: string; user_id: string; stake: bigint }>(
          `SELECT b.market_id, b.user_id, sum(b.stake_minor)::bigint AS stake FROM be_bets b
           JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS k(market_id, user_id)
             ON b.market_id = k.market_id AND b.user_id = k.user_id
           WHERE b.status IN ('PENDING', 'ACCEPTED')
           GROUP BY b.market_id, b.user_id`,
          [requests.map((r) => r.marketId), requests.map((r) => r.userId)],
        );
        const userStake = new Map(
          totals.rows.map((row) => [`${row.market_id} ${row.user_id}`, BigInt(row.stake)]),
        );
        const outcomes: IntentOutcome[] = [];
        const fresh: BetRecord[] = [];
        for (const request of requests) {
          const key = `${request.userId} ${request.idempotencyKey}`;
          const prior = byKey.get(key);
          if (prior !== undefined) {
            outcomes.push({
              kind: sameContent(prior, request) ? 'existing' : 'conflict',
              bet: prior,
            });
            continue;
          }
          const market = markets.get(request.marketId);
          if (market === undefined) {
            outcomes.push({
              kind: 'rejected',
              rejection: reject('INVALID_REQUEST', `market ${request.marketId} does not exist`),
            });
            continue;
          }
          const stakeKey = `${request.marketId} ${request.userId}`;
          const already = userStake.get(stakeKey) ?? 0n;
          const rejection = checkPlacement(market, request, nowMs, already);
          if (rejection !== undefined) {
            outcomes.push({ kind: 'rejected', rejection });
            continue;
          }
          userStake.set(stakeKey, already + request.stakeMinor);
          const bet: BetRecord = {
            betId: request.betId,
            userId: request.userId,
            idempotencyKey: request.idempotencyKey,
            marketId: request.marketId,
            outcomeId: request.outcomeId,
            currency: request.currency,
            stakeMinor: request.stakeMinor,
            status: 'PENDING',
            voidReason: undefined,
            holdTransferId: holdTransferId(request.betId),
            holdTimeoutSeconds,
            heldMinor: 0n,
            voidedStakeMinor: 0n,
            payoutMinor: 0n,
            netProfitMinor: 0n,
            placedAtMs: nowMs,
            updatedAtMs: nowMs,
            settledAtMs: 0,
            client: request.client,
          };
          byKey.set(key, bet);
          fresh.push(bet);
          outcomes.push({ kind: 'intent', bet });
        }
        if (fresh.length > 0) {
          await tx.query(
            `INSERT INTO be_bets (bet_id, user_id, idempotency_key, market_id, outcome_id, currency, stake_minor,
               status, hold_transfer_id, hold_timeout_seconds, placed_at_ms, updated_at_ms, client)
             SELECT d.bet_id, d.user_id, d.idempotency_key, d.market_id, d.outcome_id, d.currency, d.stake,
               'PENDING', d.hold_id, $8, $9, $9, d.client
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
               $10::text[], $11::jsonb[]) AS d(bet_id, user_id, idempotency_key, market_id, outcome_id, currency,
               stake, hold_id, client)`,
            [
              fresh.map((b) => b.betId),
              fresh.map((b) => b.userId),
              fresh.map((b) => b.idempotencyKey),
              fresh.map((b) => b.marketId),
              fresh.map((b) => b.outcomeId),
              fresh.map((b) => b.currency),
              fresh.map((b) => b.stakeMinor.toString()),
              BigInt(holdTimeoutSeconds),
              BigInt(nowMs),
              fresh.map((b) => b.holdTransferId),
              fresh.map((b) => JSON.stringify(b.client)),
            ],
          );
        }
        return outcomes;
      });
    },

    /**
     * Step 3 of the group commit (and of the reconciliation), in ONE transaction: PENDING bets
     * whose hold is confirmed become ACCEPTED (totals, odds version, BetPlaced); on a canceled
     * market they are voided at once (MARKET_CANCELED, settlement releases the hold). A hold refused
     * for lack of funds withdraws the intent when a caller is waiting (`withdrawNoFunds`: nothing
     * was placed, a retry re-evaluates) and otherwise voids it (HOLD_FAILED), like any other
     * refusal. Rows no longer PENDING are left alone (someone else finished them).
     */
    async finalizeHolds(
      outcomes: readonly HoldOutcome[],
      nowMs: number,
      options: {
        readonly withdrawNoFunds: boolean;
        /**
         * Asked once per changed market: true appends its OddsChanged to this same transaction
         * (the odds conflation allows a publication now), saving a transaction of its own.
         */
        readonly publishOddsNow?: (marketId: string) => boolean;
      },
    ): Promise<FinalizeResult> {
      const ids = outcomes.map((o) => o.betId);
      const held = outcomes.filter((o) => o.result === 'held').map((o) => o.betId);
      const failed = outcomes
        .filter(
          (o) => o.result === 'failed' || (o.result === 'no-funds' && !options.withdrawNoFunds),
        )
        .map((o) => o.betId);
      const withdrawn = outcomes
        .filter((o) => o.result === 'no-funds' && options.withdrawNoFunds)
        .map((o) => o.betId);
      const result = await sql.transaction(async (tx) => {
        const marketIds = await tx.query<{ market_id: string }>(
          'SELECT DISTINCT market_id FROM be_bets WHERE bet_id = ANY($1::text[])',
          [ids],
        );
        // FOR UPDATE, not FOR SHARE: the transaction updates the market row (totals, odds
        // version) further down, and two finalizes of one market each holding a share lock and
        // each upgrading it deadlock (batches in flight together, or two bet-engine replicas).
        const markets = await loadMarkets(
          tx,
          marketIds.rows.map((r) => r.market_id),
          ' FOR UPDATE',
        );
        const accepted = (
          await tx.query(
            `UPDATE be_bets SET status = 'ACCEPTED', held_minor = stake_minor, updated_at_ms = $2
             WHERE bet_id = ANY($1::text[]) AND status = 'PENDING' RETURNING *`,
            [held, BigInt(nowMs)],
          )
        ).rows
          .map(betFromRow)
          .sort((a, b) => (a.betId < b.betId ? -1 : 1));
        if (withdrawn.length > 0) {
          await tx.query(
            `DELETE FROM be_bets WHERE bet_id = ANY($1::text[]) AND status = 'PENDING'`,
            [withdrawn],
          );
        }
        const holdFailed = await voidBetsIn(
          tx,
          `bet_id = ANY($1::text[]) AND status = 'PENDING'`,
          [failed],
          {
            reason: 'HOLD_FAILED',
            releasedByEngine: true,
            lockEffectiveAtMs: 0,
            nowMs,
            stakeReturned: false,
          },
        );
        const changed = await applyLiveDelta(tx, accepted, 1n, nowMs);
        await appendEvents(
          tx,
          nowMs,
          accepted.map((bet) => ({
            topic: betTopic,
            key: bet.marketId,
            actorUserId: bet.userId,
            encode: (meta) => encodeBetPlaced(bet, marketFacts(markets.get(bet.marketId)!), meta),
          })),
        );
        await appendVoidedEvents(
          tx,
          holdFailed.map((bet) => ({ bet, previousStatus: 'PENDING' })),
          markets,
          { reason: 'HOLD_FAILED', releasedByEngine: false, lockEffectiveAtMs: 0, nowMs },
        );
        const canceledIds = accepted
          .filter((bet) => markets.get(bet.marketId)?.state === 'CANCELED')
          .map((bet) => bet.betId);
        if (canceledIds.length > 0) {
          const canceled = await voidBetsIn(
            tx,
            `bet_id = ANY($1::text[]) AND status = 'ACCEPTED'`,
            [canceledIds],
            {
              reason: 'MARKET_CANCELED',
              releasedByEngine: false,
              lockEffectiveAtMs: 0,
              nowMs,
              stakeReturned: false,
            },
          );
          await applyLiveDelta(tx, canceled, -1n, nowMs);
          await appendVoidedEvents(
            tx,
            canceled.map((bet) => ({ bet, previousStatus: 'ACCEPTED' })),
            markets,
            { reason: 'MARKET_CANCELED', releasedByEngine: false, lockEffectiveAtMs: 0, nowMs },
          );
        }
        const lateVoid = new Set<string>();
        for (const bet of accepted) {
          const market = markets.get(bet.marketId);
          if (
            market?.lockEffectiveAtMs !== undefined &&
            market.state !== 'CANCELED' &&
            bet.placedAtMs > market.lockEffectiveAtMs
          ) {
            lateVoid.add(bet.marketId);
          }
        }
        if (lateVoid.size > 0) {
          await tx.query(
            'UPDATE be_markets SET late_void_pending = true WHERE market_id = ANY($1::text[])',
            [[...lateVoid]],
          );
        }
        const totals = new Map<string, MarketTotals>();
        const oddsPublished = new Set<string>();
        for (const marketId of changed) {
          const current = await store.marketTotals(marketId, tx);
          if (current === undefined) continue;
          totals.set(marketId, current);
          const market = markets.get(marketId);
          if (market === undefined || options.publishOddsNow?.(marketId) !== true) continue;
          await appendOddsChanged(tx, market.channelId, current, nowMs);
          oddsPublished.add(marketId);
        }
        const bets = await store.getBets(ids, tx);
        return { bets, changedMarkets: changed, lateVoidMarkets: lateVoid, totals, oddsPublished };
      });
      if (result.changedMarkets.size > 0) deps.onCommitted?.();
      return result;
    },

    /** PENDING bets placed at or before `placedAtOrBeforeMs` (optionally of one market), oldest first. */
    async pendingBets(
      placedAtOrBeforeMs: number,
      marketId: string | undefined,
      limit: number,
    ): Promise<BetRecord[]> {
      const result = await sql.query(
        `SELECT * FROM be_bets WHERE status = 'PENDING' AND placed_at_ms <= $1
           AND ($2::text IS NULL OR market_id = $2) ORDER BY placed_at_ms, bet_id LIMIT $3`,
        [BigInt(placedAtOrBeforeMs), marketId ?? null, limit],
      );
      return result.rows.map(betFromRow);
    },

    /** True while any bet of the market waits for its hold to be confirmed. */
    async hasPendingBets(marketId: string): Promise<boolean> {
      const result = await sql.query(
        `SELECT 1 FROM be_bets WHERE market_id = $1 AND status = 'PENDING' LIMIT 1`,
        [marketId],
      );
      return result.rowCount > 0;
    },

    /** Markets whose lock instant is fixed but whose late bets are not all voided yet. */
    async marketsWithLateVoidPending(limit: number): Promise<string[]> {
      const result = await sql.query<{ market_id: string }>(
        'SELECT market_id FROM be_markets WHERE late_void_pending ORDER BY market_id LIMIT $1',
        [limit],
      );
      return result.rows.map((r) => r.market_id);
    },

    /** ACCEPTED bets of the market placed strictly after its lock instant: they must be voided. */
    async lateBets(marketId: string): Promise<BetRecord[]> {
      const result = await sql.query(
        `SELECT b.* FROM be_bets b JOIN be_markets m ON m.market_id = b.market_id
         WHERE b.market_id = $1 AND b.status = 'ACCEPTED' AND m.lock_effective_at_ms IS NOT NULL
           AND b.placed_at_ms > m.lock_effective_at_ms
         ORDER BY b.bet_id`,
        [marketId],
      );
      return result.rows.map(betFromRow);
    },

    /**
     * Voids (RETROACTIVE_LOCK) the given late bets whose holds the ledger released, in ONE
     * transaction: status, totals, BetVoided (released in full), the market's void counts; clears
     * `late_void_pending` when `complete` (no PENDING bets left and every late bet handled).
     */
    async markRetroactivelyVoided(
      marketId: string,
      betIds: readonly string[],
      complete: boolean,
      nowMs: number,
    ): Promise<MarketRecord> {
      const result = await sql.transaction(async (tx) => {
        const market = await loadMarket(tx, marketId, ' FOR UPDATE');
        if (market === undefined) throw new Error(`market ${marketId} vanished`);
        const voided = await voidBetsIn(
          tx,
          `bet_id = ANY($1::text[]) AND status = 'ACCEPTED' AND market_id = $2`,
          [[...betIds], marketId],
          {
            reason: 'RETROACTIVE_LOCK',
            releasedByEngine: true,
            lockEffectiveAtMs: market.lockEffectiveAtMs ?? 0,
            nowMs,
            stakeReturned: true,
          },
        );
        await applyLiveDelta(tx, voided, -1n, nowMs);
        await appendVoidedEvents(
          tx,
          voided.map((bet) => ({ bet, previousStatus: 'ACCEPTED' })),
          new Map([[marketId, market]]),
          {
            reason: 'RETROACTIVE_LOCK',
            releasedByEngine: true,
            lockEffectiveAtMs: market.lockEffectiveAtMs ?? 0,
            nowMs,
          },
        );
        const stake = voided.reduce((sum, bet) => sum + bet.stakeMinor, 0n);
        await tx.query(
          `UPDATE be_markets SET voided_bet_count = voided_bet_count + $2, voided_stake_minor = voided_stake_minor + $3,
             late_void_pending = CASE WHEN $4 THEN false ELSE late_void_pending END, updated_at_ms = $5
           WHERE market_id = $1`,
          [marketId, BigInt(voided.length), stake, complete, BigInt(nowMs)],
        );
        return { market: (await loadMarket(tx, marketId))!, changed: voided.length > 0 };
      });
      if (result.changed) deps.onCommitted?.();
      return result.market;
    },

    /**
     * Voids every standing bet of a canceled (MARKET_CANCELED) or voided-after-resolution
     * (MARKET_VOIDED) market in `tx`, with totals and BetVoided (released 0: settlement returns
     * the money). Returns the bets voided now.
     */
    async voidMarketBets(
      tx: SqlExecutor,
      market: MarketView,
      reason: 'MARKET_CANCELED' | 'MARKET_VOIDED',
      nowMs: number,
    ): Promise<BetRecord[]> {
      const statuses =
        reason === 'MARKET_CANCELED' ? ['ACCEPTED'] : ['ACCEPTED', 'WON', 'LOST', 'REFUNDED'];
      const before = await tx.query(
        `SELECT bet_id, status FROM be_bets WHERE market_id = $1 AND status = ANY($2::text[])`,
        [market.marketId, statuses],
      );
      const previous = new Map(before.rows.map((r) => [r.bet_id as string, r.status as BetStatus]));
      const voided = await voidBetsIn(
        tx,
        `market_id = $1 AND status = ANY($2::text[])`,
        [market.marketId, statuses],
        {
          reason,
          releasedByEngine: false,
          lockEffectiveAtMs: 0,
          nowMs,
          stakeReturned: reason === 'MARKET_VOIDED',
        },
      );
      const wereLive = voided.filter((bet) => previous.get(bet.betId) === 'ACCEPTED');
      await applyLiveDelta(tx, wereLive, -1n, nowMs);
      await appendVoidedEvents(
        tx,
        voided.map((bet) => ({ bet, previousStatus: previous.get(bet.betId) ?? 'ACCEPTED' })),
        new Map([[market.marketId, market]]),
        { reason, releasedByEngine: false, lockEffectiveAtMs: 0, nowMs },
      );
      return voided;
    },

    /**
     * Applies a completed POOL settlement in `tx`: ACCEPTED bets on the winner become WON with
     * payout s + floor(s × D / P_w), the others LOST. Returns the number of bets changed.
     */
    async applySettlement(
      tx: SqlExecutor,
      input: {
        readonly marketId: string;
        readonly winningOutcomeId: string;
        readonly distributableMinor: bigint;
        readonly winningStakedMinor: bigint;
        readonly settledAtMs: number;
      },
    ): Promise<number> {
      const open = await tx.query(
        `SELECT * FROM be_bets WHERE market_id = $1 AND status = 'ACCEPTED' ORDER BY bet_id`,
        [input.marketId],
      );
      const bets = open.rows.map(betFromRow);
      if (bets.length === 0) return 0;
      const payouts = bets.map((bet) =>
        poolPayoutMinor({
          stakeMinor: bet.stakeMinor,
          won: bet.outcomeId === input.winningOutcomeId,
          distributableMinor: input.distributableMinor,
          winningStakedMinor: input.winningStakedMinor,
        }),
      );
      await tx.query(
        `UPDATE be_bets b SET status = CASE WHEN b.outcome_id = $4 THEN 'WON' ELSE 'LOST' END,
           payout_minor = d.payout, net_profit_minor = d.payout - b.stake_minor, held_minor = 0,
           updated_at_ms = $3, settled_at_ms = $3
         FROM unnest($1::text[], $2::bigint[]) AS d(bet_id, payout)
         WHERE b.bet_id = d.bet_id AND b.status = 'ACCEPTED'`,
        [
          bets.map((b) => b.betId),
          payouts.map((p) => p.toString()),
          BigInt(input.settledAtMs),
          input.winningOutcomeId,
        ],
      );
      return bets.length;
    },

    /**
     * Applies a refund in `tx`: ACCEPTED bets become REFUNDED and bets voided with the market's
     * cancel get their stake as payout; nothing else changes. Returns the bets changed.
     */
    async applyRefund(tx: SqlExecutor, marketId: string, refundedAtMs: number): Promise<number> {
      const result = await tx.query(
        `UPDATE be_bets SET status = CASE WHEN status = 'ACCEPTED' THEN 'REFUNDED' ELSE status END,
           payout_minor = stake_minor, net_profit_minor = 0, held_minor = 0, updated_at_ms = $2,
           settled_at_ms = $2
         WHERE market_id = $1 AND (status = 'ACCEPTED' OR (status = 'VOIDED' AND void_reason = 'MARKET_CANCELED'
           AND payout_minor = 0))`,
        [marketId, BigInt(refundedAtMs)],
      );
      return result.rowCount;
    },

    /** One page of a user's bets, newest first. */
    async listUserBets(query: MyBetsQuery): Promise<BetRecord[]> {
      const result = await sql.query(
        `SELECT * FROM be_bets WHERE user_id = $1
           AND (cardinality($2::text[]) = 0 OR status = ANY($2::text[]))
           AND ($3 = '' OR market_id = $3)
           AND ($4::bigint IS NULL OR (placed_at_ms, bet_id) < ($4::bigint, $5::text))
         ORDER BY placed_at_ms DESC, bet_id DESC LIMIT $6`,
        [
          query.userId,
          [...query.statuses],
          query.marketId,
          query.before === undefined ? null : BigInt(query.before.placedAtMs),
          query.before?.betId ?? '',
          query.limit,
        ],
      );
      return result.rows.map(betFromRow);
    },

    /** Markets by id (display facts of listed bets). */
    getMarkets(marketIds: readonly string[]): Promise<Map<string, MarketRecord>> {
      return loadMarkets(sql, marketIds, '');
    },

    /**
     * One batch of the bets settlement must act on, in bet_id order after `afterBetId`: every bet
     * whose hold the ledger still has or had at settlement — ACCEPTED, settled (WON, LOST,
     * REFUNDED) and voided with the market (MARKET_CANCELED, MARKET_VOIDED) — but not bets whose
     * hold the bet engine released (RETROACTIVE_LOCK) or never got (HOLD_FAILED).
     */
    async listMarketBets(
      marketId: string,
      afterBetId: string,
      limit: number,
    ): Promise<BetRecord[]> {
      const result = await sql.query(
        `SELECT * FROM be_bets WHERE market_id = $1 AND bet_id > $2
           AND (status IN ('ACCEPTED', 'WON', 'LOST', 'REFUNDED')
             OR (status = 'VOIDED' AND void_reason IN ('MARKET_CANCELED', 'MARKET_VOIDED')))
         ORDER BY bet_id LIMIT $3`,
        [marketId, afterBetId, limit],
      );
      return result.rows.map(betFromRow);
    },

    /** The market's totals as stored (the source of truth of its odds), or undefined. */
    async marketTotals(marketId: string, db: SqlExecutor = sql): Promise<MarketTotals | undefined> {
      // One statement: outside a transaction it is one autocommit, and it runs after every batch.
      const result = await db.query<{
        kind: string;
        currency: string;
        commission_bps: number;
        bettor_count: bigint;
        odds_version: bigint;
        outcomes: Array<[string, string, string]>;
      }>(
        `SELECT m.kind, m.currency, m.commission_bps, m.bettor_count, m.odds_version,
           coalesce((SELECT json_agg(json_build_array(o.outcome_id, o.staked_minor::text, o.bet_count::text)
                       ORDER BY o.position)
                     FROM be_outcome_totals o WHERE o.market_id = m.market_id), '[]'::json) AS outcomes
         FROM be_markets m WHERE m.market_id = $1`,
        [marketId],
      );
      const row = result.rows[0];
      if (row === undefined) return undefined;
      const outcomes: Array<[string, string, string]> =
        typeof row.outcomes === 'string'
          ? (JSON.parse(row.outcomes) as Array<[string, string, string]>)
          : row.outcomes;
      return {
        marketId,
        kind: row.kind as MarketKind,
        currency: row.currency,
        commissionBps: Number(row.commission_bps),
        bettorCount: BigInt(row.bettor_count),
        version: BigInt(row.odds_version),
        outcomes: outcomes.map(([outcomeId, staked, count]) => ({
          outcomeId,
          stakedMinor: BigInt(staked),
          betCount: BigInt(count),
        })),
      };
    },

    /** Appends OddsChanged with the market's current snapshot (one small transaction). */
    async publishOdds(marketId: string, nowMs: number): Promise<OddsSnapshot | undefined> {
      const snapshot = await sql.transaction(async (tx) => {
        const market = await loadMarket(tx, marketId, ' FOR SHARE');
        const totals = await store.marketTotals(marketId, tx);
        if (market === undefined || totals === undefined) return undefined;
        return appendOddsChanged(tx, market.channelId, totals, nowMs);
      });
      if (snapshot !== undefined) deps.onCommitted?.();
      return snapshot;
    },
  };
  return store;
}

function sameContent(bet: BetRecord, request: IntentRequest): boolean {
  return (
    bet.marketId === request.marketId &&
    bet.outcomeId === request.outcomeId &&
    bet.currency === request.currency &&
    bet.stakeMinor === request.stakeMinor
  );
}

/** True when a repeat of a placement carries the same content as the stored bet. */
export function samePlacement(bet: BetRecord, request: PlacementRequest): boolean {
  return (
    bet.marketId === request.marketId &&
    bet.outcomeId === request.outcomeId &&
    bet.currency === request.currency &&
    bet.stakeMinor === request.stakeMinor
  );
}

/** The bet engine's store. */
export type BetEngineStore = ReturnType<typeof createBetEngineStore>;
