/**
 * Pure rules of a POOL settlement run around the parimutuel math (packages/parimutuel, which
 * decides every amount): the ledger commands a run submits, with ids derived only from the market
 * and user ids (hold resolutions are derived by the ledger from the hold ids) (so a re-executed run resubmits the same ids and the ledger answers
 * ALREADY_EXISTS_SAME instead of moving money twice), the reversal of a completed settlement, and
 * the retry backoff. No I/O: the runner and the store do that.
 */
import type { PoolEscrowTransfer } from '@streambet/parimutuel/settlement';

/** Where a run is (settlement.proto SettlementStatus, by name). */
export type SettlementStatus =
  'PENDING' | 'RUNNING' | 'COMPLETED' | 'REFUNDED' | 'FAILED' | 'REVERSED';

/**
 * The step a run resumes at: HOLDS (post or void the market's holds in ledger pages, cursor = the
 * ledger's last hold id done, '=' once checked and before the first page, '' before the check),
 * PAYOUTS (escrow → wallets, cursor = last user id paid, then the system transfers), FINISH
 * (the final state and events, one transaction), DONE.
 */
export type SettlementPhase = 'HOLDS' | 'PAYOUTS' | 'FINISH' | 'DONE';

/** Why stakes were returned (settlement.proto RefundReason, by name). */
export type RefundReason = 'MARKET_CANCELED' | 'NO_WINNING_STAKES' | 'ONE_SIDED' | 'MARKET_VOIDED';

/** The ledger's transfer codes a settlement uses (ledger_types.proto TransferCode, by name). */
export type LedgerCode =
  | 'BET_STAKE'
  | 'PAYOUT'
  | 'COMMISSION'
  | 'STREAMER_SHARE'
  | 'BREAKAGE'
  | 'REFUND'
  | 'PAYOUT_REVERSAL';

/** One ledger command of a run (ledger.proto TransferCommand without the fields a run never sets). */
export interface LedgerCommand {
  readonly transferId: string;
  readonly kind: 'SINGLE_PHASE' | 'PENDING' | 'POST_PENDING' | 'VOID_PENDING';
  /** Empty for POST_PENDING / VOID_PENDING (the hold's accounts apply). */
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  /** > 0, except 0 for VOID_PENDING. */
  readonly amountMinor: bigint;
  /** The hold resolved by POST_PENDING / VOID_PENDING; empty otherwise. */
  readonly pendingId: string;
  readonly code: LedgerCode;
  /** Set for BET_STAKE posts and voids. */
  readonly betId: string;
  /** Chains this command with the next (all or nothing). */
  readonly linked: boolean;
}

/** Most commands one SubmitTransfers call takes (ledger.proto). */
export const LEDGER_BATCH_MAX = 1000;

/** A market's ledger accounts, by the ledger's canonical ids (ledger_types.proto AccountKind). */
export const accounts = {
  escrow: (marketId: string): string => `market:${marketId}:escrow`,
  wallet: (userId: string, currency: string): string => `wallet:${userId}:${currency}`,
  rake: (currency: string): string => `rake:${currency}`,
  house: (currency: string): string => `house:${currency}`,
  streamerRevenue: (userId: string, currency: string): string =>
    `streamer:${userId}:revenue:${currency}`,
};

/** Transfer ids of a market's settlement: `settle:<marketId>:…`, stable across attempts. */
export const transferIds = {
  payout: (marketId: string, userId: string): string => `settle:${marketId}:payout:${userId}`,
  commission: (marketId: string): string => `settle:${marketId}:rake`,
  streamerShare: (marketId: string): string => `settle:${marketId}:share`,
  breakage: (marketId: string): string => `settle:${marketId}:breakage`,
  reverseWinnings: (marketId: string, userId: string): string => `settle:${marketId}:rev:${userId}`,
  reverseCommission: (marketId: string): string => `settle:${marketId}:rev-rake`,
  reverseStreamerShare: (marketId: string): string => `settle:${marketId}:rev-share`,
  reverseBreakage: (marketId: string): string => `settle:${marketId}:rev-breakage`,
  refund: (marketId: string, userId: string): string => `settle:${marketId}:refund:${userId}`,
};

