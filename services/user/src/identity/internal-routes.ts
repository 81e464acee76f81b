/**
 * UserInternalService handlers (internal.proto): CheckEligibility, GetUsers, GrantRole, for other
 * services only (policy: `service`). Also the eligibility checker itself, which the ledger/payment
 * paths in this process can call directly to refuse a deposit with FAILED_PRECONDITION.
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { UserRoleGrantedSchema } from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import type { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import {
  EligibilityAction,
  EligibilityResultSchema,
  IneligibilityReason,
  LimitPeriod,
  type EligibilityResult,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { callerKey } from '@streambet/platform/auth/caller';
import {
  IllegalStateError,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import { isUlid } from '@streambet/platform/ids/ulid';
import { normalizeRoles } from './domain/accounts/roles.js';
import {
  describeIneligibility,
  evaluateEligibility,
  playCurrency,
  type EligibilityActionName,
  type EligibilityAnswer,
  type EligibilityFacts,
  type EligibilityQuestion,
} from './domain/limits/eligibility.js';
import { periodMs, type DatedAmount } from './domain/limits/limits.js';
import { userEvent, type IdentityStore } from './store/index.js';
import { accountStatusProto, limitPeriodProto, money, roleProto } from './proto-codec.js';
import { requireUlid } from './requests.js';
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
 * restriction, which limit and until when; `answer` keeps the structured reasons.
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
    );
  }
}

/** The contract's EligibilityResult of an answer. */
function eligibilityResultProto(
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

/**
 * The FAILED_PRECONDITION a Connect handler should throw for an {@link IneligibleError}, with the
 * EligibilityResult attached as an error detail (types.proto: clients show reason and end time).
 */
export function ineligibleConnectError(error: IneligibleError): ConnectError {
  return new ConnectError(
    error.message,
    Code.FailedPrecondition,
    undefined,
    [
      {
        desc: EligibilityResultSchema,
        value: eligibilityResultProto(error.answer, error.request.currency),
      },
    ],
    error,
  );
}

/** Dependencies of the checker and the internal service. */
export interface UserInternalDeps {
  readonly sql: Sql;
  readonly store: IdentityStore;
  readonly clock: Clock;
  readonly settings: Pick<UserServiceSettings, 'realCurrency' | 'kycThresholdMinor'>;
  /**
   * Which services may call which RPC (by the `sub` of their credential); an RPC missing here is
   * open to every service. Default: CheckEligibility for bet-engine and payment, GrantRole for
   * integration.
   */
  readonly allowedServices?: Partial<
    Record<'checkEligibility' | 'getUsers' | 'grantRole', readonly string[]>
  >;
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

const actionNames: Readonly<Partial<Record<EligibilityAction, EligibilityActionName>>> = {
  [EligibilityAction.BET]: 'BET',
  [EligibilityAction.DEPOSIT]: 'DEPOSIT',
  [EligibilityAction.WITHDRAW]: 'WITHDRAW',
};

/** Creates the eligibility checker. */
export function createEligibilityChecker(deps: UserInternalDeps): EligibilityChecker {
  const { store, clock, settings } = deps;
  const policy = {
    realCurrency: settings.realCurrency,
    kycThresholdMinor: settings.kycThresholdMinor,
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
        throw new NotFoundError(`no user with id ${request.userId}`);
      if (!verdict.answer.allowed) throw new IneligibleError(request, verdict.answer);
    },
  };
}

const defaultAllowedServices: NonNullable<UserInternalDeps['allowedServices']> = {
  checkEligibility: ['bet-engine', 'payment'],
  grantRole: ['integration'],
};

/** Creates the UserInternalService handlers. */
export function createUserInternalService(
  deps: UserInternalDeps,
): ServiceImpl<typeof UserInternalService> {
  const { sql, store } = deps;
  const checker = createEligibilityChecker(deps);
  const allowed = deps.allowedServices ?? defaultAllowedServices;

  function requireService(
    ctx: HandlerContext,
    rpc: keyof typeof defaultAllowedServices | 'getUsers',
  ): void {
    const caller = ctx.values.get(callerKey);
    const list = allowed[rpc];
    if (caller.kind !== 'service') {
      throw new PermissionDeniedError('this method is internal: only services may call it');
    }
    if (list !== undefined && !list.includes(caller.service)) {
      throw new PermissionDeniedError(
        `service "${caller.service}" may not call ${rpc}; allowed: ${list.join(', ')}`,
      );
    }
  }

  return {
    async checkEligibility(req, ctx) {
      requireService(ctx, 'checkEligibility');
      const violations: FieldViolation[] = [];
      const requests = req.checks.map((check, index): EligibilityRequest => {
        const action = actionNames[check.action];
        if (action === undefined) {
          violations.push({
            field: `checks[${index}].action`,
            description: 'is required (BET, DEPOSIT or WITHDRAW)',
          });
        }
        if (check.amount === undefined) {
          violations.push({ field: `checks[${index}].amount`, description: 'is required' });
        }
        return {
          userId: check.userId,
          action: action ?? 'BET',
          amountMinor: check.amount?.amountMinor ?? 1n,
          currency: check.amount?.currency ?? deps.settings.realCurrency,
        };
      });
      if (violations.length > 0)
        throw new ValidationError('bad eligibility request', violations.slice(0, 20));
      // One statement (see eligibilityFacts): one snapshot, one round trip, one commit per batch.
      const verdicts = await checker.check(requests);
      return {
        results: verdicts.map((verdict, index) => ({
          userId: verdict.userId,
          userFound: verdict.userFound,
          result: eligibilityResultProto(verdict.answer, requests[index]!.currency),
        })),
      };
    },

    async getUsers(req, ctx) {
      requireService(ctx, 'getUsers');
      if (req.userIds.length === 0 || req.userIds.length > maxBatch) {
        throw new ValidationError('bad request', [
          {
            field: 'user_ids',
            description: `must hold 1–${maxBatch} ids, got ${req.userIds.length}`,
          },
        ]);
      }
      const users = await store.getUsers(sql, req.userIds.filter(isUlid));
      return {
        users: req.userIds.flatMap((id) => {
          const user = users.get(id);
          return user === undefined
            ? []
            : [
                {
                  userId: user.userId,
                  displayName: user.displayName,
                  roles: user.roles.map(roleProto),
                  status: accountStatusProto(user.status),
                },
              ];
        }),
      };
    },

    async grantRole(req, ctx) {
      requireService(ctx, 'grantRole');
      requireUlid('user_id', req.userId);
      if (req.role !== Role.STREAMER) {
        throw new ValidationError('role grant refused', [
          {
            field: 'role',
            description:
              'must be ROLE_STREAMER (viewer is implicit, admin is granted out of band, service is never a user role)',
          },
        ]);
      }
      return sql.transaction(async (tx) => {
        const user = await store.getUser(tx, req.userId, { forUpdate: true });
        if (user === undefined) throw new NotFoundError(`no user with id ${req.userId}`);
        if (user.roles.includes('streamer'))
          return { roles: user.roles.map(roleProto), granted: false };
        const roles = normalizeRoles([...user.roles, 'streamer']);
        await store.setRoles(tx, user.userId, roles);
        await store.appendEvents(tx, [
          userEvent(
            UserRoleGrantedSchema,
            user.userId,
            { role: Role.STREAMER, roles: roles.map(roleProto) },
            { userId: '', role: Role.SERVICE },
          ),
        ]);
        return { roles: roles.map(roleProto), granted: true };
      });
    },
  };
}
