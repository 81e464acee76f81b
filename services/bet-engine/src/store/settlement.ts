/**
 * A market's resolution (issue 12): one record per market saying how its bets resolve (payout or
 * refund, with the pool's figures) and one row per user with their aggregates, both written in
 * one transaction by set-based SQL over the market's bets. No bet row is rewritten: each bet's
 * result and payout are derived from the record on read (the view `be_bets_resolved`, migration
 * 0010), so from the commit on every read shows every bet settled.
 */
import {
  decidePoolSettlement,
  type PoolRefundReason,
  type PoolSettlementDecision,
} from '@streambet/parimutuel/settlement';
import { IllegalStateError, UnavailableError } from '@streambet/platform/errors/domain-errors';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { BetEngineStoreDeps } from './index.js';
import { loadMarket } from './markets.js';

/** What a settlement asks the bet engine to record for a market. */
export interface ResolutionRequest {
  readonly marketId: string;
  readonly settlementId: string;
  /** Canceled before resolution: every stake is returned. */
  readonly canceled: boolean;
  /** The winner; ignored when canceled. */
  readonly winningOutcomeId: string;
  readonly commissionBps: number;
  readonly streamerShareBps: number;
}

/** A market's resolution as recorded (be_market_resolutions). Amounts in minor units. */
export interface MarketResolutionRecord {
  readonly marketId: string;
  readonly settlementId: string;
  readonly kind: 'PAYOUT' | 'REFUND';
  /** Why stakes are returned; null for PAYOUT. */
  readonly refundReason: PoolRefundReason | null;
  /** '' when canceled. */
  readonly winningOutcomeId: string;
  readonly currency: string;
  readonly commissionBps: number;
  readonly streamerShareBps: number;
  readonly totalStakedMinor: bigint;
  readonly winningStakedMinor: bigint;
  readonly commissionMinor: bigint;
  readonly streamerShareMinor: bigint;
  readonly distributableMinor: bigint;
  readonly breakageMinor: bigint;
  readonly payoutTotalMinor: bigint;
  readonly betCount: bigint;
  readonly userCount: bigint;
  readonly winnerCount: bigint;
  readonly resolvedAtMs: number;
}

/** A settlement the settlement service announced (SettlementCompleted or MarketRefunded). */
export type SettledMarket = Omit<MarketResolutionRecord, 'settlementId' | 'kind' | 'currency'>;

/** One user's aggregate on a resolved market (be_resolution_users). */
export interface UserResolution {
  readonly userId: string;
  readonly betCount: bigint;
  readonly stakedMinor: bigint;
  readonly payoutMinor: bigint;
}

type Row = Record<string, unknown>;
const big = (value: unknown): bigint => BigInt(value as bigint | number | string);

function resolutionFromRow(row: Row): MarketResolutionRecord {
  const reason = row.refund_reason as string;
  return {
    marketId: row.market_id as string,
    settlementId: row.settlement_id as string,
    kind: row.kind as 'PAYOUT' | 'REFUND',
    refundReason: reason === '' ? null : (reason as PoolRefundReason),
    winningOutcomeId: row.winning_outcome_id as string,
    currency: row.currency as string,
    commissionBps: Number(row.commission_bps),
    streamerShareBps: Number(row.streamer_share_bps),
    totalStakedMinor: big(row.total_staked_minor),
    winningStakedMinor: big(row.winning_staked_minor),
    commissionMinor: big(row.commission_minor),
    streamerShareMinor: big(row.streamer_share_minor),
    distributableMinor: big(row.distributable_minor),
    breakageMinor: big(row.breakage_minor),
    payoutTotalMinor: big(row.payout_total_minor),
    betCount: big(row.bet_count),
    userCount: big(row.user_count),
    winnerCount: big(row.winner_count),
    resolvedAtMs: Number(row.resolved_at_ms),
  };
}

/**
 * The bets a resolution settles: those whose hold the ledger still has. ACCEPTED bets, and for a
 * canceled market also the bets voided with it (their holds wait for the refund). `$2` is the
 * canceled flag.
 */
const SETTLED_BETS = `b.market_id = $1 AND (b.status = 'ACCEPTED' OR ($2::boolean
  AND b.status = 'VOIDED' AND b.void_reason = 'MARKET_CANCELED' AND b.payout_minor = 0))`;

/** Same resolution: the winner (or the cancel) agrees; the settlement id does not matter. */
function sameResolution(record: MarketResolutionRecord, request: ResolutionRequest): boolean {
  if (request.canceled) return record.refundReason === 'MARKET_CANCELED';
  return (
    record.refundReason !== 'MARKET_CANCELED' &&
    record.winningOutcomeId === request.winningOutcomeId
  );
}

