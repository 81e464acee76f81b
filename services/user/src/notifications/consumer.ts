/**
 * Turns platform events into notifications: payouts and refunds (settlement), deposits and
 * withdrawals (payment), KYC decisions, limit changes and logins from new devices (the user
 * service's own events). One inbox transaction per event stores the in-app notifications with
 * their NotificationCreated events (pushed live by the realtime service) and the emails in the
 * mail outbox, so a redelivered event tells nobody twice and a crash loses nothing.
 */
import { create, fromBinary } from '@bufbuild/protobuf';
import { NotificationCreatedSchema } from '@streambet/contracts/gen/streambet/events/v1/notification_pb';
import {
  DepositSucceededSchema,
  WithdrawalFailedSchema,
  WithdrawalPaidSchema,
} from '@streambet/contracts/gen/streambet/events/v1/payment_pb';
import {
  PayoutMadeSchema,
  PayoutReversedSchema,
  PayoutsMadeSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import {
  KycStatusChangedSchema,
  LimitChangedSchema,
  UserLoggedInSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import {
  PayoutKind,
  type Payout,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import {
  NotificationKind,
  NotificationSchema,
} from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import {
  KycStatus,
  LimitKind,
  LimitPeriod,
} from '@streambet/contracts/gen/streambet/user/v1/types_pb';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { handleOnce, newEventId } from '@streambet/platform/outbox/index';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import { userEvent, type PendingUserEvent } from '../identity/store/events.js';
import { enqueueMail } from '../mail/mail-outbox.js';
import { effectiveChoice, renderNotification, type NotificationDraft } from './domain.js';
import { notificationStore } from './store.js';

/** Inbox consumer name. */
export const notificationConsumerName = 'user.notifications';

/** Topics the consumer reads. */
export const notificationTopics = ['settlement', 'payment', 'user'] as const;

/** A draft for one user. */
interface Addressed {
  readonly userId: string;
  readonly draft: NotificationDraft;
}

function payoutDraft(p: Payout): Addressed | undefined {
  if (p.userId === '') return undefined;
  if (p.kind === PayoutKind.SETTLEMENT) {
    return {
      userId: p.userId,
      draft: {
        kind: NotificationKind.BET_SETTLED,
        marketId: p.marketId,
        currency: p.currency,
        stakeMinor: p.stakeMinor,
        payoutMinor: p.payoutMinor,
      },
    };
  }
  if (p.kind === PayoutKind.REFUND) {
    return {
      userId: p.userId,
      draft: {
        kind: NotificationKind.MARKET_REFUNDED,
        marketId: p.marketId,
        currency: p.currency,
        refundMinor: p.payoutMinor,
      },
    };
  }
  return undefined;
}

function limitName(kind: LimitKind, period: LimitPeriod): string {
  const what = kind === LimitKind.LOSS ? 'loss limit' : 'deposit limit';
  const when = LimitPeriod[period]?.toLowerCase() ?? '';
  return when === '' || when === 'unspecified' ? what : `${when} ${what}`;
}

/** The drafts an event yields, before any lookup (pure decoding). */
export function draftsOf(event: Pick<EventEnvelope, 'type' | 'payload'>): Addressed[] {
  switch (event.type) {
    case PayoutsMadeSchema.typeName:
      return fromBinary(PayoutsMadeSchema, event.payload).payouts.flatMap(
        (p) => payoutDraft(p) ?? [],
      );
    case PayoutMadeSchema.typeName: {
      const payout = fromBinary(PayoutMadeSchema, event.payload).payout;
      const one = payout === undefined ? undefined : payoutDraft(payout);
      return one === undefined ? [] : [one];
    }
    case PayoutReversedSchema.typeName: {
      const e = fromBinary(PayoutReversedSchema, event.payload);
      const p = e.payout;
      if (p === undefined || p.userId === '' || p.kind === PayoutKind.STREAMER_REVENUE_SHARE) {
        return [];
      }
      return [
        {
          userId: p.userId,
          draft: {
            kind: NotificationKind.MARKET_VOIDED,
            marketId: p.marketId,
            currency: p.currency,
            adjustmentMinor: e.adjustmentMinor,
          },
        },
      ];
    }
    case DepositSucceededSchema.typeName: {
      const e = fromBinary(DepositSucceededSchema, event.payload);
      if (e.amount === undefined) return [];
      return [
        {
          userId: e.userId,
          draft: {
            kind: NotificationKind.DEPOSIT_CREDITED,
            currency: e.amount.currency,
            amountMinor: e.amount.amountMinor,
          },
        },
      ];
    }
    case WithdrawalPaidSchema.typeName: {
      const e = fromBinary(WithdrawalPaidSchema, event.payload);
      if (e.amount === undefined) return [];
      return [
        {
          userId: e.userId,
          draft: {
            kind: NotificationKind.WITHDRAWAL_PAID,
            currency: e.amount.currency,
            amountMinor: e.amount.amountMinor,
          },
        },
      ];
    }
    case WithdrawalFailedSchema.typeName: {
      const e = fromBinary(WithdrawalFailedSchema, event.payload);
      if (e.amount === undefined) return [];
      return [
        {
          userId: e.userId,
          draft: {
            kind: NotificationKind.WITHDRAWAL_FAILED,
            currency: e.amount.currency,
            amountMinor: e.amount.amountMinor,
            reason: e.failureMessage,
          },
        },
      ];
    }
    case KycStatusChangedSchema.typeName: {
      const e = fromBinary(KycStatusChangedSchema, event.payload);
      if (e.status !== KycStatus.VERIFIED && e.status !== KycStatus.REJECTED) return [];
      return [
        {
          userId: e.userId,
          draft: {
            kind: NotificationKind.KYC_DECIDED,
            verified: e.status === KycStatus.VERIFIED,
            reason: e.reason,
          },
        },
      ];
    }
    case LimitChangedSchema.typeName: {
      const e = fromBinary(LimitChangedSchema, event.payload);
      return [
        {
          userId: e.userId,
          draft: {
            kind: NotificationKind.LIMIT_CHANGED,
            limitName: limitName(e.kind, e.period),
            effectiveAtMs: Number(e.effectiveAtMs),
            scheduled: e.scheduled,
          },
        },
      ];
    }
    default:
      return [];
  }
}

/** What the consumer needs. */
export interface NotificationConsumerDeps {
  readonly sql: Sql;
  readonly clock: Clock;
  /** Appends user-topic events to the outbox in the caller's transaction. */
  appendEvents(db: SqlExecutor, events: readonly PendingUserEvent[]): Promise<void>;
  /** The web app's origin, for links in emails (MAIL_LINK_BASE_URL). */
  readonly linkBaseUrl: string;
}

/** Creates the handler; subscribe it to {@link notificationTopics}. */
export function createNotificationConsumer(
  deps: NotificationConsumerDeps,
): (event: EventEnvelope) => Promise<void> {
  const { sql, clock } = deps;

  async function deliver(tx: SqlExecutor, item: Addressed, nowMs: number): Promise<void> {
    const to = await notificationStore.addressee(tx, item.userId);
    if (to === undefined) return;
    const choices = await notificationStore.choices(tx, item.userId);
    const choice = effectiveChoice(item.draft.kind, choices.get(item.draft.kind));
    const words = renderNotification(item.draft, to.language, to.displayName, deps.linkBaseUrl);
    if (choice.inApp) {
      const notificationId = newEventId();
      const row = {
        notificationId,
        userId: item.userId,
        kind: item.draft.kind,
        title: words.title,
        body: words.body,
        link: words.link,
        createdAtMs: BigInt(nowMs),
      };
      await notificationStore.insert(tx, row);
      const unreadCount = await notificationStore.unreadCount(tx, item.userId);
      await deps.appendEvents(tx, [
        userEvent(NotificationCreatedSchema, item.userId, {
          notification: create(NotificationSchema, { ...row, readAtMs: 0n }),
          unreadCount,
        }),
      ]);
    }
    if (choice.email) {
      await enqueueMail(
        tx,
        {
          messageId: newEventId(),
          userId: item.userId,
          kind: 'notification',
          to: to.email,
          subject: words.emailSubject,
          text: words.emailText,
        },
        nowMs,
      );
    }
  }

  return async (event) => {
    const drafts = draftsOf(event);
    const login =
      event.type === UserLoggedInSchema.typeName
        ? fromBinary(UserLoggedInSchema, event.payload)
        : undefined;
    if (drafts.length === 0 && login === undefined) return;
    await handleOnce(sql, notificationConsumerName, event, async (tx) => {
      const nowMs = clock.now();
      const items = [...drafts];
      if (login !== undefined) {
        // A device is known by its id, else by its network: a login from neither is not judged.
        const deviceKey =
          login.client?.deviceId !== undefined && login.client.deviceId !== ''
            ? `device:${login.client.deviceId}`
            : login.client?.networkId !== undefined && login.client.networkId !== ''
              ? `network:${login.client.networkId}`
              : '';
        if (deviceKey !== '') {
          const seen = await notificationStore.rememberDevice(tx, login.userId, deviceKey, nowMs);
          if (seen.firstTime && !seen.firstDeviceEver) {
            items.push({
              userId: login.userId,
              draft: { kind: NotificationKind.NEW_DEVICE_LOGIN, atMs: event.occurredAtMs },
            });
          }
        }
      }
      for (const item of items) await deliver(tx, item, nowMs);
    });
  };
}
