/**
 * May this user do this, for this amount, now? One pure function over the user's facts, so bet
 * placement, deposits and withdrawals all get the same answer with every reason and when it lifts
 * (internal.proto, CheckEligibility).
 */
import { isAdultAt, adulthoodStartsAtMs, type CalendarDate } from '../accounts/age.js';
import type { KycStatusName } from '../kyc/kyc.js';
import {
  earliestFitMs,
  limitAt,
  limitPeriods,
  usedInWindow,
  type DatedAmount,
  type LimitPeriodName,
  type LimitState,
} from './limits.js';
import { selfExclusionActive, type SelfExclusionState } from './restrictions.js';

/** Play-money currency: never limited, no KYC, no age check. */
export const playCurrency = 'PTS';

/** The action being checked. */
export type EligibilityActionName = 'BET' | 'DEPOSIT' | 'WITHDRAW';

/** Why an action is refused (the contract's IneligibilityReason without prefix). */
export type IneligibilityReasonName =
  | 'ACCOUNT_FROZEN'
  | 'SELF_EXCLUDED'
  | 'COOLING_OFF'
  | 'UNDER_AGE'
  | 'KYC_REQUIRED'
  | 'DEPOSIT_LIMIT_EXCEEDED'
  | 'LOSS_LIMIT_EXCEEDED'
  | 'EMAIL_NOT_VERIFIED';

/** One reason with when it lifts (0 = no known end) and, for limits, what still fits. */
export interface Ineligible {
  readonly reason: IneligibilityReasonName;
  readonly untilMs: number;
  /** For limit reasons: the binding period, the limit and what still fits now (≥ 0). */
  readonly limit?: {
    readonly period: LimitPeriodName;
    readonly limitMinor: bigint;
    readonly remainingMinor: bigint;
  };
}

/** Everything about a user the answer depends on. */
export interface EligibilityFacts {
  readonly frozen: boolean;
  readonly dateOfBirth: CalendarDate;
  readonly kycStatus: KycStatusName;
  readonly lifetimeDepositsMinor: bigint;
  /** End of the cool-off; 0 or past = none. */
  readonly coolOffUntilMs: number;
  readonly selfExclusion: SelfExclusionState | null;
  readonly depositLimits: Readonly<Record<LimitPeriodName, LimitState>>;
  readonly lossLimits: Readonly<Record<LimitPeriodName, LimitState>>;
  /** Succeeded real-money deposits, at least the last 30 days. */
  readonly deposits: readonly DatedAmount[];
  /** Realised real-money net losses (+) and wins (−), at least the last 30 days. */
  readonly losses: readonly DatedAmount[];
  /**
   * Real-money stakes still at risk: open BET_STAKE holds on the user's real wallet. A loss limit
   * counts them as lost (the worst case), so bets placed before settlement cannot together go
   * past the limit. Absent means 0.
   */
  readonly openStakesMinor?: bigint;
  /** Whether the user confirmed their email address; absent = not known here (never refused for it). */
  readonly emailVerified?: boolean;
}

/** Deployment settings the answer depends on. */
export interface EligibilityPolicy {
  /** ISO 4217 code of the deployment's real currency. */
  readonly realCurrency: string;
  /** Lifetime deposits above which KYC is required for real money (minor units). */
  readonly kycThresholdMinor: bigint;
  /** Refuse real-money deposits and withdrawals until the address is confirmed. Default false. */
  readonly requireVerifiedEmail?: boolean;
}

/** One question. `amountMinor` > 0, currency the real one or PTS (validated by the caller). */
export interface EligibilityQuestion {
  readonly action: EligibilityActionName;
  readonly amountMinor: bigint;
  readonly currency: string;
}

/** The answer: allowed iff no reasons. */
export interface EligibilityAnswer {
  readonly allowed: boolean;
  readonly reasons: readonly Ineligible[];
}

