/**
 * Voids: bets placed after a market's lock instant (the retroactive lock's late void) and every
 * bet of a voided market, each moving the live totals and appending BetVoided in the same
 * transaction.
 */
import type { SqlExecutor, SqlValue } from '@streambet/platform/sql/types';
import type { BetStatus, MarketView, VoidReason } from '../domain/bet.js';
import type { BetRecord } from '../proto-codec.js';
import type { BetEngineStoreDeps } from './index.js';
import { loadMarket, type MarketRecord } from './markets.js';
import { betFromRow } from './bets.js';
import { applyHeldDelta, applyLiveDelta, rebuildHeldStakes } from './odds.js';
import { appendVoidedEvents } from './events.js';

/** Voids the bets matching `where` (conditional on their status there) and returns them. */
export async function voidBetsIn(
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
  // In bet id order whatever plan the UPDATE took, so BetVoided events follow one order.
  return result.rows
    .map(betFromRow)
    .sort((a, b) => (a.betId < b.betId ? -1 : a.betId > b.betId ? 1 : 0));
}

/** Creates the void operations. */
export function createVoids(deps: BetEngineStoreDeps) {
  const { sql } = deps;
  return {
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
        await applyHeldDelta(tx, voided, -1n);
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
      // As the bets read now: on a resolved market an ACCEPTED row is WON, LOST or REFUNDED.
      const before = await tx.query(
        `SELECT bet_id, status FROM be_bets_resolved WHERE market_id = $1 AND status = ANY($2::text[])`,
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
      // A canceled market's stakes stay held for its refund; a void after resolution returns
      // every stake outside the resolution, so the market's held rows are recomputed.
      if (reason === 'MARKET_VOIDED') await rebuildHeldStakes(tx, market.marketId);
      await appendVoidedEvents(
        tx,
        voided.map((bet) => ({ bet, previousStatus: previous.get(bet.betId) ?? 'ACCEPTED' })),
        new Map([[market.marketId, market]]),
        { reason, releasedByEngine: false, lockEffectiveAtMs: 0, nowMs },
      );
      return voided;
    },
  };
}
