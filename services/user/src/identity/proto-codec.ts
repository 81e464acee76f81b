/**
 * Proto ↔ domain translation of the user service's messages (types.proto, user.proto): users, KYC
 * cases, limits, roles, statuses and money. The one codec of identity's route modules.
 */
import { create } from '@bufbuild/protobuf';
import { MoneySchema, Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  AccountStatus,
  AmountLimitSchema,
  DateSchema,
  KycCaseSchema,
  KycDocumentType,
  KycStatus,
  LimitKind,
  LimitPeriod,
  SelfExclusionDuration,
  SelfExclusionSchema,
  UserSchema,
  type AmountLimit,
  type KycCase,
  type User,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import type { Money } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { isAdultAt, type CalendarDate } from './domain/accounts/age.js';
import type { RoleName } from './domain/accounts/roles.js';
import { maskDocumentNumber, type KycCaseState, type KycStatusName } from './domain/kyc/kyc.js';
import {
  limitPeriods,
  type LimitKindName,
  type LimitPeriodName,
  type LimitState,
} from './domain/limits/limits.js';
import type { SelfExclusionState } from './domain/limits/restrictions.js';
import type { UserRecord } from './store/index.js';

const roleToProto: Readonly<Record<RoleName, Role>> = {
  viewer: Role.VIEWER,
  streamer: Role.STREAMER,
  admin: Role.ADMIN,
};

/** Proto role of a role name. */
export function roleProto(role: RoleName): Role {
  return roleToProto[role];
}

/** Proto account status of a stored status. */
export function accountStatusProto(status: 'active' | 'frozen'): AccountStatus {
  return status === 'active' ? AccountStatus.ACTIVE : AccountStatus.FROZEN;
}

/** Proto KYC status of a status name. */
export function kycStatusProto(status: KycStatusName): KycStatus {
  return KycStatus[status];
}

/** Status name of a proto KYC status; undefined for UNSPECIFIED or unknown values. */
export function kycStatusName(status: KycStatus): KycStatusName | undefined {
  const name = KycStatus[status] as string | undefined;
  return name === undefined || name === 'UNSPECIFIED' ? undefined : (name as KycStatusName);
}

/** The name of a proto enum value; undefined for UNSPECIFIED or unknown values. */
export function enumName<T extends string>(
  enumObject: Record<number, string>,
  value: number,
): T | undefined {
  const name = enumObject[value];
  return name === undefined || name === 'UNSPECIFIED' ? undefined : (name as T);
}

const limitPeriodToProto: Readonly<Record<LimitPeriodName, LimitPeriod>> = {
  daily: LimitPeriod.DAILY,
  weekly: LimitPeriod.WEEKLY,
  monthly: LimitPeriod.MONTHLY,
};

/** Proto period of a period name. */
export function limitPeriodProto(period: LimitPeriodName): LimitPeriod {
  return limitPeriodToProto[period];
}

/** Period name of a proto period; undefined for UNSPECIFIED or unknown values. */
export function limitPeriodName(period: LimitPeriod): LimitPeriodName | undefined {
  return limitPeriods.find((name) => limitPeriodToProto[name] === period);
}

/** A Money message. */
export function money(amountMinor: bigint, currency: string): Money {
  return create(MoneySchema, { amountMinor, currency });
}

/** The User message; the freeze reason only for admins (contract). */
export function userProto(user: UserRecord, nowMs: number, forAdmin: boolean): User {
  return create(UserSchema, {
    userId: user.userId,
    email: user.email,
    displayName: user.displayName,
    dateOfBirth: create(DateSchema, user.dateOfBirth),
    roles: user.roles.map(roleProto),
    status: accountStatusProto(user.status),
    kycStatus: kycStatusProto(user.kycStatus),
    realMoneyEligible: isAdultAt(user.dateOfBirth, nowMs),
    createdAtMs: BigInt(user.createdAtMs),
    frozenReason: forAdmin && user.status === 'frozen' ? user.frozenReason : '',
    emailVerified: (user.emailVerifiedAtMs ?? null) !== null,
    emailVerifiedAtMs: BigInt(user.emailVerifiedAtMs ?? 0),
  });
}

/** The KycCase message: document number masked and reviewer hidden unless for an admin. */
export function kycCaseProto(kase: KycCaseState, forAdmin: boolean): KycCase {
  return create(KycCaseSchema, {
    kycCaseId: kase.caseId,
    userId: kase.userId,
    status: kycStatusProto(kase.status),
    legalName: kase.legalName,
    documentType: KycDocumentType[kase.documentType],
    documentNumber: forAdmin ? kase.documentNumber : maskDocumentNumber(kase.documentNumber),
    documentCountry: kase.documentCountry,
    submittedAtMs: BigInt(kase.submittedAtMs),
    reviewedAtMs: BigInt(kase.reviewedAtMs),
    reviewerUserId: forAdmin ? kase.reviewerUserId : '',
    reviewReason: kase.reviewReason,
  });
}

/** The SelfExclusion message. */
export function selfExclusionProto(state: SelfExclusionState) {
  return create(SelfExclusionSchema, {
    duration: SelfExclusionDuration[state.duration],
    startedAtMs: BigInt(state.startedAtMs),
    untilMs: BigInt(state.untilMs ?? 0),
  });
}

/** The AmountLimit message: the limit in force, what is used of it and any pending change. */
export function amountLimitProto(
  kind: LimitKindName,
  period: LimitPeriodName,
  state: LimitState,
  usedMinor: bigint,
  currency: string,
): AmountLimit {
  return create(AmountLimitSchema, {
    kind: kind === 'deposit' ? LimitKind.DEPOSIT : LimitKind.LOSS,
    period: limitPeriodProto(period),
    ...(state.amountMinor === null ? {} : { amount: money(state.amountMinor, currency) }),
    used: money(usedMinor, currency),
    ...(state.pending === null
      ? {}
      : {
          pendingChange: {
            ...(state.pending.amountMinor === null
              ? {}
              : { amount: money(state.pending.amountMinor, currency) }),
            effectiveAtMs: BigInt(state.pending.effectiveAtMs),
          },
        }),
  });
}

/** A CalendarDate of a proto Date. */
export function dateOf(date: { year: number; month: number; day: number }): CalendarDate {
  return { year: date.year, month: date.month, day: date.day };
}