/**
 * Every user's row of a resolution from the held stakes (migration 0020) in one INSERT … SELECT:
 * bet count and stake per user from their (market, user, outcome) rows; the payout of a refund is
 * the stake, and of a payout Σ over the user's winning bets of s + floor(s × D / P_w), each bet's
 * floor taken on its own (product.md) from the partial covering index of ACCEPTED bets by outcome
 * (an index-only scan of the winning outcome; no per-user sum can stand in for it, since the floor
 * of a sum is not the sum of floors). Throws if the winning bets read that way do not add up to the
 * held P_w: the two must describe the same bets.
 */
async function insertUsersFromHeld(
  tx: SqlExecutor,
  marketId: string,
  payout: boolean,
  winningOutcomeId: string,
  pool: { readonly distributableMinor: bigint; readonly winningStakedMinor: bigint },
): Promise<void> {
  if (!payout) {
    await tx.query(
      `INSERT INTO be_resolution_users (market_id, user_id, bet_count, staked_minor, payout_minor)
       SELECT $1, user_id, sum(bet_count)::bigint, sum(staked_minor)::bigint, sum(staked_minor)::bigint
       FROM be_user_outcome_stakes WHERE market_id = $1
       GROUP BY user_id HAVING sum(bet_count) > 0`,
      [marketId],
    );
    return;
  }
  const result = await tx.query<{ winning_staked: unknown }>(
    `WITH won AS (
       SELECT b.user_id, sum(b.stake_minor)::bigint AS staked,
         sum(be_pool_bet_payout('PAYOUT', b.stake_minor, b.outcome_id, $2, $3::bigint, $4::bigint))::bigint AS payout
       FROM be_bets b WHERE b.market_id = $1 AND b.outcome_id = $2 AND b.status = 'ACCEPTED'
       GROUP BY b.user_id
     ), written AS (
       INSERT INTO be_resolution_users (market_id, user_id, bet_count, staked_minor, payout_minor)
       SELECT $1, a.user_id, a.bets, a.staked, coalesce(won.payout, 0)
       FROM (SELECT user_id, sum(bet_count)::bigint AS bets, sum(staked_minor)::bigint AS staked
             FROM be_user_outcome_stakes WHERE market_id = $1
             GROUP BY user_id HAVING sum(bet_count) > 0) a
       LEFT JOIN won ON won.user_id = a.user_id
     )
     SELECT coalesce(sum(staked), 0)::bigint AS winning_staked FROM won`,
    [marketId, winningOutcomeId, pool.distributableMinor, pool.winningStakedMinor],
  );
  const winningStakedMinor = big(result.rows[0]!.winning_staked);
  if (winningStakedMinor !== pool.winningStakedMinor) {
    throw new IllegalStateError(
      `market ${marketId}: the winning bets add up to ${winningStakedMinor} but the held stakes say ${pool.winningStakedMinor}; nothing was recorded`,
    );
  }
}