/**
 * A bet as a run needs it: the math's fields. Its hold is not needed: the ledger resolves a
 * market's holds itself (ResolveMarketHolds), and checks their total against the bets' stakes.
 */
export interface SettlementBet {
  readonly betId: string;
  readonly userId: string;
  readonly outcomeId: string;
  readonly stakeMinor: bigint;
}

/** escrow → wallet: one user's whole payout (stakes included), paid once per user. */
export function payoutCommand(
  marketId: string,
  currency: string,
  userId: string,
  amountMinor: bigint,
): LedgerCommand {
  return single(
    transferIds.payout(marketId, userId),
    accounts.escrow(marketId),
    accounts.wallet(userId, currency),
    amountMinor,
    'PAYOUT',
  );
}

/** The market-level transfers out of escrow: commission to rake, streamer share, breakage to house. */
export function systemCommands(
  marketId: string,
  currency: string,
  streamerUserId: string,
  transfers: readonly PoolEscrowTransfer[],
): LedgerCommand[] {
  const escrow = accounts.escrow(marketId);
  const commands: LedgerCommand[] = [];
  for (const transfer of transfers) {
    if (transfer.amountMinor <= 0n) continue;
    switch (transfer.code) {
      case 'PAYOUT':
        break;
      case 'COMMISSION':
        commands.push(
          single(
            transferIds.commission(marketId),
            escrow,
            accounts.rake(currency),
            transfer.amountMinor,
            'COMMISSION',
          ),
        );
        break;
      case 'STREAMER_SHARE':
        commands.push(
          single(
            transferIds.streamerShare(marketId),
            escrow,
            accounts.streamerRevenue(streamerUserId, currency),
            transfer.amountMinor,
            'STREAMER_SHARE',
          ),
        );
        break;
      case 'BREAKAGE':
        commands.push(
          single(
            transferIds.breakage(marketId),
            escrow,
            accounts.house(currency),
            transfer.amountMinor,
            'BREAKAGE',
          ),
        );
        break;
    }
  }
  return commands;
}

/** What a completed settlement paid, as the reversal needs it. */
export interface CompletedSettlement {
  readonly marketId: string;
  readonly currency: string;
  readonly streamerUserId: string;
  readonly rakeMinor: bigint;
  readonly streamerShareMinor: bigint;
  readonly breakageMinor: bigint;
  /** Every bettor's SETTLEMENT row. */
  readonly bettors: readonly { readonly userId: string; readonly netMinor: bigint }[];
}

/** The reversal of a completed settlement: money back into escrow first, then out of it. */
export interface ReversalPlan {
  /** wallet/rake/streamer/house → escrow: winners' net winnings, commission, share, breakage. */
  readonly inflows: readonly LedgerCommand[];
  /** escrow → wallet: each loser's net loss (their stakes not paid back). */
  readonly outflows: readonly LedgerCommand[];
  /** Constrained accounts the inflows debit, with the amount each must still have available. */
  readonly debits: ReadonlyMap<string, bigint>;
}

/**
 * Plans a void after resolution so every bettor ends with exactly their stakes back and escrow at
 * zero: a user with net winnings N > 0 gives back N; a user with net N < 0 receives −N; the
 * commission, streamer share and breakage return to escrow. Σ inflows = Σ outflows because
 * Σ N = −(C + B) (Σ payouts + C + B = T).
 */
