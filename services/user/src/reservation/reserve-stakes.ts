/**
 * ReserveStakes: eligibility and the stake holds of a batch of bets in ONE user-service
 * transaction. The transaction first locks each bettor (an advisory lock per user, taken in one
 * statement in a fixed order), then reads the holds that already exist (idempotency), decides
 * eligibility with identity's own checker (its rules and facts, open stakes read in this same
 * transaction, the batch's earlier stakes counted), and takes the holds through the ledger store's
 * own commit path joined to this transaction (joined-sql.ts). Two reservations for one user never
 * interleave, so the later one always counts the earlier one's holds against the loss limit.
 */
import type { Sql } from '@streambet/platform/sql/types';
import type { EligibilityChecker } from '../identity/eligibility.js';
import type { EligibilityAnswer } from '../identity/domain/limits/eligibility.js';
import {
  TransferCode,
  TransferKind,
  TransferResultCode,
  availableOf,
  type TransferCommand,
} from '../ledger/domain/index.js';
import type { LedgerStore } from '../ledger/store/index.js';
import type { JoinedSql } from './joined-sql.js';

/** One bet's stake to reserve (validated by the routes). */
export interface Reservation {
  readonly userId: string;
  readonly holdTransferId: string;
  readonly marketId: string;
  readonly betId: string;
  readonly currency: string;
  readonly stakeMinor: bigint;
  readonly timeoutSeconds: bigint;
}

/** What became of one {@link Reservation}. */
export type ReservationVerdict =
  | { readonly outcome: 'RESERVED'; readonly holdCode: TransferResultCode }
  | { readonly outcome: 'INELIGIBLE'; readonly answer: EligibilityAnswer }
  | { readonly outcome: 'USER_NOT_FOUND' }
  | {
      readonly outcome: 'INSUFFICIENT_FUNDS';
      readonly holdCode: TransferResultCode;
      readonly availableMinor: bigint;
    }
  | {
      readonly outcome: 'HOLD_REFUSED';
      readonly holdCode: TransferResultCode;
      readonly detail: string;
    };

/** Dependencies of {@link createStakeReserver}. */
export interface StakeReserverDeps {
  /** The user service's database (the reservation's transaction runs on it). */
  readonly sql: Sql;
  /** The port the reservation's ledger and checker run on, joined to its transaction. */
  readonly joined: JoinedSql;
  /** A ledger store over `joined.sql` (no group commit: it must run inside the transaction). */
  readonly ledger: LedgerStore;
  /** Identity's eligibility checker, its open stakes read through `ledger`. */
  readonly checker: EligibilityChecker;
  /** Called after each committed reservation that took a hold (wakes the outbox relay). */
  readonly onCommitted?: () => void;
}

/**
 * Advisory lock per bettor for the rest of the transaction, in one statement: the ids are
 * sorted here and the volatile lock function runs after the ORDER BY, so two reservations always
 * take their common locks in the same order (no deadlock between them).
 */
const LOCK_BETTORS = `SELECT pg_advisory_xact_lock(hashtextextended('reserve:' || u, 0))
  FROM unnest($1::text[]) AS u ORDER BY u`;

/** The ledger command of a reservation's hold: what SubmitTransfers would get for the same hold. */
export function holdCommandOf(reservation: Reservation): TransferCommand {
  return {
    transferId: reservation.holdTransferId,
    kind: TransferKind.PENDING,
    debitAccountId: `wallet:${reservation.userId}:${reservation.currency}`,
    creditAccountId: `market:${reservation.marketId}:escrow`,
    amountMinor: reservation.stakeMinor,
    currency: reservation.currency,
    pendingId: '',
    timeoutSeconds: reservation.timeoutSeconds,
    linked: false,
    code: TransferCode.BET_STAKE,
    marketId: reservation.marketId,
    betId: reservation.betId,
    paymentId: '',
    settlementId: '',
    memo: '',
  };
}

