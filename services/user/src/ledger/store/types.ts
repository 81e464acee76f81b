/**
 * What the ledger store offers and hands back: the {@link LedgerStore} interface (one method per
 * LedgerInternalService operation), its queries and pages, and the committed effects it reports to
 * {@link LedgerStoreOptions.onCommitted} inside each transaction (for the wallet.* outbox events).
 */
import type { Clock } from '@streambet/platform/rpc/clock';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type {
  Account,
  Balance,
  CreateAccountOutcome,
  HoldAction,
  LedgerCurrencies,
  NewAccount,
  Transfer,
  TransferCode,
  TransferCommand,
  TransferOutcome,
  TransferResultCode,
} from '../domain/index.js';

/** An account's balance right after a change, as wallet.* events carry it. */
export interface BalanceSnapshot {
  readonly accountId: string;
  readonly currency: string;
  readonly balance: Balance;
}

/**
 * One committed change, handed to {@link LedgerStoreOptions.onCommitted} inside the transaction
 * (to append wallet.* events to the outbox): a new transfer, or a hold released by its timeout.
 */
export type LedgerEffect =
  | {
      readonly type: 'transfer';
      /** The committed transfer with its sequence number. */
      readonly transfer: Transfer;
      /** For POST/VOID: the hold's amount as placed; 0 otherwise. */
      readonly heldAmountMinor: bigint;
      readonly debit: BalanceSnapshot;
      readonly credit: BalanceSnapshot;
    }
  | {
      readonly type: 'expiry';
      /** The hold, now EXPIRED with resolvedAtMs set. */
      readonly hold: Transfer;
      /** Sequence number of the expiry (same sequence as transfers). */
      readonly sequence: bigint;
      readonly debit: BalanceSnapshot;
      readonly credit: BalanceSnapshot;
    }
  | MarketHoldsEffect
  | MarketResolutionEffect
  | MarketPayoutsEffect;

/** A market resolved ({@link LedgerStore.resolveMarket}): one record for all its open holds. */
export interface MarketResolutionEffect {
  readonly type: 'market-resolution';
  readonly resolution: MarketResolution;
  /** Every account the resolution changed, with its balance after it. */
  readonly accounts: readonly BalanceSnapshot[];
}

/** A page of a market's payouts credited ({@link LedgerStore.creditMarketPayouts}). */
export interface MarketPayoutsEffect {
  readonly type: 'market-payouts';
  readonly marketId: string;
  readonly settlementId: string;
  readonly currency: string;
  readonly creditedCount: number;
  readonly creditedAmountMinor: bigint;
  /** Highest sequence number the page took. */
  readonly sequence: bigint;
  readonly committedAtMs: number;
  /** The credited accounts and the escrow, with their balances after the page. */
  readonly accounts: readonly BalanceSnapshot[];
  /** What the page credited to each account it credited (newly, not repeats), in lock order. */
  readonly credits: readonly {
    readonly accountId: string;
    readonly transferId: string;
    readonly amountMinor: bigint;
  }[];
}

/**
 * One page of bulk settlement ({@link LedgerStore.resolveMarketHolds}) committed: many holds of
 * one market resolved (and any expired) in one transaction, reported once for the page.
 */
export interface MarketHoldsEffect {
  readonly type: 'market-holds';
  readonly marketId: string;
  readonly action: HoldAction;
  readonly settlementId: string;
  /** Code of the resolving transfers. */
  readonly code: TransferCode;
  /** Holds posted or voided, and the sum of their held amounts. */
  readonly resolvedCount: number;
  readonly resolvedAmountMinor: bigint;
  /** Holds of the page found past their timeout and released instead (status EXPIRED). */
  readonly expiredCount: number;
  readonly expiredAmountMinor: bigint;
  /** First and last hold id of the page (hold id order). */
  readonly firstHoldId: string;
  readonly lastHoldId: string;
  /** Highest sequence number the page took: every snapshot in `accounts` is as of it. */
  readonly sequence: bigint;
  readonly committedAtMs: number;
  /** Every account the page changed, with its balance after the page. */
  readonly accounts: readonly BalanceSnapshot[];
}

/** Options of {@link createLedgerStore}. */
export interface LedgerStoreOptions {
  /** The ledger clock: commit times and the instant holds are checked for expiry. */
  readonly clock: Clock;
  /** The deployment's real currency (PTS is always allowed). */
  readonly currencies: LedgerCurrencies;
  /**
   * Runs inside each committing transaction with what it committed, in sequence order (append the
   * wallet.* events to the outbox here). Throwing rolls the whole batch back.
   */
  readonly onCommitted?: (tx: SqlExecutor, effects: readonly LedgerEffect[]) => Promise<void>;
  /** Attempts per batch on deadlock, unique-id race or an optimistic check failure; default 8. */
  readonly maxAttempts?: number;
}

