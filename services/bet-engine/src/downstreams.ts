/**
 * The bet engine's synchronous dependencies, as narrow ports over their Connect clients:
 * the ledger (stake reservations with eligibility, releases, escrow accounts) and the pool's
 * betting rules (projection misses). Tests wire the real user-service implementations
 * behind an in-memory transport; nothing here is faked.
 */
import type { Client } from '@connectrpc/connect';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  ReservationOutcome,
  type UserInternalService,
} from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import {
  CreateAccountResultCode,
  TransferResultCode,
  type LedgerInternalService,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind,
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { IneligibilityReason } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import type { PoolInternalService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { NotFoundError, UnavailableError } from '@streambet/platform/errors/domain-errors';
import { escrowAccountId, voidTransferId, type Ineligibility } from './domain/bet.js';
import { kindFromProto, stateFromProto, type BetRecord } from './proto-codec.js';
import type { HoldOutcome, MarketDefinition } from './store/index.js';

/** What the ledger did with one release (VOID_PENDING) of a bet's hold. */
export type ReleaseOutcome = 'released' | 'already-gone' | 'failed';

/** The ledger as the bet engine uses it. */
export interface LedgerPort {
  /** Creates escrow accounts (idempotent); throws when the ledger cannot be reached or refuses. */
  createEscrows(markets: ReadonlyArray<{ marketId: string; currency: string }>): Promise<void>;
  /**
   * Reserves the stakes of PENDING bets with ONE ReserveStakes call: the user service checks
   * eligibility (freeze, exclusion, cool-off, age, KYC, loss limits) and takes each hold in one
   * transaction, idempotent by the hold's id. Throws when the outcome is unknown (unreachable,
   * deadline): the bets stay PENDING and are resubmitted later (same ids: the holds taken answer
   * as taken).
   */
  hold(bets: readonly BetRecord[]): Promise<HoldOutcome[]>;
  /** Available balances of accounts (missing accounts: absent), for rejection details. */
  available(accountIds: readonly string[]): Promise<Map<string, bigint>>;
  /** Releases (VOID_PENDING) the holds of the bets in ONE call; same failure rule as `hold`. */
  release(bets: readonly BetRecord[]): Promise<Map<string, ReleaseOutcome>>;
}

/** The pool's betting rules, for projection misses. */
export interface MarketSource {
  /** The market's definition, or undefined when the pool does not know it. */
  fetch(marketId: string): Promise<MarketDefinition | undefined>;
}

function unavailable(what: string, error: unknown): UnavailableError {
  return new UnavailableError(`${what} is unavailable; retry shortly`, { cause: error });
}

/**
 * The ledger port over LedgerInternalService, with stake holds taken through
 * UserInternalService.ReserveStakes (eligibility and hold in one user-service transaction).
 */
export function ledgerPort(
  client: Client<typeof LedgerInternalService>,
  users: Client<typeof UserInternalService>,
): LedgerPort {
  return {
    async createEscrows(markets) {
      if (markets.length === 0) return;
      let response;
      try {
        response = await client.createAccounts({
          accounts: markets.map((m) => ({
            accountId: escrowAccountId(m.marketId),
            kind: AccountKind.MARKET_ESCROW,
            currency: m.currency,
            ownerId: m.marketId,
          })),
        });
      } catch (error) {
        throw unavailable('the ledger', error);
      }
      for (const result of response.results) {
        if (
          result.code !== CreateAccountResultCode.OK &&
          result.code !== CreateAccountResultCode.ALREADY_EXISTS_SAME
        ) {
          throw new Error(
            `ledger refused escrow ${result.accountId}: ${CreateAccountResultCode[result.code]}`,
          );
        }
      }
    },
    async hold(bets) {
      if (bets.length === 0) return [];
      const response = await users.reserveStakes({
        reservations: bets.map((bet) => ({
          userId: bet.userId,
          holdTransferId: bet.holdTransferId,
          marketId: bet.marketId,
          betId: bet.betId,
          stake: { amountMinor: bet.stakeMinor, currency: bet.currency },
          timeoutSeconds: BigInt(bet.holdTimeoutSeconds),
        })),
      });
      return bets.map((bet, index): HoldOutcome => {
        const result = response.results[index];
        switch (result?.outcome) {
          case ReservationOutcome.RESERVED:
            return { betId: bet.betId, result: 'held' };
          case ReservationOutcome.INSUFFICIENT_FUNDS:
            return { betId: bet.betId, result: 'no-funds', availableMinor: result.availableMinor };
          case ReservationOutcome.INELIGIBLE:
            return {
              betId: bet.betId,
              result: 'ineligible',
              reasons: (result.eligibility?.reasons ?? []).map((r) => ({
                reason: ineligibility[r.reason] ?? 'OTHER',
                untilMs: Number(r.untilMs),
                remainingMinor: r.remaining?.amountMinor,
              })),
            };
          case ReservationOutcome.USER_NOT_FOUND:
            return {
              betId: bet.betId,
              result: 'ineligible',
              reasons: [{ reason: 'ACCOUNT_FROZEN', untilMs: 0, remainingMinor: undefined }],
            };
          default:
            return { betId: bet.betId, result: 'failed' };
        }
      });
    },
    async available(accountIds) {
      if (accountIds.length === 0) return new Map();
      const response = await client.getAccountBalances({ accountIds: [...new Set(accountIds)] });
      return new Map(response.balances.map((b) => [b.accountId, b.availableMinor]));
    },
    async release(bets) {
      const outcomes = new Map<string, ReleaseOutcome>();
      if (bets.length === 0) return outcomes;
      const response = await client.submitTransfers({
        commands: bets.map((bet) => ({
          transferId: voidTransferId(bet.betId),
          kind: TransferKind.VOID_PENDING,
          pendingId: bet.holdTransferId,
          amountMinor: 0n,
          currency: bet.currency,
          code: TransferCode.BET_STAKE,
          marketId: bet.marketId,
          betId: bet.betId,
        })),
      });
      bets.forEach((bet, index) => {
        const code = response.results[index]?.code ?? TransferResultCode.UNSPECIFIED;
        outcomes.set(
          bet.betId,
          code === TransferResultCode.OK || code === TransferResultCode.ALREADY_EXISTS_SAME
            ? 'released'
            : code === TransferResultCode.PENDING_EXPIRED ||
                code === TransferResultCode.PENDING_ALREADY_RESOLVED
              ? 'already-gone'
              : 'failed',
        );
      });
      return outcomes;
    },
  };
}

const ineligibility: Readonly<Partial<Record<IneligibilityReason, Ineligibility['reason']>>> = {
  [IneligibilityReason.ACCOUNT_FROZEN]: 'ACCOUNT_FROZEN',
  [IneligibilityReason.SELF_EXCLUDED]: 'SELF_EXCLUDED',
  [IneligibilityReason.COOLING_OFF]: 'COOLING_OFF',
  [IneligibilityReason.UNDER_AGE]: 'UNDER_AGE',
  [IneligibilityReason.KYC_REQUIRED]: 'KYC_REQUIRED',
  [IneligibilityReason.LOSS_LIMIT_EXCEEDED]: 'LOSS_LIMIT_EXCEEDED',
};

/** The market source over PoolInternalService.GetMarketForBetting. */
export function poolMarketSource(client: Client<typeof PoolInternalService>): MarketSource {
  return {
    async fetch(marketId) {
      let response;
      try {
        response = await client.getMarketForBetting({ marketId });
      } catch (error) {
        if (ConnectError.from(error).code === Code.NotFound) return undefined;
        throw unavailable('the pool service', error);
      }
      const rules = response.rules;
      const kind = rules === undefined ? undefined : kindFromProto(rules.kind);
      const state = rules === undefined ? undefined : stateFromProto(rules.state);
      if (rules === undefined || kind === undefined || state === undefined) {
        throw new NotFoundError(`market ${marketId} has no betting rules`);
      }
      return {
        marketId: rules.marketId,
        channelId: rules.channelId,
        channelOwnerUserId: rules.channelOwnerUserId,
        title: '',
        kind,
        currency: rules.currency,
        outcomes: rules.outcomeIds.map((outcomeId) => ({ outcomeId, title: '' })),
        minStakeMinor: rules.stakeLimits?.minStakeMinor ?? 0n,
        maxStakePerBetMinor: rules.stakeLimits?.maxStakePerBetMinor ?? 0n,
        maxStakePerUserMinor: rules.stakeLimits?.maxStakePerUserMinor ?? 0n,
        commissionBps: rules.commissionBps,
        state,
        bettingClosesAtMs: Number(rules.bettingClosesAtMs),
        lockEffectiveAtMs: Number(rules.lockEffectiveAtMs),
        marketVersion: Number(rules.version),
      };
    },
  };
}
