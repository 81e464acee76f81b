/**
 * Group commit of verified webhook deliveries against a real database: deliveries arriving while
 * a transaction runs (or waits for its connection) share the next one, with the verdicts, log
 * rows and events one transaction per delivery would give (a duplicate id in the same batch is a replay); a delivery whose effect fails
 * fails alone, the others of its batch are committed, and its claim is not kept (Twitch's
 * redelivery is applied).
 */
import { nextUlid } from '@streambet/testkit/ids';
import { manualClock } from '@streambet/testkit/clock';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import { describe, expect, it } from 'vitest';
import {
  createIntegrationTestService,
  devTwitchWebhookSecret,
  twitchSignature,
  type IntegrationTestParts,
} from '../src/testing.js';
import { createGroupCommitter, type VerifiedDelivery } from '../src/webhooks/group-commit.js';

const encoder = new TextEncoder();

function notification(nowMs: number, type: string, broadcaster: string, id: string) {
  const raw = encoder.encode(
    JSON.stringify({
      subscription: {
        id: `sub-${type}-${broadcaster}`,
        status: 'enabled',
        type,
        version: '1',
        condition: { broadcaster_user_id: broadcaster },
        transport: { method: 'webhook', callback: 'https://example.com/webhooks/twitch' },
        created_at: '2026-12-07T00:00:00Z',
      },
      event:
        type === 'stream.online'
          ? {
              id: `s${broadcaster}`,
              broadcaster_user_id: broadcaster,
              type: 'live',
              started_at: new Date(nowMs - 1000).toISOString(),
            }
          : { broadcaster_user_id: broadcaster },
    }),
  );
  const timestamp = new Date(nowMs).toISOString();
  return {
    headers: {
      'content-type': 'application/json',
      'twitch-eventsub-message-id': id,
      'twitch-eventsub-message-timestamp': timestamp,
      'twitch-eventsub-message-type': 'notification',
      'twitch-eventsub-message-signature': twitchSignature(
        devTwitchWebhookSecret,
        id,
        timestamp,
        raw,
      ),
    },
    body: raw,
  };
}

async function linkTwitch(t: IntegrationTestParts, broadcaster: string) {
  const userId = nextUlid();
  const begun = await t.links.begin({ userId, admin: false }, 'TWITCH', 'http://localhost:5173/cb');
  const code = t.fakes.consent(begun.authorizeUrl, {
    id: broadcaster,
    login: `user${broadcaster}`,
    displayName: `User ${broadcaster}`,
  });
  return t.links.linkOAuth({ userId, admin: false }, 'TWITCH', code, begun.state);
}

async function eventTypes(t: IntegrationTestParts): Promise<string[]> {
  const rows = await t.store.sql.query<{ type: string }>('SELECT type FROM outbox ORDER BY seq');
  return rows.rows.map((r) => r.type);
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'webhook group commit on %s',
  (_name, target) => {
    async function setup() {
      const db = await target.create();
      const clock = manualClock();
      const t = await createIntegrationTestService({
        sql: db.sql,
        tokens: await createTestTokens(),
        clock,
      });
      return {
        t,
        clock,
        dispose: async () => {
          await t.close();
          await db.dispose();
        },
      };
    }

    it('concurrent signed deliveries: the same verdicts, log rows and events as one by one', async () => {
      const { t, clock, dispose } = await setup();
      try {
        const a = await linkTwitch(t, '501');
        const b = await linkTwitch(t, '502');
        const before = (await eventTypes(t)).length;
        const now = clock.now();
        const onlineA = notification(now, 'stream.online', '501', 'm-1');
        const sent = [
          onlineA,
          notification(now, 'stream.online', '502', 'm-2'),
          onlineA, // Twitch's redelivery of m-1 while m-1's transaction runs
          notification(now, 'stream.offline', '501', 'm-3'),
          notification(now, 'stream.online', '999', 'm-4'), // no linked channel
          notification(now, 'stream.offline', '502', 'm-2'), // reused id: a replay, no effect
        ];
        // All sent before any answer: they share one transaction.
        const answers = await Promise.all(sent.map((d) => t.receiver.twitch(d.headers, d.body)));
        expect(answers.map((x) => [x.status, x.verdict])).toEqual([
          [200, 'accepted'],
          [200, 'accepted'],
          [204, 'replayed'],
          [200, 'accepted'],
          [204, 'ignored'],
          [204, 'replayed'],
        ]);
        expect((await t.store.channel(a.channelId))?.liveState).toBe('OFFLINE');
        expect((await t.store.channel(b.channelId))?.liveState).toBe('LIVE');
        expect((await eventTypes(t)).slice(before)).toEqual([
          'streambet.events.v1.StreamWentOnline',
          'streambet.events.v1.StreamWentOnline',
          'streambet.events.v1.StreamWentOffline',
        ]);
        expect(
          (await t.store.webhookLog('twitch')).map((l) => [l.messageId, l.verdict, l.channelId]),
        ).toEqual([
          ['m-1', 'accepted', a.channelId],
          ['m-2', 'accepted', b.channelId],
          ['m-1', 'replayed', ''],
          ['m-3', 'accepted', a.channelId],
          ['m-4', 'ignored', ''],
          ['m-2', 'replayed', ''],
        ]);
      } finally {
        await dispose();
      }
    });

    it('a failing delivery fails alone; its batch commits without it and its id stays unclaimed', async () => {
      const { t, dispose } = await setup();
      try {
        const committer = createGroupCommitter({ store: t.store });
        const transactions: SqlExecutor[] = [];
        let failing = true;
        const delivery = (messageId: string, fail = false): VerifiedDelivery => ({
          provider: 'twitch',
          messageId,
          messageType: 'notification',
          body: '{}',
          verdict: 'accepted',
          effect: async (tx) => {
            transactions.push(tx);
            await tx.query('SELECT 1');
            if (fail && failing) throw new Error(`effect of ${messageId} failed`);
            return { channelId: `ch-${messageId}`, detail: 'ok' };
          },
        });
        const results = await Promise.allSettled([
          committer.apply(delivery('g-1')),
          committer.apply(delivery('g-2')),
          committer.apply(delivery('g-3', true)),
          committer.apply(delivery('g-4')),
        ]);
        expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed'))).toEqual([
          'accepted',
          'accepted',
          'failed',
          'accepted',
        ]);
        expect((results[2] as PromiseRejectedResult).reason).toMatchObject({
          message: 'effect of g-3 failed',
        });
        // All four in one transaction (rolled back at g-3's failure); then each alone.
        expect(transactions.length).toBe(3 + 4);
        expect(transactions[1]).toBe(transactions[0]);
        expect(transactions[2]).toBe(transactions[0]);
        expect(new Set([transactions[0], ...transactions.slice(3)]).size).toBe(5);
        expect((await t.store.webhookLog('twitch')).map((l) => [l.messageId, l.verdict])).toEqual([
          ['g-1', 'accepted'],
          ['g-2', 'accepted'],
          ['g-4', 'accepted'],
        ]);

        // The failed delivery's redelivery is applied: its claim was rolled back with it.
        failing = false;
        expect(await committer.apply(delivery('g-3', true))).toBe('accepted');
        expect(await committer.apply(delivery('g-3'))).toBe('replayed');
      } finally {
        await dispose();
      }
    });
  },
);
