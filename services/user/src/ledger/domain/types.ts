/**
 * The ledger's vocabulary (TigerBeetle's model): accounts with four running totals, immutable
 * transfers, two-phase holds. Numeric values equal the protobuf enum numbers of
 * `streambet.user.v1` so the RPC edge translates by value, and the store keeps them as SMALLINT.
 * Money is always `bigint` minor units.
 */

/** What an account is for; fixes its id format, owner and balance constraint (ledger_types.proto). */
export const AccountKind = {
  USER_WALLET: 1,
  HOUSE: 2,
  RAKE: 3,
  PSP_CLEARING: 4,
  MARKET_ESCROW: 5,
  STREAMER_REVENUE: 6,
} as const;
/** One of {@link AccountKind}. */
export type AccountKind = (typeof AccountKind)[keyof typeof AccountKind];

/** How a transfer moves money. */
export const TransferKind = {
  SINGLE_PHASE: 1,
  PENDING: 2,
  POST_PENDING: 3,
  VOID_PENDING: 4,
} as const;
/** One of {@link TransferKind}. */
export type TransferKind = (typeof TransferKind)[keyof typeof TransferKind];

/** Business reason of a transfer (drives history display and analytics). */
export const TransferCode = {
  DEPOSIT: 1,
  WITHDRAWAL: 2,
  BET_STAKE: 3,
  PAYOUT: 4,
  COMMISSION: 5,
  STREAMER_SHARE: 6,
  BREAKAGE: 7,
  REFUND: 8,
  PAYOUT_REVERSAL: 9,
  PLAY_MONEY_GRANT: 10,
  REVENUE_RELEASE: 11,
  ADJUSTMENT: 12,
} as const;
/** One of {@link TransferCode}. */
export type TransferCode = (typeof TransferCode)[keyof typeof TransferCode];

/** State of a hold. `NONE` for transfers that are not holds. */
export const PendingStatus = {
  NONE: 0,
  PENDING: 1,
  POSTED: 2,
  VOIDED: 3,
  EXPIRED: 4,
} as const;
/** One of {@link PendingStatus}. */
export type PendingStatus = (typeof PendingStatus)[keyof typeof PendingStatus];

/** Outcome of one transfer command; only OK and ALREADY_EXISTS_SAME mean committed. */
export const TransferResultCode = {
  OK: 1,
  ALREADY_EXISTS_SAME: 2,
  ID_REUSED_DIFFERENT_CONTENT: 3,
  INVALID_TRANSFER_ID: 4,
  INVALID_AMOUNT: 5,
  INVALID_FIELD: 6,
  ACCOUNTS_MUST_DIFFER: 7,
  ACCOUNT_NOT_FOUND: 8,
  CURRENCY_MISMATCH: 9,
  EXCEEDS_AVAILABLE: 10,
  INVALID_TIMEOUT: 11,
  PENDING_NOT_FOUND: 12,
  PENDING_MISMATCH: 13,
  POST_EXCEEDS_PENDING: 14,
  PENDING_ALREADY_RESOLVED: 15,
  PENDING_EXPIRED: 16,
  LINKED_EVENT_FAILED: 17,
  LINKED_EVENT_CHAIN_OPEN: 18,
  MARKET_RESOLVED: 19,
} as const;
/** One of {@link TransferResultCode}. */
export type TransferResultCode = (typeof TransferResultCode)[keyof typeof TransferResultCode];

/** Outcome of creating one account. */
export const CreateAccountResultCode = {
  OK: 1,
  ALREADY_EXISTS_SAME: 2,
  ID_REUSED_DIFFERENT_CONTENT: 3,
  INVALID_ID: 4,
  UNSUPPORTED_CURRENCY: 5,
  INVALID_KIND: 6,
  DUPLICATE_IN_REQUEST: 7,
} as const;
/** One of {@link CreateAccountResultCode}. */
export type CreateAccountResultCode =
  (typeof CreateAccountResultCode)[keyof typeof CreateAccountResultCode];

/** The four running totals of an account, minor units; each ≥ 0 and only posted ones only grow. */
export interface Balance {
  readonly debitsPending: bigint;
  readonly debitsPosted: bigint;
  readonly creditsPending: bigint;
  readonly creditsPosted: bigint;
}

/** A change to the four totals (may be negative for the pending ones when a hold resolves). */
export type BalanceDelta = Balance;

/** An account to create, as the caller asks for it. */
export interface NewAccount {
  readonly accountId: string;
  /** 0 (unset) is refused with INVALID_KIND. */
  readonly kind: number;
  readonly currency: string;
  readonly ownerId: string;
}

/** A stored account with its balance at read time. */
export interface Account {
  readonly accountId: string;
  readonly kind: AccountKind;
  readonly currency: string;
  readonly ownerId: string;
  /** True for kinds whose available balance may never go below zero. */
  readonly constrained: boolean;
  readonly createdAtMs: number;
  readonly balance: Balance;
}

/**
 * One transfer command as received. `kind` and `code` are plain numbers so an unset (0) or
 * unknown value can be reported as a result code instead of failing the batch.
 */
export interface TransferCommand {
  readonly transferId: string;
  readonly kind: number;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly pendingId: string;
  readonly timeoutSeconds: bigint;
  readonly linked: boolean;
  readonly code: number;
  readonly marketId: string;
  readonly betId: string;
  readonly paymentId: string;
  readonly settlementId: string;
  readonly memo: string;
}

/** An immutable committed transfer, plus the hold state as of the read. */
export interface Transfer {
  readonly transferId: string;
  readonly kind: TransferKind;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly pendingId: string;
  readonly timeoutSeconds: bigint;
  /** 0 when the hold never expires or the transfer is not a hold. */
  readonly expiresAtMs: number;
  readonly code: TransferCode;
  readonly marketId: string;
  readonly betId: string;
  readonly paymentId: string;
  readonly settlementId: string;
  readonly memo: string;
  readonly committedAtMs: number;
  /** Ledger-wide commit sequence; 0n only inside a batch before the store numbers it. */
  readonly sequence: bigint;
  readonly pendingStatus: PendingStatus;
  readonly resolvedAtMs: number;
}

/** Result of one transfer command. */
export interface TransferOutcome {
  readonly transferId: string;
  readonly code: TransferResultCode;
  /** Set for OK and ALREADY_EXISTS_SAME. */
  readonly transfer?: Transfer;
  /** Why it failed, for logs; empty on success. */
  readonly detail: string;
}

/** Result of creating one account. */
export interface CreateAccountOutcome {
  readonly accountId: string;
  readonly code: CreateAccountResultCode;
  /** The stored account for OK / ALREADY_EXISTS_SAME, the conflicting one for ID_REUSED_DIFFERENT_CONTENT. */
  readonly account?: Account;
}

/** Most commands, accounts or ids one call may carry (the contract's limit). */
export const MAX_BATCH = 1000;
/** Longest hold timeout: 30 days. */
export const MAX_TIMEOUT_SECONDS = 2_592_000n;
/** Largest value of a BIGINT column / proto int64. */
export const INT64_MAX = 9_223_372_036_854_775_807n;
