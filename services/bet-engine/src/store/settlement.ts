/**
 * Settlement and refunds as the settlement service reports them: each bet's payout and net profit,
 * or its stake returned.
 */
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { poolPayoutMinor } from '../domain/bet.js';
import { betFromRow } from './bets.js';

/** Creates the settlement and refund writes. */
export function createSettlementStore() {
  return {
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
  };
}