/** Query of {@link LedgerStore.listAccountTransfers}. */
export interface ListTransfersQuery {
  readonly accountId: string;
  /** Only these codes; empty means all. */
  readonly codes: readonly TransferCode[];
  /** Lower bound on committed_at_ms (inclusive); 0 means none. */
  readonly fromMs: number;
  /** Upper bound on committed_at_ms (exclusive); 0 means none. */
  readonly toMs: number;
  readonly newestFirst: boolean;
  /** 1–200. */
  readonly limit: number;
  /** Continue after this sequence (exclusive), in the listing's direction. */
  readonly afterSequence?: bigint;
}

/** One page of {@link LedgerStore.listAccountTransfers}. */
export interface TransferPage {
  readonly transfers: Transfer[];
  /** Sequence to continue after, when there are more. */
  readonly nextAfterSequence?: bigint;
}

/** Query of {@link LedgerStore.listWalletHistory}: newest first over a few accounts. */
export interface WalletHistoryQuery {
  /** The accounts (a user's wallets); transfers debiting or crediting any of them. */
  readonly accountIds: readonly string[];
  /** Only these codes; empty means all. */
  readonly codes: readonly TransferCode[];
  /** Lower bound on committed_at_ms (inclusive); 0 means none. */
  readonly fromMs: number;
  /** Upper bound on committed_at_ms (exclusive); 0 means none. */
  readonly toMs: number;
  /** 1–200. */
  readonly limit: number;
  /** Continue with transfers older than this sequence. */
  readonly beforeSequence?: bigint;
}

/** One entry of a wallet history: the transfer and, for a post or void, the hold's amount. */
export interface HistoryEntry {
  readonly transfer: Transfer;
  /** POST_PENDING / VOID_PENDING: the resolved hold's amount as placed; 0 otherwise. */
  readonly heldAmountMinor: bigint;
}

/** One page of {@link LedgerStore.listWalletHistory}. */
export interface HistoryPage {
  readonly entries: HistoryEntry[];
  /** Sequence to continue before, when there are more. */
  readonly nextBeforeSequence?: bigint;
}

/** Sums of the four totals over all accounts of one currency. */
export interface LedgerCurrencyTotals {
  readonly currency: string;
  readonly totals: Balance;
  readonly accountCount: number;
}

/** Query of {@link LedgerStore.resolveMarketHolds}. */
export interface ResolveMarketHoldsQuery {
  readonly marketId: string;
  readonly action: HoldAction;
  /** Stored on each resolving transfer; may be empty. */
  readonly settlementId: string;
  /** Code of the resolving transfers (BET_STAKE for stakes). */
  readonly code: TransferCode;
  /** Resume after this hold id; empty for the first page. */
  readonly afterHoldId: string;
  /** Most holds in this page (one SQL transaction). */
  readonly limit: number;
}

/** What one page of {@link LedgerStore.resolveMarketHolds} did. */
export interface ResolveMarketHoldsResult {
  readonly resolvedCount: number;
  readonly resolvedAmountMinor: bigint;
  readonly expiredCount: number;
  readonly alreadyResolvedCount: number;
  /**
   * Refused resolutions (derived id too long or taken by a different transfer, or a command the
   * code refuses); holds resolved meanwhile by another transfer are skipped, not refused.
   */
  readonly failures: readonly TransferOutcome[];
  /** Cursor for the next page; empty when this page was the last. */
  readonly nextAfterHoldId: string;
}

/** Command of {@link LedgerStore.resolveMarket}. */
export interface ResolveMarketCommand {
  readonly marketId: string;
  /** Idempotency key (ULID). */
  readonly settlementId: string;
  readonly action: HoldAction;
  /** Code the resolution is recorded with. */
  readonly code: TransferCode;
  /** When > 0, the amount the resolution must post or void (else FAILED_PRECONDITION). */
  readonly expectedOpenAmountMinor: bigint;
}

/** A market's resolution record, as stored (migration 0110, ledger_markets). */
export interface MarketResolution {
  readonly marketId: string;
  readonly settlementId: string;
  readonly action: HoldAction;
  readonly code: TransferCode;
  readonly expectedOpenAmountMinor: bigint;
  readonly resolvedCount: number;
  readonly resolvedAmountMinor: bigint;
  readonly expiredCount: number;
  readonly expiredAmountMinor: bigint;
  readonly accountCount: number;
  readonly sequence: bigint;
  readonly resolvedAtMs: number;
  /** The market's escrow right after the resolution (undefined when it has none). */
  readonly escrow?: BalanceSnapshot;
}

/** What {@link LedgerStore.resolveMarket} answers. */
export interface ResolveMarketResult {
  readonly resolution: MarketResolution;
  /** true when the resolution was stored by an earlier call with the same content. */
  readonly replayed: boolean;
}

/** One entry of {@link CreditMarketPayoutsCommand}. */
export interface MarketPayout {
  readonly accountId: string;
  readonly amountMinor: bigint;
  readonly code: TransferCode;
}