/** Creates the resolution reads and writes. */
export function createSettlementStore(deps: BetEngineStoreDeps) {
  async function getResolution(
    tx: SqlExecutor,
    marketId: string,
  ): Promise<MarketResolutionRecord | undefined> {
    const result = await tx.query<Row>('SELECT * FROM be_market_resolutions WHERE market_id = $1', [
      marketId,
    ]);
    const row = result.rows[0];
    return row === undefined ? undefined : resolutionFromRow(row);
  }

  /**
   * Records the resolution of a POOL market in `tx` (the caller holds the market row's lock and
   * checked that no bet is pending): decides payout or refund from the totals of the settled bets
   * (packages/parimutuel), writes every user's aggregate in one INSERT … SELECT … GROUP BY, then
   * the record with the breakage those aggregates imply, and checks Σ payouts + C + B = T. A market
   * already resolved the same way returns its record unchanged; resolved differently, it throws
   * IllegalStateError (FAILED_PRECONDITION).
   */
  async function recordResolution(
    tx: SqlExecutor,
    request: ResolutionRequest,
    market: { readonly currency: string; readonly state: string },
    nowMs: number,
  ): Promise<MarketResolutionRecord> {
    const existing = await getResolution(tx, request.marketId);
    if (existing !== undefined) {
      if (!sameResolution(existing, request)) {
        throw new IllegalStateError(
          `market ${request.marketId} was already resolved ${existing.refundReason === 'MARKET_CANCELED' ? 'as canceled' : `with winner ${existing.winningOutcomeId || '(none)'}`}; it cannot be resolved again differently`,
        );
      }
      return existing;
    }
    const outcomes = await tx.query<{ outcome_id: string }>(
      'SELECT outcome_id FROM be_outcome_totals WHERE market_id = $1 ORDER BY position',
      [request.marketId],
    );
    // The held stakes (migration 0020) are exactly the settled bets unless a market canceled in
    // the bet engine is resolved with a winner (no lifecycle does that; then the bets are read).
    const fromHeld = request.canceled || market.state !== 'CANCELED';
    const totals = await tx.query<{ outcome_id: string; staked: unknown; bets: unknown }>(
      fromHeld
        ? `SELECT outcome_id, sum(staked_minor)::bigint AS staked, sum(bet_count)::bigint AS bets
           FROM be_user_outcome_stakes WHERE market_id = $1 AND bet_count > 0 GROUP BY outcome_id`
        : `SELECT b.outcome_id, sum(b.stake_minor)::bigint AS staked, count(*) AS bets
           FROM be_bets b WHERE ${SETTLED_BETS} GROUP BY b.outcome_id`,
      fromHeld ? [request.marketId] : [request.marketId, request.canceled],
    );
    const stakedByOutcome = new Map<string, bigint>();
    for (const row of outcomes.rows) stakedByOutcome.set(row.outcome_id, 0n);
    let totalStakedMinor = 0n;
    let betCount = 0;
    for (const row of totals.rows) {
      stakedByOutcome.set(row.outcome_id, big(row.staked));
      totalStakedMinor += big(row.staked);
      betCount += Number(row.bets);
    }
    const decision: PoolSettlementDecision = decidePoolSettlement(
      { totalStakedMinor, stakedByOutcome, betCount },
      {
        outcomeIds: [...stakedByOutcome.keys()],
        winningOutcomeId: request.canceled ? null : request.winningOutcomeId,
        commissionBps: request.commissionBps,
        streamerShareBps: request.streamerShareBps,
      },
    );
    const payout = decision.kind === 'PAYOUT';
    const distributableMinor = payout ? decision.distributableMinor : 0n;
    const winningOutcomeId = decision.winningOutcomeId ?? '';
    if (fromHeld) {
      await insertUsersFromHeld(tx, request.marketId, payout, winningOutcomeId, {
        distributableMinor,
        winningStakedMinor: decision.winningStakedMinor,
      });
    } else {
      await tx.query(
        `INSERT INTO be_resolution_users (market_id, user_id, bet_count, staked_minor, payout_minor)
         SELECT $1, b.user_id, count(*), sum(b.stake_minor)::bigint,
           sum(be_pool_bet_payout($3, b.stake_minor, b.outcome_id, $4, $5::bigint, $6::bigint))::bigint
         FROM be_bets b WHERE ${SETTLED_BETS} GROUP BY b.user_id`,
        [
          request.marketId,
          request.canceled,
          decision.kind,
          winningOutcomeId,
          distributableMinor,
          decision.winningStakedMinor,
        ],
      );
    }
    const sums = await tx.query<Row>(
      `SELECT count(*) AS users, coalesce(sum(payout_minor), 0)::bigint AS payout_total,
         count(*) FILTER (WHERE payout_minor > staked_minor) AS winners,
         coalesce(sum(bet_count), 0)::bigint AS bets
       FROM be_resolution_users WHERE market_id = $1`,
      [request.marketId],
    );
    const s = sums.rows[0]!;
    const payoutTotalMinor = big(s.payout_total);
    const commissionMinor = payout ? decision.commissionMinor : 0n;
    // Σ payouts = P_w + Σ floor(s × D / P_w), so B = D − (Σ payouts − P_w).
    const breakageMinor = payout
      ? distributableMinor - (payoutTotalMinor - decision.winningStakedMinor)
      : 0n;
    if (
      payoutTotalMinor + commissionMinor + breakageMinor !== totalStakedMinor ||
      breakageMinor < 0n ||
      big(s.bets) !== BigInt(betCount)
    ) {
      throw new IllegalStateError(
        `the resolution of market ${request.marketId} does not add up: payouts ${payoutTotalMinor} + commission ${commissionMinor} + breakage ${breakageMinor} ≠ staked ${totalStakedMinor}; nothing was recorded`,
      );
    }
    const inserted = await tx.query<Row>(
      `INSERT INTO be_market_resolutions (market_id, settlement_id, kind, refund_reason,
         winning_outcome_id, currency, commission_bps, streamer_share_bps, total_staked_minor,
         winning_staked_minor, commission_minor, streamer_share_minor, distributable_minor,
         breakage_minor, payout_total_minor, bet_count, user_count, winner_count, resolved_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
       RETURNING *`,
      [
        request.marketId,
        request.settlementId,
        decision.kind,
        decision.kind === 'REFUND' ? decision.reason : '',
        winningOutcomeId,
        market.currency,
        request.commissionBps,
        request.streamerShareBps,
        totalStakedMinor,
        decision.winningStakedMinor,
        commissionMinor,
        payout ? decision.streamerShareMinor : 0n,
        distributableMinor,
        breakageMinor,
        payoutTotalMinor,
        BigInt(betCount),
        big(s.users),
        big(s.winners),
        BigInt(nowMs),
      ],
    );
    return resolutionFromRow(inserted.rows[0]!);
  }

  return {
    getResolution,

    /**
     * ResolveMarketBets' write, in one transaction: locks the market row (placements and voids of
     * the market wait), refuses while bets are pending or late voids are in progress
     * (UnavailableError: retry), then records the resolution (or returns the one recorded).
     */
    async resolveMarket(
      request: ResolutionRequest,
      nowMs: number,
    ): Promise<MarketResolutionRecord> {
      return deps.sql.transaction(async (tx) => {
        const market = await loadMarket(tx, request.marketId, ' FOR UPDATE');
        if (market === undefined)
          throw new IllegalStateError(`market ${request.marketId} vanished`);
        const recorded = await getResolution(tx, request.marketId);
        if (recorded === undefined) {
          const pending = await tx.query(
            `SELECT 1 FROM be_bets WHERE market_id = $1 AND status = 'PENDING' LIMIT 1`,
            [request.marketId],
          );
          if (market.lateVoidPending || pending.rows.length > 0) {
            throw new UnavailableError(
              `bets of market ${request.marketId} are still being confirmed or voided; retry shortly`,
              { retryAfterMs: 1000 },
            );
          }
        }
        return recordResolution(tx, request, market, nowMs);
      });
    },

    /** The recorded resolution of a market, if any. */
    async resolutionOf(marketId: string): Promise<MarketResolutionRecord | undefined> {
      return getResolution(deps.sql, marketId);
    },

    /** One page of a resolved market's users after `afterUserId`, by user id. */
    async resolutionUsers(
      tx: SqlExecutor,
      marketId: string,
      afterUserId: string,
      limit: number,
    ): Promise<UserResolution[]> {
      const result = await tx.query<Row>(
        `SELECT user_id, bet_count, staked_minor, payout_minor FROM be_resolution_users
         WHERE market_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`,
        [marketId, afterUserId, limit],
      );
      return result.rows.map((row) => ({
        userId: row.user_id as string,
        betCount: big(row.bet_count),
        stakedMinor: big(row.staked_minor),
        payoutMinor: big(row.payout_minor),
      }));
    },

    /**
     * SettlementCompleted / MarketRefunded from settlement, in `tx`: records the market's
     * resolution with the settlement's own figures if ResolveMarketBets did not record it already
     * (a run on the old path); bets are then derived from it, none rewritten. Returns true if it
     * was recorded now.
     */
    async applySettlementEvent(tx: SqlExecutor, event: SettledMarket): Promise<boolean> {
      if ((await getResolution(tx, event.marketId)) !== undefined) return false;
      const market = await tx.query<{ currency: string; kind: string }>(
        'SELECT currency, kind FROM be_markets WHERE market_id = $1 FOR UPDATE',
        [event.marketId],
      );
      const row = market.rows[0];
      if (row === undefined || row.kind !== 'POOL') return false;
      const result = await tx.query(
        `INSERT INTO be_market_resolutions (market_id, settlement_id, kind, refund_reason,
           winning_outcome_id, currency, commission_bps, streamer_share_bps, total_staked_minor,
           winning_staked_minor, commission_minor, streamer_share_minor, distributable_minor,
           breakage_minor, payout_total_minor, bet_count, user_count, winner_count, resolved_at_ms)
         VALUES ($1, '', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (market_id) DO NOTHING`,
        [
          event.marketId,
          event.refundReason === null ? 'PAYOUT' : 'REFUND',
          event.refundReason ?? '',
          event.winningOutcomeId,
          row.currency,
          event.commissionBps,
          event.streamerShareBps,
          event.totalStakedMinor,
          event.winningStakedMinor,
          event.commissionMinor,
          event.streamerShareMinor,
          event.distributableMinor,
          event.breakageMinor,
          event.payoutTotalMinor,
          event.betCount,
          event.userCount,
          event.winnerCount,
          BigInt(event.resolvedAtMs),
        ],
      );
      return result.rowCount > 0;
    },
  };
}
