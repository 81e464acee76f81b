/**
 * The settlement service's view of the services it calls, as narrow ports the runner depends on,
 * with their Connect adapters: the bet engine's ListMarketBets (the bets to settle), the user
 * service's ledger (the only way money moves) and the pool's GetMarketForSettlement (terms a run
 * was recorded without).
 */
import { quoteInput } from '@streambet/platform/errors/quote-input';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import type { BetEngineInternalService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  MarketState,
  type PoolInternalService,
  type PoolService,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  CreateAccountResultCode,
  HoldAction,
  TransferCommandSchema,
  TransferResultCode,
  type LedgerInternalService,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  AccountKind,
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { NotFoundError } from '@streambet/platform/errors/domain-errors';
import type { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { accounts, type LedgerCommand, type SettlementBet } from './domain/settlement.js';
import type { MarketTerms } from './store.js';
import type { FinishedMarketSource } from './sweeper.js';

/** One streamed batch of a market's bets, in bet_id order. */
export interface BetBatch {
  readonly bets: readonly SettlementBet[];
  readonly currency: string;
  readonly kind: MarketKind;
}

/** Where a run reads a market's bets (the bet engine). */
export interface BetSource {
  /** Every bet after `afterBetId` ('' = all) in bet_id order; UNAVAILABLE while bets are pending. */
  list(marketId: string, afterBetId: string): AsyncIterable<BetBatch>;
}

/** Correlation every settlement transfer carries. */
export interface LedgerContext {
  readonly marketId: string;
  readonly settlementId: string;
  readonly currency: string;
}

/** One command's outcome: committed (now or before) or refused with the ledger's reason. */
export interface LedgerOutcome {
  readonly transferId: string;
  readonly committed: boolean;
  /** The ledger's result code name and detail, for errors and logs. */
  readonly detail: string;
}

/** The four running totals of a ledger account, minor units. */
export interface LedgerBalance {
  readonly debitsPending: bigint;
  readonly debitsPosted: bigint;
  readonly creditsPending: bigint;
  readonly creditsPosted: bigint;
}

/** One page of {@link SettlementLedger.resolveMarketHolds}. */
export interface MarketHoldsPage {
  readonly marketId: string;
  readonly action: 'POST_IN_FULL' | 'VOID';
  readonly settlementId: string;
  /** Resume after this hold id; '' for the first page. */
  readonly afterHoldId: string;
  /** 1–10000 holds in this call. */
  readonly maxHolds: number;
}

/** What one page resolved (ResolveMarketHoldsResponse). */
export interface MarketHoldsPageResult {
  readonly resolvedCount: number;
  readonly resolvedAmountMinor: bigint;
  readonly expiredCount: number;
  readonly alreadyResolvedCount: number;
  readonly failedCount: number;
  /** The first refusal (transfer id, result code name, detail), when failedCount > 0. */
  readonly firstFailure: string;
  /** Cursor of the next page; '' when this page was the last. */
  readonly nextAfterHoldId: string;
}

/** The ledger operations a settlement needs. */
export interface SettlementLedger {
  /**
   * Posts in full or voids one page of the market's open holds in the ledger (ResolveMarketHolds:
   * one transaction, derived transfer ids, safe to retry from any earlier cursor).
   */
  resolveMarketHolds(page: MarketHoldsPage): Promise<MarketHoldsPageResult>;
  /** The four totals of each existing account among `accountIds` (≤ 1000). */
  balances(accountIds: readonly string[]): Promise<Map<string, LedgerBalance>>;
  /** Submits ≤ 1000 commands in order; one outcome per command. */
  submit(commands: readonly LedgerCommand[], context: LedgerContext): Promise<LedgerOutcome[]>;
  /** Creates the streamer's revenue account, and the rake and house accounts, if missing (idempotent). */
  ensureStreamerRevenueAccount(userId: string, currency: string): Promise<void>;
  /** Available balance of each existing account among `accountIds` (≤ 1000). */
  available(accountIds: readonly string[]): Promise<Map<string, bigint>>;
  /** Which of `transferIds` (≤ 1000) are committed. */
  existing(transferIds: readonly string[]): Promise<Set<string>>;
}

/** A market's terms plus its outcome, as the pool reports it. */
export interface MarketOutcome extends MarketTerms {
  readonly canceled: boolean;
  readonly winningOutcomeId: string;
}

/** Where a run fetches terms it was recorded without (the pool). */
export interface TermsSource {
  get(marketId: string): Promise<MarketOutcome>;
}

/**
 * Bets from BetEngineInternalService.ListMarketBets (a server stream), in batches of
 * `batchSize` (default: the largest the bet engine accepts, 5000: fewest messages).
 */
export function betSourceFromClient(
  client: Client<typeof BetEngineInternalService>,
  batchSize = 5000,
): BetSource {
  return {
    async *list(marketId, afterBetId) {
      for await (const response of client.listMarketBets({ marketId, afterBetId, batchSize })) {
        // The decoded MarketBets are SettlementBets already (bet, user, outcome, stake): no copy.
        yield { currency: response.currency, kind: response.kind, bets: response.bets };
      }
    },
  };
}

const kindToProto = {
  SINGLE_PHASE: TransferKind.SINGLE_PHASE,
  POST_PENDING: TransferKind.POST_PENDING,
  VOID_PENDING: TransferKind.VOID_PENDING,
} as const;

const codeToProto = {
  BET_STAKE: TransferCode.BET_STAKE,
  PAYOUT: TransferCode.PAYOUT,
  COMMISSION: TransferCode.COMMISSION,
  STREAMER_SHARE: TransferCode.STREAMER_SHARE,
  BREAKAGE: TransferCode.BREAKAGE,
  REFUND: TransferCode.REFUND,
  PAYOUT_REVERSAL: TransferCode.PAYOUT_REVERSAL,
} as const;

/** The ledger through LedgerInternalService. */
export function ledgerFromClient(client: Client<typeof LedgerInternalService>): SettlementLedger {
  return {
    async submit(commands, context) {
      const response = await client.submitTransfers({
        commands: commands.map((command) =>
          create(TransferCommandSchema, {
            transferId: command.transferId,
            kind: kindToProto[command.kind],
            debitAccountId: command.debitAccountId,
            creditAccountId: command.creditAccountId,
            amountMinor: command.amountMinor,
            currency: context.currency,
            pendingId: command.pendingId,
            linked: command.linked,
            code: codeToProto[command.code],
            marketId: context.marketId,
            betId: command.betId,
            settlementId: context.settlementId,
          }),
        ),
      });
      return response.results.map((result) => ({
        transferId: result.transferId,
        committed:
          result.code === TransferResultCode.OK ||
          result.code === TransferResultCode.ALREADY_EXISTS_SAME,
        detail: `${TransferResultCode[result.code] ?? result.code}${result.detail ? `: ${result.detail}` : ''}`,
      }));
    },
    async ensureStreamerRevenueAccount(userId, currency) {
      // The accounts money leaves escrow for: the streamer's revenue and the system accounts
      // rake and house (a deployment's first settlement in a currency may find them missing).
      const wanted = [
        {
          accountId: accounts.streamerRevenue(userId, currency),
          kind: AccountKind.STREAMER_REVENUE,
          currency,
          ownerId: userId,
        },
        { accountId: accounts.rake(currency), kind: AccountKind.RAKE, currency, ownerId: '' },
        { accountId: accounts.house(currency), kind: AccountKind.HOUSE, currency, ownerId: '' },
      ];
      const response = await client.createAccounts({ accounts: wanted });
      for (const [index, account] of wanted.entries()) {
        const result = response.results[index];
        // OK and ALREADY_EXISTS_SAME both leave the account in place; anything else cannot be paid.
        if (
          result === undefined ||
          (result.code !== CreateAccountResultCode.OK &&
            result.code !== CreateAccountResultCode.ALREADY_EXISTS_SAME)
        ) {
          throw new ConnectError(
            `cannot create the ledger account ${account.accountId} (result ${result?.code ?? 'missing'})`,
            Code.FailedPrecondition,
          );
        }
      }
    },
    async resolveMarketHolds(page) {
      const response = await client.resolveMarketHolds({
        marketId: page.marketId,
        action: page.action === 'VOID' ? HoldAction.VOID : HoldAction.POST_IN_FULL,
        settlementId: page.settlementId,
        code: TransferCode.BET_STAKE,
        afterHoldId: page.afterHoldId,
        maxHolds: page.maxHolds,
      });
      const first = response.failures[0];
      return {
        resolvedCount: response.resolvedCount,
        resolvedAmountMinor: response.resolvedAmountMinor,
        expiredCount: response.expiredCount,
        alreadyResolvedCount: response.alreadyResolvedCount,
        failedCount: response.failedCount,
        firstFailure:
          first === undefined
            ? ''
            : `${first.transferId}: ${TransferResultCode[first.code] ?? first.code}${first.detail ? `: ${first.detail}` : ''}`,
        nextAfterHoldId: response.nextAfterHoldId,
      };
    },
    async balances(accountIds) {
      const response = await client.lookupAccounts({ accountIds: [...accountIds] });
      return new Map(
        response.accounts.map((account) => [
          account.accountId,
          {
            debitsPending: account.balance?.debitsPendingMinor ?? 0n,
            debitsPosted: account.balance?.debitsPostedMinor ?? 0n,
            creditsPending: account.balance?.creditsPendingMinor ?? 0n,
            creditsPosted: account.balance?.creditsPostedMinor ?? 0n,
          },
        ]),
      );
    },
    async available(accountIds) {
      const response = await client.getAccountBalances({ accountIds: [...accountIds] });
      return new Map(response.balances.map((b) => [b.accountId, b.availableMinor]));
    },
    async existing(transferIds) {
      const response = await client.lookupTransfers({ transferIds: [...transferIds] });
      return new Set(response.transfers.map((t) => t.transferId));
    },
  };
}

/** Terms from PoolInternalService.GetMarketForSettlement. */
export function termsFromClient(client: Client<typeof PoolInternalService>): TermsSource {
  return {
    async get(marketId) {
      const market = await client.getMarketForSettlement({ marketId });
      if (market.marketId === '')
        throw new NotFoundError(`the pool does not know market ${quoteInput(marketId)}`);
      return {
        marketId,
        channelId: market.channelId,
        kind: market.kind,
        currency: market.currency,
        outcomeIds: market.outcomeIds,
        commissionBps: market.commissionBps,
        streamerShareBps: market.streamerRevenueShareBps,
        streamerUserId: market.streamerUserId,
        canceled: market.state === MarketState.CANCELED && market.resolvedAtMs === 0n,
        winningOutcomeId: market.winningOutcomeId,
      };
    },
  };
}

/** Resolved and canceled markets of every channel from PoolService.ListMarkets (see sweeper.ts). */
export function finishedMarketsFromClient(
  client: Client<typeof PoolService>,
  pageSize = 200,
): FinishedMarketSource {
  return {
    async list(pageToken) {
      const response = await client.listMarkets({
        channelId: '',
        states: [MarketState.RESOLVED, MarketState.CANCELED],
        page: { pageSize, pageToken },
      });
      return {
        markets: response.markets.map((market) => ({
          marketId: market.marketId,
          kind: market.kind,
          createdAtMs: Number(market.createdAtMs),
          finishedAtMs: Math.max(
            Number(market.resolvedAtMs),
            Number(market.canceledAtMs),
            Number(market.voidedAtMs),
          ),
          voided: market.voidedAtMs !== 0n,
        })),
        nextPageToken: response.page?.nextPageToken ?? '',
      };
    },
  };
}