/** Creates the reserver behind ReserveStakes. */
export function createStakeReserver(deps: StakeReserverDeps) {
  const { sql, joined, ledger, checker } = deps;

  async function decide(reservations: readonly Reservation[]): Promise<{
    verdicts: ReservationVerdict[];
    held: boolean;
  }> {
    const userIds = [...new Set(reservations.map((r) => r.userId))].sort();
    return sql.transaction((tx) =>
      joined.within(tx, async () => {
        await tx.query(LOCK_BETTORS, [userIds]);
        const existing = new Set(
          (await ledger.lookupTransfers(reservations.map((r) => r.holdTransferId))).map(
            (t) => t.transferId,
          ),
        );
        const fresh = reservations.filter((r) => !existing.has(r.holdTransferId));
        const eligibility =
          fresh.length === 0
            ? []
            : await checker.check(
                fresh.map((r) => ({
                  userId: r.userId,
                  action: 'BET' as const,
                  currency: r.currency,
                  amountMinor: r.stakeMinor,
                })),
                tx,
              );
        const verdicts = new Array<ReservationVerdict | undefined>(reservations.length);
        const toHold: number[] = [];
        let freshIndex = 0;
        reservations.forEach((reservation, index) => {
          if (existing.has(reservation.holdTransferId)) {
            toHold.push(index);
            return;
          }
          const verdict = eligibility[freshIndex++];
          if (verdict === undefined || !verdict.userFound) {
            verdicts[index] = { outcome: 'USER_NOT_FOUND' };
          } else if (!verdict.answer.allowed) {
            verdicts[index] = { outcome: 'INELIGIBLE', answer: verdict.answer };
          } else {
            toHold.push(index);
          }
        });
        const outcomes =
          toHold.length === 0
            ? []
            : await ledger.submitTransfers(toHold.map((i) => holdCommandOf(reservations[i]!)));
        const short = new Set<string>();
        outcomes.forEach((outcome, at) => {
          if (
            outcome.code === TransferResultCode.EXCEEDS_AVAILABLE ||
            outcome.code === TransferResultCode.ACCOUNT_NOT_FOUND
          ) {
            const r = reservations[toHold[at]!]!;
            short.add(`wallet:${r.userId}:${r.currency}`);
          }
        });
        const available = new Map(
          short.size === 0
            ? []
            : (await ledger.lookupAccounts([...short])).map((a) => [
                a.accountId,
                availableOf(a.balance),
              ]),
        );
        let held = false;
        outcomes.forEach((outcome, at) => {
          const index = toHold[at]!;
          const r = reservations[index]!;
          if (
            outcome.code === TransferResultCode.OK ||
            outcome.code === TransferResultCode.ALREADY_EXISTS_SAME
          ) {
            held ||= outcome.code === TransferResultCode.OK;
            verdicts[index] = { outcome: 'RESERVED', holdCode: outcome.code };
          } else if (
            outcome.code === TransferResultCode.EXCEEDS_AVAILABLE ||
            // the wallet is missing (a missing escrow is the caller's fault: HOLD_REFUSED)
            (outcome.code === TransferResultCode.ACCOUNT_NOT_FOUND &&
              !available.has(`wallet:${r.userId}:${r.currency}`))
          ) {
            verdicts[index] = {
              outcome: 'INSUFFICIENT_FUNDS',
              holdCode: outcome.code,
              availableMinor: available.get(`wallet:${r.userId}:${r.currency}`) ?? 0n,
            };
          } else {
            verdicts[index] = {
              outcome: 'HOLD_REFUSED',
              holdCode: outcome.code,
              detail: outcome.detail,
            };
          }
        });
        return { verdicts: verdicts.map((v) => v!), held };
      }),
    );
  }

  return {
    /** Decides every reservation in order, in one transaction (see the file comment). */
    async reserve(reservations: readonly Reservation[]): Promise<ReservationVerdict[]> {
      if (reservations.length === 0) return [];
      const { verdicts, held } = await decide(reservations);
      if (held) deps.onCommitted?.();
      return verdicts;
    },
  };
}

/** The reserver behind ReserveStakes. */
export type StakeReserver = ReturnType<typeof createStakeReserver>;
