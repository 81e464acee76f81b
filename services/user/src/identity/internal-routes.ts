/**
 * UserInternalService handlers (internal.proto): CheckEligibility (through the checker in
 * eligibility.ts), GetUsers, GrantRole, VerifySecondFactor (two-step.ts), for other services only (policy: `service`). ReserveStakes
 * lives in ../reservation/.
 */
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import type { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { EligibilityAction } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { callerKey } from '@streambet/platform/auth/caller';
import {
  PermissionDeniedError,
  ValidationError,
  type FieldViolation,
} from '@streambet/platform/errors/domain-errors';
import { isUlid } from '@streambet/platform/ids/ulid';
import { decideGrantStreamer } from './domain/accounts/account.js';
import { handleAccountCommand } from './account-commands.js';
import { accountStatusProto, roleProto } from './proto-codec.js';
import type { EligibilityActionName } from './domain/limits/eligibility.js';
import { existingUser, requireUlid } from './requests.js';
import { createSecondFactorVerifier } from './two-step.js';
import type { UserServiceSettings } from './routes.js';
import {
  createEligibilityChecker,
  eligibilityResultProto,
  maxBatch,
  type EligibilityCheckerDeps,
  type EligibilityRequest,
} from './eligibility.js';

/** Dependencies of the internal service: the checker's, and who may call what. */
export interface UserInternalDeps extends EligibilityCheckerDeps {
  /** The eligibility settings and the key of the TOTP secrets (VerifySecondFactor). */
  readonly settings: EligibilityCheckerDeps['settings'] &
    Partial<Pick<UserServiceSettings, 'deviceIdHashKey' | 'totpSecretKey'>>;
  /**
   * Which services may call which RPC (by the `sub` of their credential); an RPC missing here is
   * open to every service. Default: CheckEligibility for bet-engine and payment, GrantRole for
   * integration.
   */
  readonly allowedServices?: Partial<
    Record<'checkEligibility' | 'getUsers' | 'grantRole' | 'verifySecondFactor', readonly string[]>
  >;
}

/** The domain's action name of each proto action. */
const actionNames: Readonly<Partial<Record<EligibilityAction, EligibilityActionName>>> = {
  [EligibilityAction.BET]: 'BET',
  [EligibilityAction.DEPOSIT]: 'DEPOSIT',
  [EligibilityAction.WITHDRAW]: 'WITHDRAW',
};

const defaultAllowedServices: NonNullable<UserInternalDeps['allowedServices']> = {
  checkEligibility: ['bet-engine', 'payment'],
  grantRole: ['integration'],
  verifySecondFactor: ['payment'],
};

/** Creates the UserInternalService handlers. */
export function createUserInternalService(
  deps: UserInternalDeps,
): Omit<ServiceImpl<typeof UserInternalService>, 'reserveStakes'> {
  const { sql, store } = deps;
  const checker = createEligibilityChecker(deps);
  const secondFactor = createSecondFactorVerifier(deps);
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

    async verifySecondFactor(req, ctx) {
      requireService(ctx, 'verifySecondFactor');
      requireUlid('user_id', req.userId);
      await existingUser(store, sql, req.userId);
      const required = await secondFactor.verify(req.userId, {
        field: 'code',
        code: req.code,
        address: req.clientAddress.trim().slice(0, 64),
      });
      return { required };
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
      const { after, applied } = await handleAccountCommand(
        deps,
        req.userId,
        { userId: '', role: Role.SERVICE },
        decideGrantStreamer,
      );
      return { roles: after.roles.map(roleProto), granted: applied.length > 0 };
    },
  };
}
