/**
 * The payment state machines, pure: what a deposit or a withdrawal becomes when something is
 * observed (a provider's webhook or answer, the ledger's answer, the clock), and which money
 * movement that transition needs. Transitions only move forward, so duplicated, reordered or late
 * deliveries change nothing they should not; the one exception the contract makes is a
 * provider-confirmed deposit success, which wins over CANCELED / EXPIRED / FAILED (money taken is
 * never lost).
 *
 * Deposit:    CREATED → REQUIRES_ACTION → PROCESSING → SUCCEEDED | FAILED | CANCELED | EXPIRED
 *             (CREATED: our row exists, the provider charge may not; SUCCEEDED from any state).
 * Withdrawal: REQUESTED → HELD → PAYOUT_SENT → PAID | FAILED (a FAILED withdrawal that was held
 *             has its hold voided, the compensation).
 */

/** Payment provider. */
export type Provider = 'STRIPE' | 'MERCADOPAGO_PIX';

/** Direction of a payment. */
export type PaymentKind = 'DEPOSIT' | 'WITHDRAWAL';

/** Every state a deposit can be in. */
export type DepositStatus =
  'CREATED' | 'REQUIRES_ACTION' | 'PROCESSING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED' | 'EXPIRED';

/** Every step of the withdrawal saga. */
export type WithdrawalStatus = 'REQUESTED' | 'HELD' | 'PAYOUT_SENT' | 'PAID' | 'FAILED';

/** Any stored status. */
export type PaymentStatus = DepositStatus | WithdrawalStatus;

const depositRank: Readonly<Record<DepositStatus, number>> = {
  CREATED: 0,
  REQUIRES_ACTION: 1,
  PROCESSING: 2,
  FAILED: 3,
  CANCELED: 3,
  EXPIRED: 3,
  SUCCEEDED: 4,
};

const withdrawalRank: Readonly<Record<WithdrawalStatus, number>> = {
  REQUESTED: 0,
  HELD: 1,
  PAYOUT_SENT: 2,
  PAID: 3,
  FAILED: 3,
};

/** True for the deposit states nothing but a provider-confirmed success can leave. */
export function isFinalDeposit(status: DepositStatus): boolean {
  return depositRank[status] >= 3;
}

/** True for the withdrawal steps the saga has finished. */
export function isFinalWithdrawal(status: WithdrawalStatus): boolean {
  return withdrawalRank[status] >= 3;
}

/** True when `status` is a final state of a payment of `kind`. */
export function isFinal(kind: PaymentKind, status: PaymentStatus): boolean {
  return kind === 'DEPOSIT'
    ? isFinalDeposit(status as DepositStatus)
    : isFinalWithdrawal(status as WithdrawalStatus);
}

/** Whether a deposit may move from `from` to `to` (forward only; success wins over other ends). */
export function canAdvanceDeposit(from: DepositStatus, to: DepositStatus): boolean {
  return depositRank[to] > depositRank[from];
}

/** Whether a withdrawal may move from `from` to `to` (forward only; PAID and FAILED are final). */
export function canAdvanceWithdrawal(from: WithdrawalStatus, to: WithdrawalStatus): boolean {
  return withdrawalRank[to] > withdrawalRank[from] && !isFinalWithdrawal(from);
}

/**
 * What a provider says about a deposit charge, normalized across providers:
 * - `succeeded`: the money was taken (Stripe `succeeded`, MercadoPago `approved`);
 * - `processing`: paid, confirmation pending;
 * - `declined`: one attempt failed, the charge stays payable (Stripe `payment_failed`);
 * - `failed`: refused for good (MercadoPago `rejected`);
 * - `canceled`: canceled at the provider;
 * - `expired`: the code stopped being payable (our timeout, or the provider's expiry);
 * - `pending`: nothing new (still waiting for the payer).
 */
export type DepositObservation =
  | { readonly kind: 'succeeded' }
  | { readonly kind: 'processing' }
  | { readonly kind: 'declined'; readonly code: string; readonly message: string }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }
  | { readonly kind: 'canceled'; readonly code?: string; readonly message?: string }
  | { readonly kind: 'expired' }
  | { readonly kind: 'pending' };

/** The part of a deposit the state machine reads and writes. */
export interface DepositState {
  readonly status: DepositStatus;
  readonly failureCode: string;
  readonly failureMessage: string;
}

/** The outcome of {@link decideDeposit}. */
export interface DepositDecision {
  /** The deposit after the observation (the same object when nothing changes). */
  readonly next: DepositState;
  /** True when the wallet must be credited before `next` is saved (entering SUCCEEDED). */
  readonly credit: boolean;
  /** Which event the change publishes, if any. */
  readonly event: 'DepositSucceeded' | 'DepositFailed' | undefined;
  /** True when something is to be saved. */
  readonly changed: boolean;
}

const unchanged = (state: DepositState): DepositDecision => ({
  next: state,
  credit: false,
  event: undefined,
  changed: false,
});

