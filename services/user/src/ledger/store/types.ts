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
  | MarketHoldsEffect;

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
   * call; holds locked by a running batch are skipped and left for the next call). Returns how many
   * expired. The service calls it periodically with its clock.
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
}
