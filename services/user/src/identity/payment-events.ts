/**
 * Consumer of payment events: succeeded real-money deposits feed the deposit-limit windows and the
 * lifetime total compared with the KYC threshold. Exactly-once through the platform inbox
 * (`handleOnce`), and a second guard on the payment id, so a redelivered or duplicated event never
 * counts twice.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { DepositSucceededSchema } from '@streambet/contracts/gen/streambet/events/v1/payment_pb';
import {
  PayoutMadeSchema,
  PayoutsMadeSchema,
  PayoutReversedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import {
  PayoutKind,
  type Payout,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { handleOnce } from '@streambet/platform/outbox/index';
import type { Sql } from '@streambet/platform/sql/types';
import type { IdentityStore } from './store/index.js';

/** Inbox consumer name of this handler. */
export const paymentEventsConsumer = 'user.payment-deposits';

/** What a consumer did with one event. */
export type PaymentEventOutcome = 'applied' | 'duplicate' | 'ignored';

/**
 * Creates `applyPaymentEvent(envelope)`: subscribe it to topic `payment`. Events other than
 * DepositSucceeded, and deposits in another currency than the real one, are ignored (but recorded
 * in the inbox). Throws only on database errors (the bus then redelivers).
 */
export function createPaymentEventHandler(deps: {
  readonly sql: Sql;
  readonly store: IdentityStore;
  readonly realCurrency: string;
}): (event: EventEnvelope) => Promise<PaymentEventOutcome> {
  return async (event) => {
    if (event.type !== DepositSucceededSchema.typeName) return 'ignored';
    const deposit = fromBinary(DepositSucceededSchema, event.payload);
    const amount = deposit.amount;
    if (amount === undefined || amount.currency !== deps.realCurrency || amount.amountMinor <= 0n) {
      return 'ignored';
    }
    const occurredAtMs =
      deposit.metadata !== undefined && deposit.metadata.occurredAtMs > 0n
        ? Number(deposit.metadata.occurredAtMs)
        : event.occurredAtMs;
    let outcome: PaymentEventOutcome = 'duplicate';
    const ran = await handleOnce(deps.sql, paymentEventsConsumer, event, async (tx) => {
      const user = await deps.store.getUser(tx, deposit.userId, { forUpdate: true });
      if (user === undefined) {
        outcome = 'ignored';
        return;
      }
      const fresh = await deps.store.insertDeposit(tx, {
        paymentId: deposit.paymentId,
        userId: deposit.userId,
        amountMinor: amount.amountMinor,
        currency: amount.currency,
        atMs: occurredAtMs,
      });
      if (!fresh) return;
      await deps.store.addLifetimeDeposits(tx, deposit.userId, amount.amountMinor);
      outcome = 'applied';
    });
    return ran ? outcome : 'duplicate';
  };
}

/** Inbox consumer name of the settlement handler. */
export const settlementEventsConsumer = 'user.settlement-losses';

/**
 * Creates `applySettlementEvent(envelope)`: subscribe it to topic `settlement`. It feeds the
 * loss-limit windows with each real-money settled result: a PayoutMade row (kind SETTLEMENT; one
 * event each, or many in a PayoutsMade page) counts
 * −net (a loss is positive, a win negative), PayoutReversed undoes it. Refunds and revenue shares
 * are not gambling results and are ignored, as is play money. Exactly-once per event (inbox) and
 * per payout row (entry id). Kept next to the payment consumer because both feed the limits;
 * move it to its own file when convenient.
 */
export function createSettlementEventHandler(deps: {
  readonly sql: Sql;
  readonly store: IdentityStore;
  readonly realCurrency: string;
}): (event: EventEnvelope) => Promise<PaymentEventOutcome> {
  return async (event) => {
    type LossEntry = { entryId: string; userId: string; amountMinor: bigint; atMs: number };
    const entries: LossEntry[] = [];
    const settled = (payout: Payout | undefined): void => {
      if (payout?.kind === PayoutKind.SETTLEMENT && payout.currency === deps.realCurrency) {
        entries.push({
          entryId: `payout:${payout.payoutId}`,
          userId: payout.userId,
          amountMinor: -payout.netMinor,
          atMs: Number(payout.paidAtMs) || event.occurredAtMs,
        });
      }
    };
    if (event.type === PayoutMadeSchema.typeName) {
      settled(fromBinary(PayoutMadeSchema, event.payload).payout);
    } else if (event.type === PayoutsMadeSchema.typeName) {
      // A page of rows (issue 12): each row exactly as one PayoutMade.
      for (const payout of fromBinary(PayoutsMadeSchema, event.payload).payouts) settled(payout);
    } else if (event.type === PayoutReversedSchema.typeName) {
      const reversed = fromBinary(PayoutReversedSchema, event.payload);
      const payout = reversed.payout;
      if (payout?.kind === PayoutKind.SETTLEMENT && payout.currency === deps.realCurrency) {
        entries.push({
          entryId: `reversal:${payout.payoutId}`,
          userId: payout.userId,
          amountMinor: -reversed.adjustmentMinor,
          atMs: Number(reversed.reversedAtMs) || event.occurredAtMs,
        });
      }
    }
    if (entries.length === 0) return 'ignored';
    let outcome: PaymentEventOutcome = 'duplicate';
    const ran = await handleOnce(deps.sql, settlementEventsConsumer, event, async (tx) => {
      // 'ignored' if no row's user is known here; 'duplicate' if every known row was counted.
      let known = false;
      for (const loss of entries) {
        if ((await deps.store.getUser(tx, loss.userId)) === undefined) continue;
        known = true;
        if (await deps.store.insertLoss(tx, loss)) outcome = 'applied';
      }
      if (!known) outcome = 'ignored';
    });
    return ran ? outcome : 'duplicate';
  };
}
