/**
 * KYC routes (StartKyc, GetKycStatus, ListKycCases, ReviewKyc) and the decision on a case, which
 * the provider's webhook (kyc-webhook.ts) applies too. The rules are in domain/kyc/kyc.ts.
 */
import { quoteInput } from '@streambet/platform/errors/quote-input';
import { KycStatusChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { KycDocumentType, KycStatus } from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import { KycDecision } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import {
  IllegalStateError,
  NotFoundError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import {
  assertCanStartKyc,
  decideReview,
  kycRequirement,
  validateKycSubmission,
  type KycCaseState,
  type KycDecisionName,
  type KycDocumentTypeName,
} from './domain/kyc/kyc.js';
import { userEvent, type EventActor, type IdentityStore } from './store/index.js';

import { kycStatusProto, kycStatusName, enumName, kycCaseProto } from './proto-codec.js';
import {
  userCaller,
  actorOf,
  requireUlid,
  targetUser,
  existingUser,
  readPage,
  nextPageToken,
} from './requests.js';
import type { UserServiceDeps, UserServiceImpl } from './routes.js';

/** Input of {@link decideKycCase}. */
export interface KycCaseDecisionInput {
  readonly caseId: string;
  readonly decision: KycDecisionName | undefined;
  readonly reason: string;
  /** Admin user id, or empty for the provider's webhook. */
  readonly reviewerUserId: string;
  readonly actor: EventActor | undefined;
  readonly nowMs: number;
}

/**
 * Applies a KYC decision in `tx`: locks the user then the case, decides (the same decision again
 * changes nothing; a different one on a decided case is FAILED_PRECONDITION), writes the case and
 * the user's status, and appends KycStatusChanged.
 */
export async function decideKycCase(
  store: IdentityStore,
  tx: SqlExecutor,
  input: KycCaseDecisionInput,
): Promise<KycCaseState> {
  const peek = await store.getKycCase(tx, input.caseId);
  if (peek === undefined)
    throw new NotFoundError(`no KYC case with id ${quoteInput(input.caseId)}`);
  const user = await existingUser(store, tx, peek.userId, { forUpdate: true });
  const kase = await store.getKycCase(tx, input.caseId, { forUpdate: true });
  if (kase === undefined)
    throw new NotFoundError(`no KYC case with id ${quoteInput(input.caseId)}`);
  const outcome = decideReview(
    kase,
    input.decision,
    input.reason,
    input.reviewerUserId,
    input.nowMs,
  );
  if (!outcome.changed) return outcome.kase;
  await store.updateKycCase(tx, outcome.kase);
  await store.setKycStatus(tx, user.userId, outcome.kase.status);
  await store.appendEvents(tx, [
    userEvent(
      KycStatusChangedSchema,
      user.userId,
      {
        kycCaseId: kase.caseId,
        previousStatus: kycStatusProto(user.kycStatus),
        status: kycStatusProto(outcome.kase.status),
        reason: outcome.kase.status === 'REJECTED' ? outcome.kase.reviewReason : '',
      },
      input.actor,
    ),
  ]);
  return outcome.kase;
}

/** The KYC RPCs of UserService. */
export function createKycRoutes(
  deps: UserServiceDeps,
  newId: (nowMs: number) => string,
): Pick<UserServiceImpl, 'startKyc' | 'getKycStatus' | 'listKycCases' | 'reviewKyc'> {
  const { sql, store, clock, settings } = deps;
  return {
    async startKyc(req, ctx) {
      const caller = userCaller(ctx);
      const submission = validateKycSubmission({
        legalName: req.legalName,
        documentType: enumName<KycDocumentTypeName>(KycDocumentType, req.documentType),
        documentNumber: req.documentNumber,
        documentCountry: req.documentCountry,
      });
      const before = await existingUser(store, sql, caller.userId);
      assertCanStartKyc(before.kycStatus);
      const nowMs = clock.now();
      const kase: KycCaseState = {
        caseId: newId(nowMs),
        userId: caller.userId,
        status: 'PENDING_REVIEW',
        ...submission,
        submittedAtMs: nowMs,
        reviewedAtMs: 0,
        reviewerUserId: '',
        reviewReason: '',
      };
      const { providerReference } = await deps.kycProvider.submit({
        caseId: kase.caseId,
        userId: kase.userId,
        legalName: kase.legalName,
        documentType: kase.documentType,
        documentNumber: kase.documentNumber,
        documentCountry: kase.documentCountry,
      });
      await sql.transaction(async (tx) => {
        const user = await existingUser(store, tx, caller.userId, { forUpdate: true });
        assertCanStartKyc(user.kycStatus);
        if (!(await store.insertKycCase(tx, kase, providerReference))) {
          throw new IllegalStateError(
            'a KYC case is already pending review; wait for its decision',
          );
        }
        await store.setKycStatus(tx, user.userId, 'PENDING_REVIEW');
        await store.appendEvents(tx, [
          userEvent(
            KycStatusChangedSchema,
            user.userId,
            {
              kycCaseId: kase.caseId,
              previousStatus: kycStatusProto(user.kycStatus),
              status: KycStatus.PENDING_REVIEW,
              reason: '',
            },
            actorOf(caller),
          ),
        ]);
      });
      return { kycCase: kycCaseProto(kase, false) };
    },

    async getKycStatus(req, ctx) {
      const caller = userCaller(ctx);
      const userId = targetUser(caller, req.userId, 'KYC status');
      const user = await existingUser(store, sql, userId);
      const latest = await store.latestKycCase(sql, userId);
      const requirement = kycRequirement(
        user.kycStatus,
        user.lifetimeDepositsMinor,
        settings.kycThresholdMinor,
      );
      return {
        status: kycStatusProto(user.kycStatus),
        ...(latest === undefined
          ? {}
          : { latestCase: kycCaseProto(latest, caller.role === 'admin') }),
        requiredForWithdrawal: requirement.requiredForWithdrawal,
        requiredForRealMoney: requirement.requiredForRealMoney,
      };
    },

    async listKycCases(req) {
      const page = readPage(req.page);
      const status = kycStatusName(req.status);
      if (status === 'NOT_STARTED') {
        throw new ValidationError('bad filter', [
          {
            field: 'status',
            description: 'cases are never NOT_STARTED; use PENDING_REVIEW, VERIFIED or REJECTED',
          },
        ]);
      }
      const cases = await store.listKycCases(sql, {
        status,
        userId: req.userId === '' ? undefined : requireUlid('user_id', req.userId),
        afterCaseId: page.cursor,
        limit: page.size + 1,
      });
      return {
        cases: cases.slice(0, page.size).map((kase) => kycCaseProto(kase, true)),
        page: {
          nextPageToken: nextPageToken(
            cases.map((c) => c.caseId),
            page.size,
          ),
        },
      };
    },

    async reviewKyc(req, ctx) {
      const caller = userCaller(ctx);
      requireUlid('kyc_case_id', req.kycCaseId);
      const decision: KycDecisionName | undefined =
        req.decision === KycDecision.APPROVE
          ? 'APPROVE'
          : req.decision === KycDecision.REJECT
            ? 'REJECT'
            : undefined;
      const nowMs = clock.now();
      const kase = await sql.transaction((tx) =>
        decideKycCase(store, tx, {
          caseId: req.kycCaseId,
          decision,
          reason: req.reason,
          reviewerUserId: caller.userId,
          actor: actorOf(caller),
          nowMs,
        }),
      );
      return { kycCase: kycCaseProto(kase, true) };
    },
  };
}
