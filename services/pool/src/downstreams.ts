/**
 * The synchronous calls the pool makes to other services, as the contract describes them:
 * LockMarket asks the bet engine to void the bets placed after the lock instant
 * (BetEngineInternalService.VoidBetsAfter) so it can answer with the counts, and
 * VoidResolvedMarket asks settlement to reverse the payouts all-or-nothing
 * (SettlementInternalService.ReverseSettlement) before the void is committed. Connect errors of
 * those calls are translated to the pool's domain errors here, once.
 */
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import type { BetEngineInternalService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import type { SettlementInternalService } from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import {
  ConcurrencyError,
  IllegalStateError,
  UnavailableError,
} from '@streambet/platform/errors/domain-errors';

/** What the pool needs from the bet engine and settlement (both optional: see app.ts). */
export interface Downstreams {
  /** Voids the bets placed after the lock instant; resolves with what was voided. */
  voidBetsAfter?(
    marketId: string,
    lockEffectiveAtMs: number,
  ): Promise<{ voidedBetCount: bigint; voidedStakeMinor: bigint }>;
  /**
   * Reverses a market's settlement (every payout back, stakes refunded), all-or-nothing.
   * Throws IllegalStateError when a payout is no longer reversible, ConcurrencyError while the
   * settlement has not finished (retry shortly).
   */
  reverseSettlement?(marketId: string, reason: string, adminUserId: string): Promise<void>;
}

/** The bet engine's VoidBetsAfter through a platform client (deadline, breaker, credential). */
export function betEngineVoider(
  client: Client<typeof BetEngineInternalService>,
): Downstreams['voidBetsAfter'] {
  return async (marketId, lockEffectiveAtMs) => {
    const response = await client.voidBetsAfter({
      marketId,
      lockEffectiveAtMs: BigInt(lockEffectiveAtMs),
    });
    return { voidedBetCount: response.voidedBetCount, voidedStakeMinor: response.voidedStakeMinor };
  };
}

/** Settlement's ReverseSettlement through a platform client, its errors as domain errors. */
export function settlementReverser(
  client: Client<typeof SettlementInternalService>,
): Downstreams['reverseSettlement'] {
  return async (marketId, reason, adminUserId) => {
    try {
      await client.reverseSettlement({ marketId, reason, requestedByUserId: adminUserId });
    } catch (error) {
      const connectError = ConnectError.from(error);
      switch (connectError.code) {
        case Code.FailedPrecondition:
          throw new IllegalStateError(
            `the payouts cannot be reversed: ${connectError.rawMessage}`,
            {
              cause: error,
            },
          );
        case Code.Aborted:
        case Code.NotFound:
          throw new ConcurrencyError(
            `the settlement of market ${marketId} is not finished yet: retry shortly`,
            { cause: error },
          );
        default:
          throw new UnavailableError(
            'settlement could not reverse the payouts now: retry shortly',
            {
              cause: error,
            },
          );
      }
    }
  };
}
