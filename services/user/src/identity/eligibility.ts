/**
 * The eligibility checker (may this user bet, deposit or withdraw this amount now?): answers
 * CheckEligibility in batches from one statement's facts, and lets in-process paths refuse with
 * {@link IneligibleError} (FAILED_PRECONDITION with the EligibilityResult attached). The rules are
 * in domain/limits/eligibility.ts.
 */
import { quoteInput } from '@streambet/platform/errors/quote-input';
import { create } from '@bufbuild/protobuf';
import {
  EligibilityResultSchema,
  IneligibilityReason,
  LimitPeriod,
  type EligibilityResult,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import {
  IllegalStateError,
  NotFoundError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import { isUlid } from '@streambet/platform/ids/ulid';
import {
  describeIneligibility,
  evaluateEligibility,
  playCurrency,
  type EligibilityAnswer,
  type EligibilityFacts,
  type EligibilityQuestion,
} from './domain/limits/eligibility.js';
import { periodMs, type DatedAmount } from './domain/limits/limits.js';
import { type IdentityStore } from './store/index.js';
import { limitPeriodProto, money } from './proto-codec.js';
import type { UserServiceSettings } from './routes.js';

/** Most checks or ids in one call. */
export const maxBatch = 1000;

/** One eligibility question about one user. */
export interface EligibilityRequest extends EligibilityQuestion {
  readonly userId: string;
}

/** The answer to one {@link EligibilityRequest}; `userFound` false = no such user (not allowed). */
export interface EligibilityVerdict {
  readonly userId: string;
  readonly userFound: boolean;
  readonly answer: EligibilityAnswer;
}

/**
 * An action refused for eligibility reasons (FAILED_PRECONDITION). The message names every
 * restriction, which limit and until when; `answer` keeps the structured reasons, and the
 * contract's EligibilityResult travels as the status's detail (types.proto: clients show reason
 * and end time), attached by the platform's error interceptor like any domain error's details.
 */
export class IneligibleError extends IllegalStateError {
  constructor(
    readonly request: EligibilityRequest,
    readonly answer: EligibilityAnswer,
  ) {
    super(
      answer.reasons
        .map((reason) => describeIneligibility(request.action, reason, request.currency))
        .join('; '),
      {
        details: [
          {
            desc: EligibilityResultSchema,
            value: eligibilityResultProto(answer, request.currency),
          },
        ],
      },
    );
  }
}

/** The contract's EligibilityResult of an answer. */
export function eligibilityResultProto(
  answer: EligibilityAnswer,
  currency: string,
): EligibilityResult {
  return create(EligibilityResultSchema, {
    allowed: answer.allowed,
    reasons: answer.reasons.map((reason) => ({
      reason: IneligibilityReason[reason.reason],
      untilMs: BigInt(reason.untilMs),
      ...(reason.limit === undefined
        ? { period: LimitPeriod.UNSPECIFIED }
        : {
            remaining: money(reason.limit.remainingMinor, currency),
            period: limitPeriodProto(reason.limit.period),
          }),
    })),
  });
}

/** Dependencies of the checker. */
export interface EligibilityCheckerDeps {
  readonly sql: Sql;
  readonly store: IdentityStore;
  readonly clock: Clock;
  readonly settings: Pick<UserServiceSettings, 'realCurrency' | 'kycThresholdMinor'> &
    Partial<Pick<UserServiceSettings, 'requireVerifiedEmail'>>;
  /**
   * Open real-money stakes per user (the ledger's open BET_STAKE holds on each real wallet),
   * counted against loss limits; without it open stakes count as 0.
   */
  readonly openStakes?: (userIds: readonly string[]) => Promise<ReadonlyMap<string, bigint>>;
}

/** Answers eligibility questions from the database at the clock's now. */
export interface EligibilityChecker {
  /** Answers every request, in order; validates them first (INVALID_ARGUMENT naming the bad one). */
  check(requests: readonly EligibilityRequest[], db?: SqlExecutor): Promise<EligibilityVerdict[]>;
  /** Throws NotFoundError (no user) or {@link IneligibleError} unless the action is allowed. */
  assertAllowed(request: EligibilityRequest, db?: SqlExecutor): Promise<void>;
}

/** Creates the eligibility checker. */
export function createEligibilityChecker(deps: EligibilityCheckerDeps): EligibilityChecker {
  const { store, clock, settings } = deps;
  const policy = {
    realCurrency: settings.realCurrency,
    kycThresholdMinor: settings.kycThresholdMinor,
    requireVerifiedEmail: settings.requireVerifiedEmail === true,
  };

  function validate(requests: readonly EligibilityRequest[]): void {
    if (requests.length === 0 || requests.length > maxBatch) {
      throw new ValidationError('bad eligibility request', [
        { field: 'checks', description: `must hold 1–${maxBatch} checks, got ${requests.length}` },
      ]);
    }
    const violations: FieldViolation[] = [];
    requests.forEach((request, index) => {
      const at = `checks[${index}]`;
      if (request.amountMinor <= 0n) {
        violations.push({ field: `${at}.amount.amount_minor`, description: 'must be positive' });
      }
      if (request.currency !== settings.realCurrency && request.currency !== playCurrency) {
        violations.push({
          field: `${at}.amount.currency`,
          description: `must be ${settings.realCurrency} or ${playCurrency}, got "${request.currency}"`,
        });
      } else if (request.action !== 'BET' && request.currency === playCurrency) {
        violations.push({
          field: `${at}.amount.currency`,
          description: `deposits and withdrawals are in ${settings.realCurrency}; play money is not deposited`,
        });
      }
    });
    if (violations.length > 0)
      throw new ValidationError('bad eligibility request', violations.slice(0, 20));
  }

  async function check(requests: readonly EligibilityRequest[], db: SqlExecutor = deps.sql) {
    validate(requests);
    const nowMs = clock.now();
    const ids = [...new Set(requests.map((r) => r.userId).filter(isUlid))];
    const since = nowMs - periodMs.monthly;
    const { users, limits, deposits, losses } = await store.eligibilityFacts(db, ids, since);
    const bettors = [
      ...new Set(
        requests
          .filter((r) => r.action === 'BET' && r.currency === settings.realCurrency)
          .map((r) => r.userId)
          .filter((id) => isUlid(id) && limits.has(id)),
      ),
    ];
    const openStakes =
      deps.openStakes === undefined || bettors.length === 0
        ? new Map<string, bigint>()
        : await deps.openStakes(bettors);
    // Real-money amounts this call already allowed, per user: a later check of the same user in
    // the same call counts them as if they happened (a bet's stake as at risk, a deposit as made),
    // so a batch of placements cannot together pass a limit that each passes alone.
    const allowedStakes = new Map<string, bigint>();
    const allowedDeposits = new Map<string, DatedAmount[]>();
    return requests.map((request): EligibilityVerdict => {
      const user = users.get(request.userId);
      const userLimits = limits.get(request.userId);
      if (user === undefined || userLimits === undefined) {
        return {
          userId: request.userId,
          userFound: false,
          answer: { allowed: false, reasons: [] },
        };
      }
      const facts: EligibilityFacts = {
        frozen: user.status === 'frozen',
        dateOfBirth: user.dateOfBirth,
        kycStatus: user.kycStatus,
        lifetimeDepositsMinor: user.lifetimeDepositsMinor,
        emailVerified: (user.emailVerifiedAtMs ?? null) !== null,
        coolOffUntilMs: user.coolOffUntilMs,
        selfExclusion: user.selfExclusion,
        depositLimits: userLimits.deposit,
        lossLimits: userLimits.loss,
        deposits: [
          ...(deposits.get(request.userId) ?? []),
          ...(allowedDeposits.get(request.userId) ?? []),
        ],
        losses: losses.get(request.userId) ?? [],
        openStakesMinor:
          (openStakes.get(request.userId) ?? 0n) + (allowedStakes.get(request.userId) ?? 0n),
      };
      const answer = evaluateEligibility(facts, request, policy, nowMs);
      if (answer.allowed && request.currency === settings.realCurrency) {
        if (request.action === 'BET') {
          allowedStakes.set(
            request.userId,
            (allowedStakes.get(request.userId) ?? 0n) + request.amountMinor,
          );
        } else if (request.action === 'DEPOSIT') {
          const earlier = allowedDeposits.get(request.userId) ?? [];
          allowedDeposits.set(request.userId, [
            ...earlier,
            { atMs: nowMs, amountMinor: request.amountMinor },
          ]);
        }
      }
      return { userId: request.userId, userFound: true, answer };
    });
  }

  return {
    check,
    async assertAllowed(request, db) {
      const [verdict] = await check([request], db);
      if (verdict === undefined || !verdict.userFound)
        throw new NotFoundError(`no user with id ${quoteInput(request.userId)}`);
      if (!verdict.answer.allowed) throw new IneligibleError(request, verdict.answer);
    },
  };
}
