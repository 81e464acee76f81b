/**
 * The notifications centre per SQL target: events become in-app notifications (with their
 * NotificationCreated in the outbox) and emails (in the mail outbox) according to each user's
 * preferences and language, exactly once under redelivery; mandatory kinds cannot be turned off;
 * a login from a second device is told, the first device is not; the RPCs act on the caller only
 * and refuse bad input without writing.
 */
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageShape,
} from '@bufbuild/protobuf';
import { Code, createClient, createRouterTransport, type Client } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationCreatedSchema } from '@streambet/contracts/gen/streambet/events/v1/notification_pb';
import {
  DepositSucceededSchema,
  WithdrawalFailedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/payment_pb';
import {
  PayoutReversedSchema,
  PayoutsMadeSchema,
} from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { UserLoggedInSchema } from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import {
  PayoutKind,
  PayoutSchema,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import {
  NotificationKind,
  NotificationService,
} from '@streambet/contracts/gen/streambet/user/v1/notifications_pb';
import { authInterceptor } from '@streambet/platform/auth/auth-interceptor';
import {
  createServiceTokenVerifier,
  createUserTokenVerifier,
} from '@streambet/platform/auth/tokens';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { createLogger } from '@streambet/platform/log/logger';
import { createMetricsRegistry } from '@streambet/platform/obs/metrics';
import { newEventId } from '@streambet/platform/outbox/index';
import { createServerInterceptors } from '@streambet/platform/rpc/interceptors';
import { sqlTargets } from '@streambet/testkit/sql';
import { createNotificationConsumer } from '../../src/notifications/consumer.js';
import { createNotificationService, notificationPolicy } from '../../src/notifications/routes.js';
import { as, audience, createHarness, failure, issuer, type Harness } from '../identity/harness.js';

function envelope<D extends DescMessage>(
  schema: D,
  message: MessageShape<D>,
  topic: string,
  key: string,
  occurredAtMs = 0,
): EventEnvelope {
  return {
    id: newEventId(),
    topic,
    key,
    type: schema.typeName,
    occurredAtMs,
    payload: toBinary(schema, message),
    headers: {},
  };
}

type Row = Record<string, unknown>;

for (const target of sqlTargets()) {
  describe(`notifications on ${target.name}`, () => {
    let h: Harness;
    let handle: (event: EventEnvelope) => Promise<void>;
    let client: Client<typeof NotificationService>;

    beforeAll(async () => {
      h = await createHarness(target);
      handle = createNotificationConsumer({
        sql: h.db.sql,
        clock: h.clock,
        appendEvents: (db, events) => h.store.appendEvents(db, events),
        linkBaseUrl: 'https://app.streambet.test',
      });
      const transport = createRouterTransport(
        (router) =>
          router.service(
            NotificationService,
            createNotificationService({ sql: h.db.sql, clock: h.clock }),
          ),
        {
          router: {
            interceptors: createServerInterceptors({
              logger: createLogger({ service: 'user', level: 'silent' }),
              registry: createMetricsRegistry({ service: 'user', collectDefaultMetrics: false }),
              auth: authInterceptor({
                verifyUserToken: createUserTokenVerifier({
                  jwks: () => h.tokens.jwks(),
                  issuer,
                  audience,
                  clock: h.clock,
                }),
                verifyServiceToken: createServiceTokenVerifier({
                  publicJwks: () => ({ keys: [] }),
                  clock: h.clock,
                }),
                policy: notificationPolicy,
              }),
            }),
          },
        },
      );
      client = createClient(NotificationService, transport);
    });

    afterAll(async () => {
      await h?.dispose();
    });

    async function mails(userId: string): Promise<Row[]> {
      const { rows } = await h.db.sql.query<Row>(
        "SELECT subject, body_text FROM mail_outbox WHERE user_id = $1 AND kind = 'notification' ORDER BY created_at_ms, message_id",
        [userId],
      );
      return rows;
    }

    async function pushed(userId: string): Promise<number> {
      const { rows } = await h.db.sql.query<Row>('SELECT payload FROM outbox WHERE type = $1', [
        NotificationCreatedSchema.typeName,
      ]);
      return rows
        .map((r) => fromBinary(NotificationCreatedSchema, r.payload as Uint8Array))
        .filter((e) => e.userId === userId).length;
    }

    it('given payouts and a refund in one page, then each bettor gets one notification, once even when the page is delivered twice', async () => {
      const ana = await h.register('notif_ana');
      const bob = await h.register('notif_bob');
      const page = envelope(
        PayoutsMadeSchema,
        create(PayoutsMadeSchema, {
          marketId: 'M1',
          payouts: [
            create(PayoutSchema, {
              userId: ana.user.userId,
              marketId: 'M1',
              kind: PayoutKind.SETTLEMENT,
              currency: 'PTS',
              stakeMinor: 10_000n,
              payoutMinor: 18_500n,
            }),
            create(PayoutSchema, {
              userId: bob.user.userId,
              marketId: 'M1',
              kind: PayoutKind.REFUND,
              currency: 'BRL',
              stakeMinor: 1_234n,
              payoutMinor: 1_234n,
            }),
          ],
        }),
        'settlement',
        'M1',
      );
      await handle(page);
      await handle(page);

      const anaList = await client.listNotifications({}, as(ana.tokens));
      expect(anaList.notifications.map((n) => [n.kind, n.title])).toEqual([
        [NotificationKind.BET_SETTLED, 'You won 185 PTS'],
      ]);
      expect(anaList.unreadCount).toBe(1n);
      const bobList = await client.listNotifications({}, as(bob.tokens));
      expect(bobList.notifications.map((n) => n.title)).toEqual(['12.34 BRL refunded']);
      expect(await pushed(ana.user.userId)).toBe(1);
      // A settled bet is not emailed by default; a refund is.
      expect(await mails(ana.user.userId)).toEqual([]);
      expect((await mails(bob.user.userId)).map((m) => m.subject)).toEqual([
        'StreamBet: 12.34 BRL refunded',
      ]);
    });

    it('given a user who chose Portuguese and no email for deposits, then the deposit notification is in Portuguese and not emailed', async () => {
      const carla = await h.register('notif_carla');
      const set = await client.setNotificationPreferences(
        {
          language: 'pt',
          preferences: [{ kind: NotificationKind.DEPOSIT_CREDITED, inApp: true, email: false }],
        },
        as(carla.tokens),
      );
      expect(set.language).toBe('pt');
      expect(
        set.preferences.find((p) => p.kind === NotificationKind.DEPOSIT_CREDITED),
      ).toMatchObject({ inApp: true, email: false, mandatory: false });
      await handle(
        envelope(
          DepositSucceededSchema,
          create(DepositSucceededSchema, {
            paymentId: 'P1',
            userId: carla.user.userId,
            amount: { currency: 'BRL', amountMinor: 123_456n },
          }),
          'payment',
          carla.user.userId,
        ),
      );
      const list = await client.listNotifications({}, as(carla.tokens));
      expect(list.notifications[0]?.title).toBe('Depósito de 1.234,56 BRL creditado');
      expect(await mails(carla.user.userId)).toEqual([]);
    });

    it('given a mandatory kind, then it cannot be turned off and a failed withdrawal is told in the app and by email', async () => {
      const dan = await h.register('notif_dan');
      const refused = await failure(
        client.setNotificationPreferences(
          {
            preferences: [{ kind: NotificationKind.WITHDRAWAL_FAILED, inApp: false, email: false }],
          },
          as(dan.tokens),
        ),
      );
      expect(refused.code).toBe(Code.FailedPrecondition);
      expect(refused.message).toMatch(/cannot be turned off/);
      await handle(
        envelope(
          WithdrawalFailedSchema,
          create(WithdrawalFailedSchema, {
            paymentId: 'W1',
            userId: dan.user.userId,
            amount: { currency: 'BRL', amountMinor: 5_000n },
            failureMessage: 'destination account closed',
          }),
          'payment',
          dan.user.userId,
        ),
      );
      const list = await client.listNotifications({}, as(dan.tokens));
      expect(list.notifications[0]?.body).toContain('destination account closed');
      const sent = await mails(dan.user.userId);
      expect(sent).toHaveLength(1);
      expect(String(sent[0]?.body_text)).toContain('https://app.streambet.test/?view=wallet');
    });

    it('given a settled market voided afterwards, then the winner is told the winnings were taken back, even with every optional kind off', async () => {
      const ivy = await h.register('notif_ivy');
      await client.setNotificationPreferences(
        { preferences: [{ kind: NotificationKind.BET_SETTLED, inApp: false, email: false }] },
        as(ivy.tokens),
      );
      await handle(
        envelope(
          PayoutReversedSchema,
          create(PayoutReversedSchema, {
            payout: create(PayoutSchema, {
              userId: ivy.user.userId,
              marketId: 'M9',
              kind: PayoutKind.SETTLEMENT,
              currency: 'BRL',
              stakeMinor: 1_000n,
              payoutMinor: 2_500n,
              netMinor: 1_500n,
            }),
            adjustmentMinor: -1_500n,
          }),
          'settlement',
          'M9',
        ),
      );
      const list = await client.listNotifications({}, as(ivy.tokens));
      expect(list.notifications.map((n) => [n.kind, n.body])).toEqual([
        [
          NotificationKind.MARKET_VOIDED,
          'A market you bet on was voided after it was settled; the 15.00 BRL you won was taken back from your wallet.',
        ],
      ]);
      expect(await mails(ivy.user.userId)).toHaveLength(1);
      const refused = await failure(
        client.setNotificationPreferences(
          { preferences: [{ kind: NotificationKind.MARKET_VOIDED, inApp: true, email: false }] },
          as(ivy.tokens),
        ),
      );
      expect(refused.code).toBe(Code.FailedPrecondition);
    });

    it('given logins, then the first device is not news but a second device is told', async () => {
      const eve = await h.register('notif_eve');
      const login = (deviceId: string) =>
        envelope(
          UserLoggedInSchema,
          create(UserLoggedInSchema, {
            userId: eve.user.userId,
            sessionId: newEventId(),
            client: { deviceId, networkId: 'net-1', app: 'web' },
          }),
          'user',
          eve.user.userId,
          Date.UTC(2026, 11, 8, 10, 30),
        );
      await handle(login('phone'));
      await handle(login('phone'));
      expect((await client.listNotifications({}, as(eve.tokens))).notifications).toEqual([]);
      await handle(login('laptop'));
      const list = await client.listNotifications({}, as(eve.tokens));
      expect(list.notifications.map((n) => n.kind)).toEqual([NotificationKind.NEW_DEVICE_LOGIN]);
      expect(list.notifications[0]?.body).toContain('2026-12-08 10:30 UTC');
    });

    it('given notifications, then a user marks their own read (others are untouched) and pages newest first', async () => {
      const fay = await h.register('notif_fay');
      const gus = await h.register('notif_gus');
      for (const userId of [fay.user.userId, fay.user.userId, fay.user.userId, gus.user.userId]) {
        await handle(
          envelope(
            DepositSucceededSchema,
            create(DepositSucceededSchema, {
              paymentId: newEventId(),
              userId,
              amount: { currency: 'BRL', amountMinor: 100n },
            }),
            'payment',
            userId,
          ),
        );
      }
      const first = await client.listNotifications({ pageSize: 2 }, as(fay.tokens));
      expect(first.notifications).toHaveLength(2);
      expect(first.nextPageToken).not.toBe('');
      const second = await client.listNotifications(
        { pageSize: 2, pageToken: first.nextPageToken },
        as(fay.tokens),
      );
      expect(second.notifications).toHaveLength(1);
      expect(second.nextPageToken).toBe('');
      const gusId = (await client.listNotifications({}, as(gus.tokens))).notifications[0]!
        .notificationId;
      const afterOne = await client.markNotificationsRead(
        { notificationIds: [first.notifications[0]!.notificationId, gusId] },
        as(fay.tokens),
      );
      expect(afterOne.unreadCount).toBe(2n);
      expect((await client.listNotifications({}, as(gus.tokens))).unreadCount).toBe(1n);
      expect((await client.markNotificationsRead({ all: true }, as(fay.tokens))).unreadCount).toBe(
        0n,
      );
      expect(
        (await client.listNotifications({ unreadOnly: true }, as(fay.tokens))).notifications,
      ).toEqual([]);
    });

    it('given a Portuguese reader, then the account emails are in Portuguese from registration on, and the choice can change', async () => {
      const res = await h.users.register(
        {
          email: 'notif_lia@example.com',
          password: 'correct horse battery',
          displayName: 'notif_lia',
          dateOfBirth: { year: 1990, month: 5, day: 17 },
        },
        { headers: { 'accept-language': 'pt-BR,pt;q=0.9,en;q=0.8' } },
      );
      const userId = res.user!.userId;
      const { rows } = await h.db.sql.query<Row>(
        "SELECT subject, body_text FROM mail_outbox WHERE user_id = $1 AND kind = 'verify_email'",
        [userId],
      );
      expect(rows.map((r) => r.subject)).toEqual(['Confirme seu email na StreamBet']);
      expect(String(rows[0]?.body_text)).toMatch(/^Olá notif_lia,/);
      const prefs = await client.getNotificationPreferences({}, as(res.tokens!));
      expect(prefs.language).toBe('pt');
      await client.setNotificationPreferences({ language: 'en' }, as(res.tokens!));
      await h.users.resendVerification({}, as(res.tokens!));
      const { rows: again } = await h.db.sql.query<Row>(
        "SELECT subject FROM mail_outbox WHERE user_id = $1 AND kind = 'verify_email' ORDER BY created_at_ms, message_id",
        [userId],
      );
      // The first mail in Portuguese, the resend after the change in English.
      expect(again.map((r) => String(r.subject)).sort()).toEqual([
        'Confirm your StreamBet email address',
        'Confirme seu email na StreamBet',
      ]);
    });

    it('given bad input or no token, then a clear error and nothing changes', async () => {
      const hal = await h.register('notif_hal');
      expect(
        (await failure(client.listNotifications({ pageSize: 101 }, as(hal.tokens)))).code,
      ).toBe(Code.InvalidArgument);
      expect(
        (await failure(client.listNotifications({ pageToken: 'x' }, as(hal.tokens)))).code,
      ).toBe(Code.InvalidArgument);
      expect((await failure(client.markNotificationsRead({}, as(hal.tokens)))).code).toBe(
        Code.InvalidArgument,
      );
      expect(
        (await failure(client.markNotificationsRead({ notificationIds: ['nope'] }, as(hal.tokens))))
          .code,
      ).toBe(Code.InvalidArgument);
      const badLanguage = await failure(
        client.setNotificationPreferences(
          {
            language: 'fr',
            preferences: [{ kind: NotificationKind.BET_SETTLED, inApp: false, email: false }],
          },
          as(hal.tokens),
        ),
      );
      expect(badLanguage.code).toBe(Code.InvalidArgument);
      const twice = await failure(
        client.setNotificationPreferences(
          {
            preferences: [
              { kind: NotificationKind.BET_SETTLED, inApp: false, email: false },
              { kind: NotificationKind.BET_SETTLED, inApp: true, email: false },
            ],
          },
          as(hal.tokens),
        ),
      );
      expect(twice.code).toBe(Code.InvalidArgument);
      const prefs = await client.getNotificationPreferences({}, as(hal.tokens));
      expect(prefs.language).toBe('en');
      expect(prefs.preferences.find((p) => p.kind === NotificationKind.BET_SETTLED)).toMatchObject({
        inApp: true,
        email: false,
      });
      expect((await failure(client.listNotifications({}))).code).toBe(Code.Unauthenticated);
    });
  });
}