export function planReversal(settlement: CompletedSettlement): ReversalPlan {
  const { marketId, currency } = settlement;
  const escrow = accounts.escrow(marketId);
  const inflows: LedgerCommand[] = [];
  const outflows: LedgerCommand[] = [];
  const debits = new Map<string, bigint>();
  const takeBack = (
    transferId: string,
    from: string,
    amountMinor: bigint,
    constrained: boolean,
  ) => {
    if (amountMinor <= 0n) return;
    inflows.push(single(transferId, from, escrow, amountMinor, 'PAYOUT_REVERSAL'));
    if (constrained) debits.set(from, (debits.get(from) ?? 0n) + amountMinor);
  };
  for (const bettor of settlement.bettors) {
    if (bettor.netMinor > 0n) {
      takeBack(
        transferIds.reverseWinnings(marketId, bettor.userId),
        accounts.wallet(bettor.userId, currency),
        bettor.netMinor,
        true,
      );
    } else if (bettor.netMinor < 0n) {
      outflows.push(
        single(
          transferIds.refund(marketId, bettor.userId),
          escrow,
          accounts.wallet(bettor.userId, currency),
          -bettor.netMinor,
          'REFUND',
        ),
      );
    }
  }
  takeBack(
    transferIds.reverseCommission(marketId),
    accounts.rake(currency),
    settlement.rakeMinor,
    true,
  );
  takeBack(
    transferIds.reverseStreamerShare(marketId),
    accounts.streamerRevenue(settlement.streamerUserId, currency),
    settlement.streamerShareMinor,
    true,
  );
  // The house account is unconstrained: it can always give the breakage back.
  takeBack(
    transferIds.reverseBreakage(marketId),
    accounts.house(currency),
    settlement.breakageMinor,
    false,
  );
  return { inflows, outflows, debits };
}

/** The hold of a reversal's claw-back in `round`: a pending transfer with the claw-back's accounts. */
export function reversalHold(command: LedgerCommand, round: number): LedgerCommand {
  return { ...command, transferId: `${command.transferId}:hold:${round}`, kind: 'PENDING' };
}

/** Posts a reversal hold in full, under the claw-back's own id (what a rerun looks up). */
export function postReversalHold(command: LedgerCommand, round: number): LedgerCommand {
  return {
    ...command,
    kind: 'POST_PENDING',
    debitAccountId: '',
    creditAccountId: '',
    pendingId: reversalHold(command, round).transferId,
  };
}

/** Releases a reversal hold (its round is undone). */
export function voidReversalHold(command: LedgerCommand, round: number): LedgerCommand {
  const hold = reversalHold(command, round).transferId;
  return {
    ...command,
    transferId: `${hold}:void`,
    kind: 'VOID_PENDING',
    debitAccountId: '',
    creditAccountId: '',
    amountMinor: 0n,
    pendingId: hold,
  };
}

/** Marks every command but the last as linked: one all-or-nothing chain. */
export function linkAll(commands: readonly LedgerCommand[]): LedgerCommand[] {
  return commands.map((command, index) => ({ ...command, linked: index < commands.length - 1 }));
}

/** Splits commands into ledger calls of at most {@link LEDGER_BATCH_MAX}. */
export function chunk<T>(items: readonly T[], size = LEDGER_BATCH_MAX): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size)
    chunks.push(items.slice(start, start + size));
  return chunks;
}

/**
 * Delay before the next automatic attempt after `attempts` failed or deferred ones: 1 s doubling,
 * capped at 5 min, so a dependency that is down is not hammered and a short outage costs seconds.
 */
export function retryDelayMs(attempts: number, baseMs = 1000, maxMs = 300_000): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 20);
  return Math.min(baseMs * 2 ** exponent, maxMs);
}

function single(
  transferId: string,
  debitAccountId: string,
  creditAccountId: string,
  amountMinor: bigint,
  code: LedgerCode,
): LedgerCommand {
  return {
    transferId,
    kind: 'SINGLE_PHASE',
    debitAccountId,
    creditAccountId,
    amountMinor,
    pendingId: '',
    code,
    betId: '',
    linked: false,
  };
}
