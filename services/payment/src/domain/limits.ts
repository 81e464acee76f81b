/**
 * The deployment's payment limits and input rules, pure: per-deposit and per-withdrawal
 * minimum/maximum, the real currency (Pix: BRL only), withdrawal velocity, destination formats.
 * The user's own deposit limits and the KYC threshold are the user service's (CheckEligibility).
 */
import {
  IllegalStateError,
  ResourceExhaustedError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';
import type { Provider } from './payment.js';

/** The deployment's limits (config: PAYMENT_*). All amounts in minor units of the real currency. */
export interface PaymentLimits {
  readonly realCurrency: string;
  readonly depositMinMinor: bigint;
  readonly depositMaxMinor: bigint;
  readonly withdrawalMinMinor: bigint;
  readonly withdrawalMaxMinor: bigint;
  /** Most withdrawals (not failed) one user may request in {@link velocityWindowMs}. */
  readonly withdrawalsPerDay: number;
  /** Most money (not failed) one user may withdraw in {@link velocityWindowMs}. */
  readonly withdrawalMaxPerDayMinor: bigint;
}

/** The window the withdrawal velocity limits count over: 24 hours. */
export const velocityWindowMs = 24 * 3_600_000;

/** The one currency Pix moves. */
const pixCurrency = 'BRL';

function amountViolations(
  amountMinor: bigint,
  currency: string,
  minMinor: bigint,
  maxMinor: bigint,
  realCurrency: string,
  what: string,
): FieldViolation[] {
  const violations: FieldViolation[] = [];
  if (currency !== realCurrency) {
    violations.push({
      field: 'amount.currency',
      description: `must be ${realCurrency}, the deployment's real currency (play money never goes through payments)`,
    });
  }
  if (amountMinor <= 0n) {
    violations.push({ field: 'amount.amount_minor', description: 'must be greater than 0' });
  } else if (amountMinor < minMinor) {
    violations.push({
      field: 'amount.amount_minor',
      description: `must be at least ${minMinor} (the smallest ${what})`,
    });
  } else if (amountMinor > maxMinor) {
    violations.push({
      field: 'amount.amount_minor',
      description: `must be at most ${maxMinor} (the largest ${what})`,
    });
  }
  return violations;
}

/** Throws INVALID_ARGUMENT naming every problem of a deposit request. */
export function checkDepositRequest(
  request: {
    readonly provider: Provider | undefined;
    readonly amountMinor: bigint;
    readonly currency: string;
  },
  limits: PaymentLimits,
): void {
  const violations = amountViolations(
    request.amountMinor,
    request.currency,
    limits.depositMinMinor,
    limits.depositMaxMinor,
    limits.realCurrency,
    'deposit',
  );
  if (request.provider === undefined) {
    violations.unshift({
      field: 'provider',
      description: 'must be PAYMENT_PROVIDER_STRIPE or PAYMENT_PROVIDER_MERCADOPAGO_PIX',
    });
  } else if (request.provider === 'MERCADOPAGO_PIX' && request.currency !== pixCurrency) {
    violations.push({ field: 'amount.currency', description: 'Pix deposits are in BRL only' });
  }
  if (violations.length > 0) throw new ValidationError('invalid deposit', violations);
}

/** A withdrawal destination as the request gives it. */
export type Destination =
  | { readonly kind: 'pix'; readonly keyType: PixKeyType | undefined; readonly key: string }
  | { readonly kind: 'stripe'; readonly connectedAccountId: string };

/** Pix key types (DICT). */
export type PixKeyType = 'CPF' | 'EMAIL' | 'PHONE' | 'RANDOM';

const pixKeyFormats: Readonly<Record<PixKeyType, { re: RegExp; text: string }>> = {
  CPF: { re: /^\d{11}$/, text: '11 digits, no punctuation' },
  EMAIL: { re: /^(?=.{3,77}$)[^\s@]+@[^\s@]+$/, text: 'an email address of 3–77 characters' },
  PHONE: { re: /^\+55\d{10,11}$/, text: 'E.164 with +55, e.g. +5511912345678' },
  RANDOM: {
    re: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    text: 'a UUID of 36 characters',
  },
};

/** The provider a destination is paid by. */
export function providerOf(destination: Destination): Provider {
  return destination.kind === 'pix' ? 'MERCADOPAGO_PIX' : 'STRIPE';
}

/** Throws INVALID_ARGUMENT naming every problem of a withdrawal request. */
export function checkWithdrawalRequest(
  request: {
    readonly amountMinor: bigint;
    readonly currency: string;
    readonly destination: Destination | undefined;
  },
  limits: PaymentLimits,
): void {
  const violations = amountViolations(
    request.amountMinor,
    request.currency,
    limits.withdrawalMinMinor,
    limits.withdrawalMaxMinor,
    limits.realCurrency,
    'withdrawal',
  );
  const destination = request.destination;
  if (destination === undefined) {
    violations.push({
      field: 'destination',
      description: 'is required: a Pix key or a Stripe account',
    });
  } else if (destination.kind === 'pix') {
    if (request.currency !== pixCurrency) {
      violations.push({ field: 'destination.pix', description: 'Pix withdrawals are in BRL only' });
    }
    if (destination.keyType === undefined) {
      violations.push({
        field: 'destination.pix.key_type',
        description: 'must be CPF, EMAIL, PHONE or RANDOM',
      });
    } else if (!pixKeyFormats[destination.keyType].re.test(destination.key)) {
      violations.push({
        field: 'destination.pix.key',
        description: `must be ${pixKeyFormats[destination.keyType].text}`,
      });
    }
  } else if (!/^acct_[A-Za-z0-9]{1,255}$/.test(destination.connectedAccountId)) {
    violations.push({
      field: 'destination.stripe.connected_account_id',
      description: 'must be "acct_" followed by 1–255 letters or digits',
    });
  }
  if (violations.length > 0) throw new ValidationError('invalid withdrawal', violations);
}

/** A user's withdrawals (not failed) in the last {@link velocityWindowMs}. */
export interface RecentWithdrawals {
  readonly count: number;
  readonly totalMinor: bigint;
  /** When the oldest of them was created, ms (for the retry hint); 0 when none. */
  readonly oldestAtMs: number;
}

/** Throws RESOURCE_EXHAUSTED when one more withdrawal of `amountMinor` breaks a velocity limit. */
export function checkVelocity(
  recent: RecentWithdrawals,
  amountMinor: bigint,
  limits: PaymentLimits,
  nowMs: number,
): void {
  const retryAfterMs =
    recent.oldestAtMs > 0
      ? Math.max(1000, recent.oldestAtMs + velocityWindowMs - nowMs)
      : undefined;
  if (recent.count + 1 > limits.withdrawalsPerDay) {
    throw new ResourceExhaustedError(
      `at most ${limits.withdrawalsPerDay} withdrawals per 24 hours`,
      retryAfterMs === undefined ? {} : { retryAfterMs },
    );
  }
  if (recent.totalMinor + amountMinor > limits.withdrawalMaxPerDayMinor) {
    const left = limits.withdrawalMaxPerDayMinor - recent.totalMinor;
    throw new ResourceExhaustedError(
      `at most ${limits.withdrawalMaxPerDayMinor} may be withdrawn per 24 hours; ${left > 0n ? left : 0n} left`,
      retryAfterMs === undefined ? {} : { retryAfterMs },
    );
  }
}

/** The refusal of a withdrawal above the wallet's available balance (FAILED_PRECONDITION). */
export function insufficientBalance(amountMinor: bigint, currency: string): IllegalStateError {
  return new IllegalStateError(
    `available balance is below the withdrawal of ${amountMinor} ${currency}; nothing was held`,
  );
}

/** `key` masked for responses: all but the last 4 characters replaced by '*'. */
export function maskKey(key: string): string {
  return key.length <= 4 ? key : '*'.repeat(key.length - 4) + key.slice(-4);
}
