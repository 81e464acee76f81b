/**
 * Settlement of an EXCHANGE market per user per market (product.md: net winnings over all
 * matched bets, commission on positive net winnings only, floored), as ledger commands in the
 * order they must apply, with ids derived from the market and user so a repeat is idempotent:
 *
 * 1. every loser's hold is posted for exactly their net loss (POST_PENDING of part of the hold:
 *    the rest is released), every other hold is voided — escrow now holds Σ losses;
 * 2. every winner is paid net − commission from escrow (PAYOUT) and the commission goes to the
 *    house (COMMISSION). Losers pay exactly what winners win, so escrow ends where it started.
 *
 * A canceled (or refunded) market voids every hold: nobody wins or loses.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { TransferCommandSchema } from '@streambet/contracts/gen/streambet/user/v1/ledger_pb';
import {
  TransferCode,
  TransferKind,
} from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { settleUser, type PositionFill } from '@streambet/exchange/exposure';
import { escrowAccountId, walletAccountId } from '../domain/bet.js';
import { exchangeHoldId } from './ledger.js';
import type { MarketBook } from './market-book.js';

type Command = MessageInitShape<typeof TransferCommandSchema>;

/** How a market ends for its matched bets. */
export type ExchangeResolution =
  | { readonly kind: 'winner'; readonly outcomeIndex: number; readonly commissionBps: number }
  | { readonly kind: 'refund' };

/** The resolution as stored in be_xbooks.settlement (a repeat must carry the same). */
export function resolutionKey(resolution: ExchangeResolution): string {
  return resolution.kind === 'refund'
    ? 'REFUND'
    : `WINNER:${resolution.outcomeIndex}:${resolution.commissionBps}`;
}

/** One user's figures. */
export interface UserOutcome {
  readonly userId: string;
  readonly netMinor: bigint;
  readonly commissionMinor: bigint;
  readonly creditMinor: bigint;
  readonly debitMinor: bigint;
}

/** Everything settlement moves for a market. */
export interface SettlementPlan {
  readonly users: UserOutcome[];
  readonly commands: Command[];
}

/** The user's standing fills as positions. */
export function positionsOf(book: MarketBook, userId: string): PositionFill[] {
  return (book.fillsByUser.get(userId) ?? []).map((fill) => ({
    outcomeIndex: fill.outcomeIndex,
    side: fill.backUserId === userId ? 'back' : 'lay',
    stakeMinor: fill.stakeMinor,
    liabilityMinor: fill.liabilityMinor,
  }));
}

/**
 * The commands that settle `book` (lapsed: no open orders) with `resolution`, in `currency`.
 * Users in user-id order, so the same book always gives the same commands. `figuresOnly`: the
 * per-user figures without commands (a repeat of a settlement already applied).
 */
export function planSettlement(
  book: MarketBook,
  currency: string,
  resolution: ExchangeResolution,
  options: { readonly figuresOnly?: boolean } = {},
): SettlementPlan {
  const marketId = book.marketId;
  const escrow = escrowAccountId(marketId);
  const users = [...book.users()].sort();
  const releases: Command[] = [];
  const payouts: Command[] = [];
  const outcomes: UserOutcome[] = [];
  for (const userId of users) {
    const hold = book.holds.get(userId);
    const figures =
      resolution.kind === 'refund'
        ? { netMinor: 0n, commissionMinor: 0n, creditMinor: 0n, debitMinor: 0n }
        : settleUser(positionsOf(book, userId), resolution.outcomeIndex, resolution.commissionBps);
    outcomes.push({ userId, ...figures });
    // A repeat after the ledger part is done: the figures only (the holds are gone).
    if (options.figuresOnly === true) continue;
    const holdId =
      hold !== undefined && hold.amountMinor > 0n
        ? exchangeHoldId(marketId, userId, hold.version)
        : undefined;
    if (figures.debitMinor > 0n) {
      if (holdId === undefined || hold!.amountMinor < figures.debitMinor) {
        throw new Error(`user ${userId} lost more than their hold on market ${marketId}`);
      }
      releases.push({
        transferId: `xs:${marketId}:${userId}:post`,
        kind: TransferKind.POST_PENDING,
        pendingId: holdId,
        amountMinor: figures.debitMinor,
        currency,
        code: TransferCode.BET_STAKE,
        marketId,
        betId: hold!.betId,
      });
    } else if (holdId !== undefined) {
      releases.push({
        transferId: `xs:${marketId}:${userId}:void`,
        kind: TransferKind.VOID_PENDING,
        pendingId: holdId,
        amountMinor: 0n,
        currency,
        code: TransferCode.BET_STAKE,
        marketId,
        betId: hold!.betId,
      });
    }
    if (figures.creditMinor > 0n) {
      payouts.push({
        transferId: `xs:${marketId}:${userId}:pay`,
        kind: TransferKind.SINGLE_PHASE,
        debitAccountId: escrow,
        creditAccountId: walletAccountId(userId, currency),
        amountMinor: figures.creditMinor,
        currency,
        code: TransferCode.PAYOUT,
        marketId,
      });
    }
    if (figures.commissionMinor > 0n) {
      payouts.push({
        transferId: `xs:${marketId}:${userId}:fee`,
        kind: TransferKind.SINGLE_PHASE,
        debitAccountId: escrow,
        creditAccountId: `house:${currency}`,
        amountMinor: figures.commissionMinor,
        currency,
        code: TransferCode.COMMISSION,
        marketId,
      });
    }
  }
  return { users: outcomes, commands: [...releases, ...payouts] };
}
