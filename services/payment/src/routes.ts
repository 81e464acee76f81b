/**
 * PaymentService (payment.proto): proto ↔ domain translation and the per-user access rules of
 * GetPayment / ListPayments (owners see their own; admins see any, without the owner's client
 * action). Validation of amounts, currencies and destinations is the domain's (domain/limits.ts).
 */
import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { PageRequest } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  DepositActionSchema,
  PaymentKind as ProtoKind,
  PaymentProvider as ProtoProvider,
  PaymentSchema,
  PaymentStatus as ProtoStatus,
  PixKeyType as ProtoPixKeyType,
  ReconciliationReportSchema,
  type DepositAction,
  type Payment,
  type PaymentService,
  type WithdrawalDestination,
} from '@streambet/contracts/gen/streambet/payment/v1/payment_pb';
import { callerKey } from '@streambet/platform/auth/caller';
import type { Clock } from '@streambet/platform/rpc/clock';
import {
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from '@streambet/platform/errors/domain-errors';
import { maskKey, type Destination, type PixKeyType } from './domain/limits.js';
import type { PaymentStatus, Provider } from './domain/payment.js';
import { dayMs } from './domain/reconciliation-report.js';
import type { Payments } from './payments.js';
import type { ReportStore } from './report-store.js';
import { protoStatus, type PaymentRow, type PaymentStore } from './store.js';

const defaultPageSize = 50;
const maxPageSize = 200;
/** Longest range ListReconciliationReports answers. */
const maxReportRangeMs = 366 * 86_400_000;

const providers: Readonly<Partial<Record<ProtoProvider, Provider>>> = {
  [ProtoProvider.STRIPE]: 'STRIPE',
  [ProtoProvider.MERCADOPAGO_PIX]: 'MERCADOPAGO_PIX',
};
const protoProviders: Readonly<Record<Provider, ProtoProvider>> = {
  STRIPE: ProtoProvider.STRIPE,
  MERCADOPAGO_PIX: ProtoProvider.MERCADOPAGO_PIX,
};
const pixKeyTypes: Readonly<Partial<Record<ProtoPixKeyType, PixKeyType>>> = {
  [ProtoPixKeyType.CPF]: 'CPF',
  [ProtoPixKeyType.EMAIL]: 'EMAIL',
  [ProtoPixKeyType.PHONE]: 'PHONE',
  [ProtoPixKeyType.RANDOM]: 'RANDOM',
};
const protoPixKeyTypes: Readonly<Record<PixKeyType, ProtoPixKeyType>> = {
  CPF: ProtoPixKeyType.CPF,
  EMAIL: ProtoPixKeyType.EMAIL,
  PHONE: ProtoPixKeyType.PHONE,
  RANDOM: ProtoPixKeyType.RANDOM,
};

/** Which stored statuses each contract status stands for (ListPayments' filter). */
const storedStatuses: Readonly<Partial<Record<ProtoStatus, readonly PaymentStatus[]>>> = {
  [ProtoStatus.REQUIRES_ACTION]: ['CREATED', 'REQUIRES_ACTION'],
  [ProtoStatus.PROCESSING]: ['PROCESSING', 'REQUESTED', 'HELD', 'PAYOUT_SENT'],
  [ProtoStatus.SUCCEEDED]: ['SUCCEEDED', 'PAID'],
  [ProtoStatus.FAILED]: ['FAILED'],
  [ProtoStatus.CANCELED]: ['CANCELED'],
  [ProtoStatus.EXPIRED]: ['EXPIRED'],
};

function user(context: HandlerContext): { userId: string; admin: boolean } {
  const caller = context.values.get(callerKey);
  if (caller.kind !== 'user') throw new PermissionDeniedError('this call needs a signed-in user');
  return { userId: caller.userId, admin: caller.role === 'admin' };
}

function destinationFromProto(
  destination: WithdrawalDestination | undefined,
): Destination | undefined {
  const value = destination?.destination;
  if (value?.case === 'pix') {
    return { kind: 'pix', keyType: pixKeyTypes[value.value.keyType], key: value.value.key };
  }
  if (value?.case === 'stripe') {
    return { kind: 'stripe', connectedAccountId: value.value.connectedAccountId };
  }
  return undefined;
}

/** The contract's Payment of a stored row (destination keys masked). */
export function paymentToProto(row: PaymentRow): Payment {
  const destination = row.destination;
  return create(PaymentSchema, {
    paymentId: row.paymentId,
    userId: row.userId,
    kind: row.kind === 'DEPOSIT' ? ProtoKind.DEPOSIT : ProtoKind.WITHDRAWAL,
    provider: protoProviders[row.provider],
    amount: { currency: row.currency, amountMinor: row.amountMinor },
    status: protoStatus(row),
    providerReference: row.providerReference,
    failureCode: row.failureCode,
    failureMessage: row.failureMessage,
    ...(destination === null
      ? {}
      : {
          destination: {
            destination:
              destination.kind === 'pix'
                ? {
                    case: 'pix' as const,
                    value: {
                      keyType:
                        destination.keyType === undefined
                          ? ProtoPixKeyType.UNSPECIFIED
                          : protoPixKeyTypes[destination.keyType],
                      key: maskKey(destination.key),
                    },
                  }
                : {
                    case: 'stripe' as const,
                    value: { connectedAccountId: maskKey(destination.connectedAccountId) },
                  },
          },
        }),
    ledgerTransferId: row.ledgerTransferId,
    createdAtMs: BigInt(row.createdAtMs),
    updatedAtMs: BigInt(row.updatedAtMs),
    completedAtMs: BigInt(row.completedAtMs),
  });
}

/** The pending client action of an unpaid deposit, for its owner. */
export function actionToProto(row: PaymentRow): DepositAction | undefined {
  const action = row.clientAction;
  if (
    action === null ||
    row.kind !== 'DEPOSIT' ||
    protoStatus(row) !== ProtoStatus.REQUIRES_ACTION
  ) {
    return undefined;
  }
  return create(DepositActionSchema, {
    action:
      action.kind === 'stripe'
        ? {
            case: 'stripe',
            value: { clientSecret: action.clientSecret, publishableKey: action.publishableKey },
          }
        : {
            case: 'pix',
            value: {
              qrCode: action.qrCode,
              qrCodePngBase64: action.qrCodePngBase64,
              ticketUrl: action.ticketUrl,
              expiresAtMs: BigInt(action.expiresAtMs),
            },
          },
  });
}

function pageSize(page: PageRequest | undefined): number {
  const size = page?.pageSize ?? 0;
  if (size === 0) return defaultPageSize;
  if (size < 1 || size > maxPageSize) {
    throw new ValidationError('invalid page', [
      { field: 'page.page_size', description: `must be between 1 and ${maxPageSize} (0 = 50)` },
    ]);
  }
  return size;
}

function decodeToken(token: string): { createdAtMs: number; paymentId: string } | undefined {
  if (token === '') return undefined;
  const match = /^(\d{1,15})\.([0-9A-HJKMNP-TV-Z]{26})$/.exec(token);
  if (match === null) {
    throw new ValidationError('invalid page', [
      { field: 'page.page_token', description: 'is not a token this RPC issued' },
    ]);
  }
  return { createdAtMs: Number(match[1]), paymentId: match[2]! };
}

/** PaymentService's handlers. */
export function createPaymentServiceImpl(deps: {
  readonly payments: Payments;
  readonly store: PaymentStore;
  readonly reports: ReportStore;
  readonly clock: Clock;
}): ServiceImpl<typeof PaymentService> {
  const { payments, store, reports } = deps;
  return {
    async createDeposit(request, context) {
      const caller = user(context);
      const row = await payments.createDeposit({
        userId: caller.userId,
        idempotencyKey: request.idempotencyKey,
        provider: providers[request.provider],
        amountMinor: request.amount?.amountMinor ?? 0n,
        currency: request.amount?.currency ?? '',
      });
      const action = actionToProto(row);
      return {
        payment: paymentToProto(row),
        ...(action === undefined ? {} : { nextAction: action }),
      };
    },

    async requestWithdrawal(request, context) {
      const caller = user(context);
      const row = await payments.requestWithdrawal({
        userId: caller.userId,
        idempotencyKey: request.idempotencyKey,
        amountMinor: request.amount?.amountMinor ?? 0n,
        currency: request.amount?.currency ?? '',
        destination: destinationFromProto(request.destination),
        secondFactorCode: request.secondFactorCode,
        clientAddress: (context.requestHeader.get('x-forwarded-for') ?? '').split(',')[0]!.trim(),
      });
      return { payment: paymentToProto(row) };
    },

    async getPayment(request, context) {
      const caller = user(context);
      const row = /^[0-9A-HJKMNP-TV-Z]{26}$/.test(request.paymentId)
        ? await store.get(request.paymentId)
        : undefined;
      if (row === undefined || (!caller.admin && row.userId !== caller.userId)) {
        throw new NotFoundError('no such payment');
      }
      const action = row.userId === caller.userId ? actionToProto(row) : undefined;
      return {
        payment: paymentToProto(row),
        ...(action === undefined ? {} : { nextAction: action }),
      };
    },

    async listPayments(request, context) {
      const caller = user(context);
      if (!caller.admin && request.userId !== '' && request.userId !== caller.userId) {
        throw new PermissionDeniedError("only admins may list another user's payments");
      }
      const fromMs = Number(request.fromMs);
      const toMs = Number(request.toMs);
      if (fromMs < 0 || toMs < 0 || (fromMs > 0 && toMs > 0 && toMs <= fromMs)) {
        throw new ValidationError('invalid time range', [
          { field: 'to_ms', description: 'must be greater than from_ms when both are set' },
        ]);
      }
      const limit = pageSize(request.page);
      const after = decodeToken(request.page?.pageToken ?? '');
      const userId = caller.admin ? request.userId || undefined : caller.userId;
      const statuses = request.statuses.flatMap((status) => storedStatuses[status] ?? []);
      const rows = await store.list({
        ...(userId === undefined ? {} : { userId }),
        ...(request.kind === ProtoKind.DEPOSIT
          ? { kind: 'DEPOSIT' as const }
          : request.kind === ProtoKind.WITHDRAWAL
            ? { kind: 'WITHDRAWAL' as const }
            : {}),
        ...(request.statuses.length > 0 ? { statuses } : {}),
        ...(providers[request.provider] === undefined
          ? {}
          : { provider: providers[request.provider]! }),
        fromMs,
        toMs,
        ...(after === undefined ? {} : { after }),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        payments: page.map(paymentToProto),
        page: {
          nextPageToken:
            rows.length > limit && last !== undefined
              ? `${last.createdAtMs}.${last.paymentId}`
              : '',
        },
      };
    },

    async listReconciliationReports(request) {
      const toMs = Number(request.toMs) || deps.clock.now();
      const fromMs = Number(request.fromMs) || toMs - 30 * dayMs;
      if (fromMs < 0 || toMs <= fromMs || toMs - fromMs > maxReportRangeMs) {
        throw new ValidationError('invalid time range', [
          {
            field: 'to_ms',
            description: 'must be greater than from_ms, at most 366 days after it',
          },
        ]);
      }
      const rows = await reports.list({ fromMs, toMs, onlyFlagged: request.onlyFlagged });
      return {
        reports: rows.map((r) =>
          create(ReconciliationReportSchema, {
            dayStartMs: BigInt(r.dayStartMs),
            currency: r.currency,
            kind: r.kind === 'DEPOSIT' ? ProtoKind.DEPOSIT : ProtoKind.WITHDRAWAL,
            providerTotalMinor: r.providerTotalMinor,
            ledgerTotalMinor: r.ledgerTotalMinor,
            differenceMinor: r.differenceMinor,
            providerCount: r.providerCount,
            ledgerCount: r.ledgerCount,
            mismatchedPaymentIds: [...r.mismatchedPaymentIds],
            flagged: r.flagged,
            computedAtMs: BigInt(r.computedAtMs),
          }),
        ),
      };
    },
  };
}