/** Command of {@link LedgerStore.creditMarketPayouts}. */
export interface CreditMarketPayoutsCommand {
  readonly marketId: string;
  readonly settlementId: string;
  readonly currency: string;
  /** Each account at most once; never the market's escrow. */
  readonly entries: readonly MarketPayout[];
}

/** Outcome of one payout entry. */
export interface MarketPayoutOutcome {
  readonly accountId: string;
  readonly transferId: string;
  readonly code: TransferResultCode;
  readonly detail: string;
  /** Sequence of the transfer (OK, ALREADY_EXISTS_SAME); 0n otherwise. */
  readonly sequence: bigint;
}

/** What {@link LedgerStore.creditMarketPayouts} answers. */
export interface CreditMarketPayoutsResult {
  readonly outcomes: readonly MarketPayoutOutcome[];
  readonly creditedCount: number;
  readonly creditedAmountMinor: bigint;
  /** The escrow right after the page. */
  readonly escrow: BalanceSnapshot;
}

/** The ledger's storage: every operation of LedgerInternalService, each in one SQL transaction. */
export interface LedgerStore {
  /** Creates accounts (each on its own); results in request order. */
  createAccounts(accounts: readonly NewAccount[]): Promise<CreateAccountOutcome[]>;
  /** The accounts that exist among `ids`, in request order. */
  lookupAccounts(ids: readonly string[]): Promise<Account[]>;
  /** Accounts owned by a user or market, by id. */
  accountsOfOwner(ownerId: string): Promise<Account[]>;
  /**
   * Applies a batch of commands in one SQL transaction (linked chains all-or-nothing, idempotent by
   * transfer id); one result per command, in order.
   */
  submitTransfers(commands: readonly TransferCommand[]): Promise<TransferOutcome[]>;
  /** The transfers that exist among `ids`, in request order, with hold status as of now. */
  lookupTransfers(ids: readonly string[]): Promise<Transfer[]>;
  /** Transfers debiting or crediting one account; NotFoundError when the account does not exist. */
  listAccountTransfers(query: ListTransfersQuery): Promise<TransferPage>;
  /**
   * Transfers debiting or crediting any of `accountIds`, newest first (a user's history over
   * their wallets); accounts that do not exist simply contribute nothing.
   */
  listWalletHistory(query: WalletHistoryQuery): Promise<HistoryPage>;
  /**
   * Sum of the open holds (PENDING, not yet posted, voided or expired) with `code` debiting each
   * of `accountIds`; accounts without any are left out. Loss limits count open stakes with it.
   */
  openHoldTotals(accountIds: readonly string[], code: TransferCode): Promise<Map<string, bigint>>;
  /** Sums per currency (all currencies when `currency` is empty), ordered by currency. */
  getLedgerTotals(currency: string): Promise<LedgerCurrencyTotals[]>;
  /**
   * Releases open holds whose timeout is at or before `nowMs` (at most `limit`, default 1000, per
   * call; holds locked by a running batch are skipped and left for the next call). Holds of a
   * resolved market are never expired: those due get their derived state written into their row
   * (at most `limit` more; no balance moves). Returns how many holds it expired or so wrote (call
   * again while it is `limit` or more). The service calls it periodically with its clock.
   */
  expirePendingTransfers(nowMs: number, limit?: number): Promise<number>;
  /**
   * Bulk settlement: resolves one page of a market's open holds (in hold id order after the
   * cursor) in one SQL statement (ledger_resolve_market_holds, migration 0104): each hold gets the
   * transfer {@link holdResolutionCommand} would commit (same derived id, content and fingerprint,
   * so a later SubmitTransfers of that command answers ALREADY_EXISTS_SAME), holds past their
   * timeout expire as the expiry path expires them, and each touched account takes one aggregated
   * delta. One {@link MarketHoldsEffect} per page goes to onCommitted. A code the derived commands'
   * shape check refuses whatever the hold runs the per-command path (every hold reported refused).
   */
  resolveMarketHolds(query: ResolveMarketHoldsQuery): Promise<ResolveMarketHoldsResult>;
  /**
   * Market-level resolution (ledger_resolve_market, migration 0110): one record for every open
   * hold of the market, balances moved by per-account aggregates, in one transaction; holds past
   * their timeout at the resolution instant are released, never posted. Idempotent by
   * settlement id; AlreadyExistsError for another resolution of the same market;
   * IllegalStateError when the expected amount differs. One {@link MarketResolutionEffect}.
   */
  resolveMarket(command: ResolveMarketCommand): Promise<ResolveMarketResult>;
  /**
   * One page of a settled market's payouts out of its escrow (ledger_credit_market_payouts):
   * one transfer per entry with the derived id `payout:<settlement id>:<account id>`, in one
   * statement. IllegalStateError when the market was not posted by ResolveMarket or the escrow
   * cannot pay the page (nothing written). One {@link MarketPayoutsEffect} when it credited any.
   */
  creditMarketPayouts(command: CreditMarketPayoutsCommand): Promise<CreditMarketPayoutsResult>;
}