/** Answers `question` for a user with `facts` at `nowMs`. */
export function evaluateEligibility(
  facts: EligibilityFacts,
  question: EligibilityQuestion,
  policy: EligibilityPolicy,
  nowMs: number,
): EligibilityAnswer {
  const reasons: Ineligible[] = [];
  const { action, amountMinor } = question;
  const realMoney = question.currency !== playCurrency;
  const blocksPlay = action === 'BET' || action === 'DEPOSIT';

  if (facts.frozen) reasons.push({ reason: 'ACCOUNT_FROZEN', untilMs: 0 });
  if (blocksPlay && selfExclusionActive(facts.selfExclusion, nowMs)) {
    reasons.push({ reason: 'SELF_EXCLUDED', untilMs: facts.selfExclusion?.untilMs ?? 0 });
  }
  if (blocksPlay && facts.coolOffUntilMs > nowMs) {
    reasons.push({ reason: 'COOLING_OFF', untilMs: facts.coolOffUntilMs });
  }
  if (realMoney && !isAdultAt(facts.dateOfBirth, nowMs)) {
    reasons.push({ reason: 'UNDER_AGE', untilMs: adulthoodStartsAtMs(facts.dateOfBirth) });
  }
  if (realMoney && facts.kycStatus !== 'VERIFIED') {
    const threshold = policy.kycThresholdMinor;
    const lifetime = facts.lifetimeDepositsMinor;
    const kycNeeded =
      action === 'WITHDRAW' ||
      (action === 'DEPOSIT' && lifetime + amountMinor > threshold) ||
      (action === 'BET' && lifetime > threshold);
    if (kycNeeded) reasons.push({ reason: 'KYC_REQUIRED', untilMs: 0 });
  }
  if (
    realMoney &&
    action !== 'BET' &&
    policy.requireVerifiedEmail === true &&
    facts.emailVerified === false
  ) {
    reasons.push({ reason: 'EMAIL_NOT_VERIFIED', untilMs: 0 });
  }
  if (realMoney && action === 'DEPOSIT') {
    reasons.push(
      ...limitReasons(
        'DEPOSIT_LIMIT_EXCEEDED',
        facts.depositLimits,
        facts.deposits,
        amountMinor,
        nowMs,
      ),
    );
  }
  if (realMoney && action === 'BET') {
    reasons.push(
      ...limitReasons(
        'LOSS_LIMIT_EXCEEDED',
        facts.lossLimits,
        facts.losses,
        amountMinor,
        nowMs,
        facts.openStakesMinor ?? 0n,
      ),
    );
  }
  return { allowed: reasons.length === 0, reasons };
}

function limitReasons(
  reason: 'DEPOSIT_LIMIT_EXCEEDED' | 'LOSS_LIMIT_EXCEEDED',
  limits: Readonly<Record<LimitPeriodName, LimitState>>,
  entries: readonly DatedAmount[],
  amountMinor: bigint,
  nowMs: number,
  atRiskMinor = 0n,
): Ineligible[] {
  const reasons: Ineligible[] = [];
  for (const period of limitPeriods) {
    const limitMinor = limitAt(limits[period], nowMs).amountMinor;
    if (limitMinor === null) continue;
    const used = usedInWindow(entries, period, nowMs) + atRiskMinor;
    if (used + amountMinor <= limitMinor) continue;
    const remainingMinor = limitMinor > used ? limitMinor - used : 0n;
    const fit =
      reason === 'DEPOSIT_LIMIT_EXCEEDED'
        ? earliestFitMs(entries, period, limitMinor, amountMinor, nowMs)
        : null;
    reasons.push({ reason, untilMs: fit ?? 0, limit: { period, limitMinor, remainingMinor } });
  }
  return reasons;
}

const actionNoun: Readonly<Record<EligibilityActionName, string>> = {
  BET: 'bet',
  DEPOSIT: 'deposit',
  WITHDRAW: 'withdrawal',
};

function isoOrNever(untilMs: number, never: string): string {
  return untilMs === 0 ? never : `until ${new Date(untilMs).toISOString()}`;
}

/**
 * One sentence a person can act on: which restriction, which limit, and until when. Used in
 * FAILED_PRECONDITION messages (e.g. a refused deposit).
 */
export function describeIneligibility(
  action: EligibilityActionName,
  reason: Ineligible,
  currency: string,
): string {
  const noun = actionNoun[action];
  switch (reason.reason) {
    case 'ACCOUNT_FROZEN':
      return `${noun} refused: the account is frozen by an admin until it is unfrozen`;
    case 'SELF_EXCLUDED':
      return `${noun} refused: self-excluded ${isoOrNever(reason.untilMs, 'permanently')}`;
    case 'COOLING_OFF':
      return `${noun} refused: cooling off ${isoOrNever(reason.untilMs, '')}`.trimEnd();
    case 'UNDER_AGE':
      return `${noun} refused: real money requires age 18, reached ${new Date(reason.untilMs).toISOString()}`;
    case 'KYC_REQUIRED':
      return `${noun} refused: identity verification (KYC) is required first; submit it with StartKyc`;
    case 'EMAIL_NOT_VERIFIED':
      return `${noun} refused: confirm your email address first (the link in the verification email; ResendVerification sends a new one)`;
    case 'DEPOSIT_LIMIT_EXCEEDED':
    case 'LOSS_LIMIT_EXCEEDED': {
      const kind = reason.reason === 'DEPOSIT_LIMIT_EXCEEDED' ? 'deposit' : 'loss';
      const limit = reason.limit;
      const period = limit?.period ?? 'daily';
      const fits =
        reason.untilMs === 0
          ? 'the amount does not fit in this window'
          : `the same amount fits from ${new Date(reason.untilMs).toISOString()}`;
      return (
        `${noun} refused: ${period} ${kind} limit of ${limit?.limitMinor ?? 0n} ${currency} minor units ` +
        `would be exceeded; ${limit?.remainingMinor ?? 0n} still allowed now, ${fits}`
      );
    }
  }
}
