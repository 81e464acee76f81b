/**
 * The settlement service's view of the services it calls, as narrow ports the runner depends on,
 * with their Connect adapters: the bet engine's ResolveMarketBets (the market's resolution and
 * every user's result, computed where the bets live), the user service's ledger (the only way
 * money moves) and the pool's GetMarketForSettlement (terms a run was recorded without).
 */
import { quoteInput } from '@streambet/platform/errors/quote-input';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import {
  MarketResolutionKind,
  ResolutionRefundReason,
  type BetEngineInternalService,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
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
  PendingStatus,
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { NotFoundError } from '@streambet/platform/errors/domain-errors';
import {
  accounts,
  type LedgerCode,
  type LedgerCommand,
  type RefundReason,
} from './domain/settlement.js';
import type { MarketTerms } from './store.js';
import type { FinishedMarketSource } from './sweeper.js';

/** What a run asks the bet engine to record for its market. */
export interface ResolutionRequest {
  readonly marketId: string;
  readonly settlementId: string;
  readonly canceled: boolean;
  readonly winningOutcomeId: string;
  readonly commissionBps: number;
  readonly streamerShareBps: number;
}

/** One user's result on the market: Σ stakes and Σ of their bets' payouts. */
export interface UserResult {
  readonly userId: string;
  readonly betCount: bigint;
  readonly stakedMinor: bigint;
  readonly payoutMinor: bigint;
}

/** The market's resolution as the bet engine recorded it, with every user's result. */
export interface ResolvedMarket {
  readonly currency: string;
  /** Null: winners are paid; else why every stake is returned. */
  readonly refundReason: RefundReason | null;
  readonly totalStakedMinor: bigint;
  readonly winningStakedMinor: bigint;
  readonly losingStakedMinor: bigint;
  readonly commissionMinor: bigint;
  readonly streamerShareMinor: bigint;
  readonly rakeMinor: bigint;
  readonly distributableMinor: bigint;
  readonly breakageMinor: bigint;
  readonly payoutTotalMinor: bigint;
  readonly betCount: bigint;
  readonly winnerCount: bigint;
  /** Every user with a bet resolved, in user id order. */
  readonly users: readonly UserResult[];
}

/** Where a run gets its market's resolution (the bet engine). */
export interface BetSource {
  /**
   * Records the market's resolution in the bet engine (idempotent per market) and returns it with
   * every user's result; UNAVAILABLE while bets are pending.
   */
  resolve(request: ResolutionRequest): Promise<ResolvedMarket>;
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

/** ResolveMarket: the market's open holds posted in full or voided with one resolution record. */
export interface MarketResolutionCall {
  readonly marketId: string;
  readonly settlementId: string;
  readonly action: 'POST_IN_FULL' | 'VOID';
  /** The open holds must total this (the stakes the bet engine counted); 0 = no check. */
  readonly expectedOpenAmountMinor: bigint;
}

/** What ResolveMarket did (the first call's answer for a replay). */
export interface MarketResolutionResult {
  readonly resolvedCount: number;
  readonly resolvedAmountMinor: bigint;
  readonly expiredCount: number;
  /** The escrow right after the resolution. */
  readonly escrow: LedgerBalance;
  readonly replayed: boolean;
}

/** One escrow → account transfer of CreditMarketPayouts. */
export interface MarketPayoutEntry {
  readonly accountId: string;
  readonly amountMinor: bigint;
  readonly code: LedgerCode;
}

/** A pending transfer's state (ledger_types.proto PendingStatus). */
export type HoldState = 'OPEN' | 'POSTED' | 'VOIDED' | 'EXPIRED';

/** The ledger operations a settlement needs. */
export interface SettlementLedger {
  /**
   * ResolveMarket: one resolution record for all the market's open holds (idempotent by
   * settlement id). Throws ConnectError UNIMPLEMENTED from a ledger that predates it.
   */
  resolveMarket(call: MarketResolutionCall): Promise<MarketResolutionResult>;
  /**
   * CreditMarketPayouts: one page (≤ 20,000 entries, each account once) of escrow → account
   * transfers with ids derived from the settlement and account; one outcome per entry.
   */
  creditMarketPayouts(
    context: LedgerContext,
    entries: readonly MarketPayoutEntry[],
  ): Promise<LedgerOutcome[]>;
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
  /** The state of each committed pending transfer among `transferIds` (≤ 1000). */
  holdStates(transferIds: readonly string[]): Promise<Map<string, HoldState>>;
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

const refundReasonFromProto: Partial<Record<ResolutionRefundReason, RefundReason>> = {
  [ResolutionRefundReason.MARKET_CANCELED]: 'MARKET_CANCELED',
  [ResolutionRefundReason.NO_WINNING_STAKES]: 'NO_WINNING_STAKES',
  [ResolutionRefundReason.ONE_SIDED]: 'ONE_SIDED',
};

/**
 * The market's resolution from BetEngineInternalService.ResolveMarketBets (a server stream of
 * users, `batchSize` per message; default the largest the bet engine accepts, 10,000).
 */
export function betSourceFromClient(
  client: Client<typeof BetEngineInternalService>,
  batchSize = 10_000,
): BetSource {
  return {
    async resolve(request) {
      const users: UserResult[] = [];
      let resolution;
      for await (const response of client.resolveMarketBets({ ...request, batchSize })) {
        resolution ??= response.resolution;
        // The decoded UserMarketResults are UserResults already (id, bets, staked, payout).
        for (const user of response.users) users.push(user);
      }
      if (resolution === undefined) {
        throw new ConnectError(
          `the bet engine sent no resolution for market ${request.marketId}`,
          Code.Internal,
        );
      }
      const refund = resolution.kind === MarketResolutionKind.REFUND;
      return {
        currency: resolution.currency,
        refundReason: refund
          ? (refundReasonFromProto[resolution.refundReason] ?? 'MARKET_CANCELED')
          : null,
        totalStakedMinor: resolution.totalStakedMinor,
        winningStakedMinor: resolution.winningStakedMinor,
        losingStakedMinor: resolution.losingStakedMinor,
        commissionMinor: resolution.commissionMinor,
        streamerShareMinor: resolution.streamerShareMinor,
        rakeMinor: resolution.rakeMinor,
        distributableMinor: resolution.distributableMinor,
        breakageMinor: resolution.breakageMinor,
        payoutTotalMinor: resolution.payoutTotalMinor,
        betCount: resolution.betCount,
        winnerCount: resolution.winnerCount,
        users,
      };
    },
  };
}

const kindToProto = {
  SINGLE_PHASE: TransferKind.SINGLE_PHASE,
  PENDING: TransferKind.PENDING,
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
  const balanceOf = (
    balance:
      | {
          debitsPendingMinor: bigint;
          debitsPostedMinor: bigint;
          creditsPendingMinor: bigint;
          creditsPostedMinor: bigint;
        }
      | undefined,
  ): LedgerBalance => ({
    debitsPending: balance?.debitsPendingMinor ?? 0n,
    debitsPosted: balance?.debitsPostedMinor ?? 0n,
    creditsPending: balance?.creditsPendingMinor ?? 0n,
    creditsPosted: balance?.creditsPostedMinor ?? 0n,
  });
  return {
    async resolveMarket(call) {
      const response = await client.resolveMarket({
        marketId: call.marketId,
        settlementId: call.settlementId,
        action: call.action === 'VOID' ? HoldAction.VOID : HoldAction.POST_IN_FULL,
        code: TransferCode.BET_STAKE,
        expectedOpenAmountMinor: call.expectedOpenAmountMinor,
      });
      return {
        resolvedCount: response.resolvedCount,
        resolvedAmountMinor: response.resolvedAmountMinor,
        expiredCount: response.expiredCount,
        escrow: balanceOf(response.escrow),
        replayed: response.replayed,
      };
    },
    async creditMarketPayouts(context, entries) {
      const response = await client.creditMarketPayouts({
        marketId: context.marketId,
        settlementId: context.settlementId,
        currency: context.currency,
        entries: entries.map((entry) => ({
          accountId: entry.accountId,
          amountMinor: entry.amountMinor,
          code: codeToProto[entry.code],
        })),
      });
      return response.results.map((result) => ({
        transferId: result.transferId,
        committed:
          result.code === TransferResultCode.OK ||
          result.code === TransferResultCode.ALREADY_EXISTS_SAME,
        detail: `${result.accountId}: ${TransferResultCode[result.code] ?? result.code}${result.detail ? `: ${result.detail}` : ''}`,
      }));
    },
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
    async holdStates(transferIds) {
      const response = await client.lookupTransfers({ transferIds: [...transferIds] });
      const states: Record<number, HoldState> = {
        [PendingStatus.PENDING]: 'OPEN',
        [PendingStatus.POSTED]: 'POSTED',
        [PendingStatus.VOIDED]: 'VOIDED',
        [PendingStatus.EXPIRED]: 'EXPIRED',
      };
      return new Map(
        response.transfers.flatMap((t) => {
          const state = states[t.pendingStatus];
          return state === undefined ? [] : [[t.transferId, state] as const];
        }),
      );
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