/** Applies one observation to a deposit (see {@link DepositObservation}). */
export function decideDeposit(
  state: DepositState,
  observation: DepositObservation,
): DepositDecision {
  const to = (status: DepositStatus, failureCode = '', failureMessage = ''): DepositDecision => {
    if (!canAdvanceDeposit(state.status, status)) return unchanged(state);
    const next: DepositState = {
      status,
      failureCode: failureCode || state.failureCode,
      failureMessage: failureMessage || state.failureMessage,
    };
    if (status === 'SUCCEEDED')
      return { next, credit: true, event: 'DepositSucceeded', changed: true };
    return {
      next,
      credit: false,
      event: isFinalDeposit(status) ? 'DepositFailed' : undefined,
      changed: true,
    };
  };
  switch (observation.kind) {
    case 'succeeded':
      return to('SUCCEEDED');
    case 'processing':
      return to('PROCESSING');
    case 'failed':
      return to('FAILED', observation.code, observation.message);
    case 'canceled':
      return to('CANCELED', observation.code, observation.message);
    case 'expired':
      return to('EXPIRED');
    case 'declined': {
      // A declined attempt leaves the charge payable: only the failure fields change.
      if (isFinalDeposit(state.status)) return unchanged(state);
      if (state.failureCode === observation.code && state.failureMessage === observation.message) {
        return unchanged(state);
      }
      const next: DepositState = {
        status: state.status === 'CREATED' ? 'REQUIRES_ACTION' : state.status,
        failureCode: observation.code,
        failureMessage: observation.message,
      };
      return { next, credit: false, event: undefined, changed: true };
    }
    case 'pending':
      return to('REQUIRES_ACTION');
  }
}

/**
 * What a deposit that outlived its payable window becomes when the provider reports no success:
 * EXPIRED for a Pix code (its contract state), CANCELED for a card deposit (the deployment's
 * unpaid-deposit timeout).
 */
export function expiryStatus(provider: Provider): 'EXPIRED' | 'CANCELED' {
  return provider === 'MERCADOPAGO_PIX' ? 'EXPIRED' : 'CANCELED';
}

/** What a provider says about a payout, normalized. */
export type PayoutObservation =
  | { readonly kind: 'paid'; readonly reference: string }
  | { readonly kind: 'in-flight'; readonly reference: string }
  | {
      readonly kind: 'failed';
      readonly reference: string;
      readonly code: string;
      readonly message: string;
    };

/** The next thing the withdrawal saga does, given its step (the saga runner's plan). */
export type WithdrawalAction =
  | { readonly kind: 'place-hold' }
  | { readonly kind: 'send-payout' }
  | { readonly kind: 'ask-provider' }
  | { readonly kind: 'done' };

/** The saga's next action for a withdrawal at `status` (each is idempotent, so safe to repeat). */
export function nextWithdrawalAction(status: WithdrawalStatus): WithdrawalAction {
  switch (status) {
    case 'REQUESTED':
      return { kind: 'place-hold' };
    case 'HELD':
      return { kind: 'send-payout' };
    case 'PAYOUT_SENT':
      return { kind: 'ask-provider' };
    case 'PAID':
    case 'FAILED':
      return { kind: 'done' };
  }
}

/** What resolving a payout observation means for a withdrawal that is PAYOUT_SENT (or HELD). */
export function decidePayout(
  status: WithdrawalStatus,
  observation: PayoutObservation,
): { readonly next: WithdrawalStatus; readonly ledger: 'post' | 'void' | undefined } {
  if (isFinalWithdrawal(status) || status === 'REQUESTED')
    return { next: status, ledger: undefined };
  switch (observation.kind) {
    case 'paid':
      return { next: 'PAID', ledger: 'post' };
    case 'failed':
      return { next: 'FAILED', ledger: 'void' };
    case 'in-flight':
      return { next: 'PAYOUT_SENT', ledger: undefined };
  }
}

/** The ledger transfer ids of a payment (payment.proto): derived, so every retry reuses them. */
export const transferIds = {
  credit: (paymentId: string): string => `payment:${paymentId}:credit`,
  hold: (paymentId: string): string => `payment:${paymentId}:hold`,
  post: (paymentId: string): string => `payment:${paymentId}:post`,
  void: (paymentId: string): string => `payment:${paymentId}:void`,
};

/** Canonical ledger account ids the payment service moves money between. */
export const accountIds = {
  wallet: (userId: string, currency: string): string => `wallet:${userId}:${currency}`,
  pspClearing: (currency: string): string => `psp_clearing:${currency}`,
};

/** Delay before the saga's next attempt at a step that failed `attempts` times: 1 s doubling, ≤ 5 min. */
export function retryDelayMs(attempts: number): number {
  return Math.min(300_000, 1000 * 2 ** Math.max(0, Math.min(attempts, 20)));
}
