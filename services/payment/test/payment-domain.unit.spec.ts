/** The payment state machines and limits: forward-only transitions, one credit, input rules. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkDepositRequest,
  checkVelocity,
  checkWithdrawalRequest,
  maskKey,
  type PaymentLimits,
} from '../src/domain/limits.js';
import {
  canAdvanceWithdrawal,
  decideDeposit,
  decidePayout,
  nextWithdrawalAction,
  retryDelayMs,
  transferIds,
  type DepositObservation,
  type DepositState,
} from '../src/domain/payment.js';

const limits: PaymentLimits = {
  realCurrency: 'BRL',
  depositMinMinor: 500n,
  depositMaxMinor: 1_000_000n,
  withdrawalMinMinor: 1000n,
  withdrawalMaxMinor: 500_000n,
  withdrawalsPerDay: 3,
  withdrawalMaxPerDayMinor: 600_000n,
};

const fresh: DepositState = { status: 'REQUIRES_ACTION', failureCode: '', failureMessage: '' };

function messageOf(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('deposit state machine', () => {
  it('credits on the first success and never again', () => {
    const first = decideDeposit(fresh, { kind: 'succeeded' });
    expect(first).toMatchObject({ credit: true, event: 'DepositSucceeded', changed: true });
    const again = decideDeposit(first.next, { kind: 'succeeded' });
    expect(again).toMatchObject({ credit: false, event: undefined, changed: false });
  });

  it('a success after expiry or cancel still credits (money taken is never lost)', () => {
    for (const end of [{ kind: 'expired' }, { kind: 'canceled' }] as const) {
      const ended = decideDeposit(fresh, end);
      expect(ended.event).toBe('DepositFailed');
      const late = decideDeposit(ended.next, { kind: 'succeeded' });
      expect(late).toMatchObject({ credit: true, next: { status: 'SUCCEEDED' } });
    }
  });

  it('never moves back: processing after success, expiry after failure change nothing', () => {
    const done = decideDeposit(fresh, { kind: 'succeeded' }).next;
    expect(decideDeposit(done, { kind: 'processing' }).changed).toBe(false);
    expect(decideDeposit(done, { kind: 'expired' }).changed).toBe(false);
    const failed = decideDeposit(fresh, { kind: 'failed', code: 'rejected', message: 'no' }).next;
    expect(decideDeposit(failed, { kind: 'expired' }).changed).toBe(false);
    expect(decideDeposit(failed, { kind: 'pending' }).changed).toBe(false);
  });

  it('a declined card keeps the deposit payable and records why', () => {
    const declined = decideDeposit(fresh, {
      kind: 'declined',
      code: 'card_declined',
      message: 'Your card was declined.',
    });
    expect(declined.next).toEqual({
      status: 'REQUIRES_ACTION',
      failureCode: 'card_declined',
      failureMessage: 'Your card was declined.',
    });
    expect(declined.event).toBeUndefined();
    expect(decideDeposit(declined.next, { kind: 'succeeded' }).credit).toBe(true);
  });

  it('over random interleavings of deliveries, exactly one credit per succeeded deposit', () => {
    const observation: fc.Arbitrary<DepositObservation> = fc.oneof(
      fc.constant({ kind: 'succeeded' } as const),
      fc.constant({ kind: 'processing' } as const),
      fc.constant({ kind: 'pending' } as const),
      fc.constant({ kind: 'expired' } as const),
      fc.constant({ kind: 'canceled' } as const),
      fc.constant({ kind: 'declined', code: 'card_declined', message: 'declined' } as const),
      fc.constant({ kind: 'failed', code: 'rejected', message: 'rejected' } as const),
    );
    // Each delivery is one provider event; deliveries are duplicated and shuffled arbitrarily.
    const deliveries = fc.array(observation, { minLength: 1, maxLength: 8 }).chain((events) =>
      fc
        .array(fc.nat({ max: events.length - 1 }), { minLength: 0, maxLength: 10 })
        .chain((dups) =>
          fc.shuffledSubarray([...events, ...dups.map((i) => events[i]!)], {
            minLength: events.length + dups.length,
          }),
        )
        .map((all) => ({ events, all })),
    );
    fc.assert(
      fc.property(deliveries, ({ events, all }) => {
        let state: DepositState = { status: 'CREATED', failureCode: '', failureMessage: '' };
        let credits = 0;
        let succeededEvents = 0;
        for (const delivery of all) {
          const decision = decideDeposit(state, delivery);
          if (decision.credit) credits += 1;
          if (decision.event === 'DepositSucceeded') succeededEvents += 1;
          state = decision.next;
        }
        const anySuccess = events.some((e) => e.kind === 'succeeded');
        expect(state.status === 'SUCCEEDED').toBe(anySuccess);
        expect(credits).toBe(anySuccess ? 1 : 0);
        expect(succeededEvents).toBe(credits);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('withdrawal saga', () => {
  it('plans hold, payout, then asks the provider; final steps do nothing', () => {
    expect(nextWithdrawalAction('REQUESTED').kind).toBe('place-hold');
    expect(nextWithdrawalAction('HELD').kind).toBe('send-payout');
    expect(nextWithdrawalAction('PAYOUT_SENT').kind).toBe('ask-provider');
    expect(nextWithdrawalAction('PAID').kind).toBe('done');
    expect(nextWithdrawalAction('FAILED').kind).toBe('done');
  });

  it('posts the hold when paid, voids it when failed, and never leaves a final step', () => {
    expect(decidePayout('PAYOUT_SENT', { kind: 'paid', reference: 'po_1' })).toEqual({
      next: 'PAID',
      ledger: 'post',
    });
    expect(
      decidePayout('PAYOUT_SENT', { kind: 'failed', reference: 'po_1', code: 'x', message: 'y' }),
    ).toEqual({ next: 'FAILED', ledger: 'void' });
    expect(
      decidePayout('PAID', { kind: 'failed', reference: 'po_1', code: 'x', message: 'y' }),
    ).toEqual({ next: 'PAID', ledger: undefined });
    expect(decidePayout('FAILED', { kind: 'paid', reference: 'po_1' }).ledger).toBeUndefined();
    expect(canAdvanceWithdrawal('PAID', 'FAILED')).toBe(false);
    expect(canAdvanceWithdrawal('HELD', 'REQUESTED')).toBe(false);
  });

  it('derives every ledger id from the payment id, and backs off to at most 5 minutes', () => {
    expect(transferIds.hold('P')).toBe('payment:P:hold');
    expect(transferIds.credit('P')).toBe('payment:P:credit');
    expect(retryDelayMs(0)).toBe(1000);
    expect(retryDelayMs(3)).toBe(8000);
    expect(retryDelayMs(50)).toBe(300_000);
  });
});

describe('limits', () => {
  it('refuses zero, negative, too small, too large, wrong currency and no provider at once', () => {
    expect(
      messageOf(() =>
        checkDepositRequest({ provider: 'STRIPE', amountMinor: 0n, currency: 'BRL' }, limits),
      ),
    ).toContain('amount.amount_minor: must be greater than 0');
    expect(
      messageOf(() =>
        checkDepositRequest({ provider: 'STRIPE', amountMinor: -5n, currency: 'BRL' }, limits),
      ),
    ).toContain('greater than 0');
    expect(
      messageOf(() =>
        checkDepositRequest({ provider: 'STRIPE', amountMinor: 499n, currency: 'BRL' }, limits),
      ),
    ).toContain('at least 500');
    expect(
      messageOf(() =>
        checkDepositRequest(
          { provider: 'STRIPE', amountMinor: 1_000_001n, currency: 'BRL' },
          limits,
        ),
      ),
    ).toContain('at most 1000000');
    const many = messageOf(() =>
      checkDepositRequest({ provider: undefined, amountMinor: 1000n, currency: 'PTS' }, limits),
    );
    expect(many).toContain('provider');
    expect(many).toContain('must be BRL');
    expect(
      messageOf(() =>
        checkDepositRequest(
          { provider: 'MERCADOPAGO_PIX', amountMinor: 1000n, currency: 'BRL' },
          limits,
        ),
      ),
    ).toBe('');
  });

  it('Pix is BRL only', () => {
    const usd = { ...limits, realCurrency: 'USD' };
    expect(
      messageOf(() =>
        checkDepositRequest(
          { provider: 'MERCADOPAGO_PIX', amountMinor: 1000n, currency: 'USD' },
          usd,
        ),
      ),
    ).toContain('Pix deposits are in BRL only');
  });

  it('checks withdrawal destinations by Pix key type and Stripe account format', () => {
    const ok = (destination: Parameters<typeof checkWithdrawalRequest>[0]['destination']) =>
      messageOf(() =>
        checkWithdrawalRequest({ amountMinor: 2000n, currency: 'BRL', destination }, limits),
      );
    expect(ok({ kind: 'pix', keyType: 'CPF', key: '12345678901' })).toBe('');
    expect(ok({ kind: 'pix', keyType: 'CPF', key: '123.456.789-01' })).toContain('11 digits');
    expect(ok({ kind: 'pix', keyType: 'PHONE', key: '+5511912345678' })).toBe('');
    expect(ok({ kind: 'pix', keyType: 'EMAIL', key: 'a@b' })).toBe('');
    expect(ok({ kind: 'pix', keyType: 'RANDOM', key: 'not-a-uuid' })).toContain('UUID');
    expect(ok({ kind: 'pix', keyType: undefined, key: 'x' })).toContain('key_type');
    expect(ok({ kind: 'stripe', connectedAccountId: 'acct_1ABC' })).toBe('');
    expect(ok({ kind: 'stripe', connectedAccountId: 'ba_1ABC' })).toContain('acct_');
    expect(ok(undefined)).toContain('destination: is required');
  });

  it('limits withdrawals per 24 hours by count and by amount, with a retry hint', () => {
    const now = 100 * 3_600_000;
    expect(() =>
      checkVelocity({ count: 2, totalMinor: 1000n, oldestAtMs: now - 1000 }, 1000n, limits, now),
    ).not.toThrow();
    expect(
      messageOf(() =>
        checkVelocity(
          { count: 3, totalMinor: 1000n, oldestAtMs: now - 3_600_000 },
          1000n,
          limits,
          now,
        ),
      ),
    ).toContain('at most 3 withdrawals per 24 hours');
    expect(
      messageOf(() =>
        checkVelocity({ count: 1, totalMinor: 550_000n, oldestAtMs: now }, 60_000n, limits, now),
      ),
    ).toContain('50000 left');
  });

  it('masks all but the last 4 characters of a destination', () => {
    expect(maskKey('12345678901')).toBe('*******8901');
    expect(maskKey('abc')).toBe('abc');
  });
});
