/**
 * NotificationService (proto/streambet/user/v1/notifications.proto): the caller's notifications
 * and preferences. Every method acts on the signed-in caller only; input is checked here and
 * refused with INVALID_ARGUMENT / FAILED_PRECONDITION before anything is written.
 */
import type { ServiceImpl } from '@connectrpc/connect';
import {
  NotificationService as NotificationServiceDesc,
  type NotificationKind,
  type NotificationPreference,
  type NotificationService,
} from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import { definePolicy, type AccessPolicy } from '@streambet/platform/auth/auth-interceptor';
import { IllegalStateError, ValidationError } from '@streambet/platform/errors/domain-errors';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import { userCaller } from '../identity/requests.js';
import {
  effectiveChoice,
  isNotificationLanguage,
  mandatoryKinds,
  notificationKinds,
  notificationLanguages,
  preferenceRefusal,
} from './domain.js';
import { notificationStore } from './store.js';

const defaultPageSize = 20;
const maxPageSize = 100;
const maxIdsPerMark = 200;
/** Notification ids are UUIDv7 (time-ordered, from the outbox's id generator). */
const notificationIdPattern =
  /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const isNotificationId = (value: string) => notificationIdPattern.test(value);

/** What the service needs. */
export interface NotificationServiceDeps {
  readonly sql: Sql;
  readonly clock: Clock;
}

async function preferencesOf(
  db: SqlExecutor,
  userId: string,
): Promise<{ preferences: NotificationPreference[]; language: string }> {
  const choices = await notificationStore.choices(db, userId);
  const addressee = await notificationStore.addressee(db, userId);
  return {
    preferences: notificationKinds.map((kind) => {
      const choice = effectiveChoice(kind, choices.get(kind));
      return {
        $typeName: 'streambet.user.v1.NotificationPreference',
        kind,
        inApp: choice.inApp,
        email: choice.email,
        mandatory: mandatoryKinds.has(kind),
      };
    }),
    language: addressee?.language ?? 'en',
  };
}

/** The NotificationService handlers. */
export function createNotificationService(
  deps: NotificationServiceDeps,
): ServiceImpl<typeof NotificationService> {
  const { sql, clock } = deps;
  return {
    async listNotifications(req, ctx) {
      const caller = userCaller(ctx);
      if (req.pageSize < 0 || req.pageSize > maxPageSize) {
        throw new ValidationError('listing notifications refused', [
          { field: 'page_size', description: `must be 0–${maxPageSize} (0 = ${defaultPageSize})` },
        ]);
      }
      if (req.pageToken !== '' && !isNotificationId(req.pageToken)) {
        throw new ValidationError('listing notifications refused', [
          { field: 'page_token', description: 'is not a token this method returned' },
        ]);
      }
      const limit = req.pageSize === 0 ? defaultPageSize : req.pageSize;
      const rows = await notificationStore.list(sql, caller.userId, {
        limit: limit + 1,
        beforeId: req.pageToken === '' ? undefined : req.pageToken,
        unreadOnly: req.unreadOnly,
      });
      const page = rows.slice(0, limit);
      return {
        notifications: page,
        nextPageToken: rows.length > limit ? page[page.length - 1]!.notificationId : '',
        unreadCount: await notificationStore.unreadCount(sql, caller.userId),
      };
    },

    async markNotificationsRead(req, ctx) {
      const caller = userCaller(ctx);
      if (!req.all && req.notificationIds.length === 0) {
        throw new ValidationError('marking notifications read refused', [
          { field: 'notification_ids', description: 'give the ids to mark, or set all' },
        ]);
      }
      if (req.notificationIds.length > maxIdsPerMark) {
        throw new ValidationError('marking notifications read refused', [
          { field: 'notification_ids', description: `at most ${maxIdsPerMark} ids per call` },
        ]);
      }
      const bad = req.notificationIds.findIndex((id) => !isNotificationId(id));
      if (bad >= 0) {
        throw new ValidationError('marking notifications read refused', [
          { field: `notification_ids[${bad}]`, description: 'is not a notification id' },
        ]);
      }
      await notificationStore.markRead(
        sql,
        caller.userId,
        req.all ? undefined : req.notificationIds,
        clock.now(),
      );
      return { unreadCount: await notificationStore.unreadCount(sql, caller.userId) };
    },

    async getNotificationPreferences(_req, ctx) {
      const caller = userCaller(ctx);
      return preferencesOf(sql, caller.userId);
    },

    async setNotificationPreferences(req, ctx) {
      const caller = userCaller(ctx);
      if (req.language !== '' && !isNotificationLanguage(req.language)) {
        throw new ValidationError('changing notification preferences refused', [
          {
            field: 'language',
            description: `must be one of ${notificationLanguages.join(', ')}`,
          },
        ]);
      }
      const seen = new Set<NotificationKind>();
      for (const [i, p] of req.preferences.entries()) {
        if (!notificationKinds.includes(p.kind)) {
          throw new ValidationError('changing notification preferences refused', [
            { field: `preferences[${i}].kind`, description: 'is not a notification kind' },
          ]);
        }
        if (seen.has(p.kind)) {
          throw new ValidationError('changing notification preferences refused', [
            { field: `preferences[${i}].kind`, description: 'is listed twice' },
          ]);
        }
        seen.add(p.kind);
        const refusal = preferenceRefusal(p.kind, { inApp: p.inApp, email: p.email });
        if (refusal !== undefined) throw new IllegalStateError(refusal);
      }
      return sql.transaction(async (tx) => {
        for (const p of req.preferences) {
          if (mandatoryKinds.has(p.kind)) continue;
          await notificationStore.setChoice(tx, caller.userId, p.kind, {
            inApp: p.inApp,
            email: p.email,
          });
        }
        if (req.language !== '' && isNotificationLanguage(req.language)) {
          await notificationStore.setLanguage(tx, caller.userId, req.language);
        }
        return preferencesOf(tx, caller.userId);
      });
    },
  };
}

const signedIn = ['viewer', 'streamer', 'admin'] as const;

/** Who may call each method: any signed-in user, on their own notifications. */
export const notificationPolicy: AccessPolicy = definePolicy(NotificationServiceDesc, {
  listNotifications: signedIn,
  markNotificationsRead: signedIn,
  getNotificationPreferences: signedIn,
  setNotificationPreferences: signedIn,
});
