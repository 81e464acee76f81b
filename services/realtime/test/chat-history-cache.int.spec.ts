/**
 * The `chat:history` a socket receives on joining a channel comes from the cache port: a crowd
 * joining one channel costs one SQL read of its messages, and a new message or a moderation change
 * on any node (another chat over the same database and cache) makes the next join read again.
 * Queries are counted on the service's own SQL connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Sql, SqlExecutor } from '@streambet/platform/sql/types';
import { cacheTargets, type CacheFixture } from '@streambet/testkit/cache';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { createChat, type Chat } from '../src/chat.js';
import { createFanout } from '../src/fanout.js';
import { createRealtimeStore } from '../src/store.js';
import { next, request, startRealtime, ulid, type RealtimeHarness } from './harness.js';

/** `sql` with a count of the statements that read a channel's chat history. */
function countingHistoryReads(sql: Sql): { sql: Sql; reads: () => number } {
  let reads = 0;
  const query: SqlExecutor['query'] = (text, params, options) => {
    if (/FROM rt_chat_messages WHERE channel_id = \$1\s+ORDER BY message_id DESC/.test(text)) {
      reads += 1;
    }
    return sql.query(text, params, options);
  };
  const counted: Sql = {
    dialect: sql.dialect,
    query,
    transaction: (fn, options) => sql.transaction(fn, options),
    ping: () => sql.ping(),
    close: () => sql.close(),
  };
  return { sql: counted, reads: () => reads };
}

const combos = sqlTargets().flatMap((sqlTarget) =>
  cacheTargets().map(
    (cacheTarget) =>
      [
        `${sqlTarget.name} with the ${cacheTarget.name} cache`,
        sqlTarget,
        cacheTarget,
        cacheTarget.skipReason,
      ] as const,
  ),
);

describe.each(combos)('chat history cache on %s', (_name, sqlTarget, cacheTarget, skipReason) => {
  let db: SqlTestDatabase;
  let fixture: CacheFixture;
  let h: RealtimeHarness;
  let reads: () => number;
  /** A second realtime node's chat: same database, another client of the same cache. */
  let otherNode: Chat;

  beforeAll(async () => {
    if (skipReason !== undefined) return;
    db = await sqlTarget.create();
    fixture = await cacheTarget.create();
    const counting = countingHistoryReads(db.sql);
    reads = counting.reads;
    h = await startRealtime({ ...db, sql: counting.sql }, { cache: fixture.cache });
    otherNode = createChat({
      store: createRealtimeStore(db.sql),
      cache: await fixture.createPeer(),
      clock: h.clock,
      fanout: createFanout({ emit: () => undefined, clock: h.clock, conflationIntervalMs: 100 }),
    });
  });
  afterAll(async () => {
    if (skipReason !== undefined) return;
    await h.close();
    await fixture.dispose();
    await db.dispose();
  });

  /** Joins the channel on a fresh anonymous socket and returns the history it was sent. */
  async function join(channelId: string): Promise<{ socket: Socket; texts: string[] }> {
    const socket = await h.connect();
    const history = next<{ messages: Array<{ text: string }> }>(socket, 'chat:history');
    expect((await request(socket, 'room:join', { room: `channel:${channelId}` })).ok).toBe(true);
    const texts = (await history).messages.map((message) => message.text);
    socket.disconnect();
    return { socket, texts };
  }

  it.skipIf(skipReason !== undefined)(
    `reads a channel's history once for many joins, again after a message or a ban on any node${skipReason === undefined ? '' : ` (${skipReason})`}`,
    async () => {
      const channelId = ulid();
      const owner = ulid();
      const viewer = ulid();
      await h.registerUser(owner, 'Streamer');
      await h.registerUser(viewer, 'Viewer');
      await h.linkChannel(channelId, owner);
      const viewerSocket = await h.connect({ userId: viewer, role: 'viewer' });
      expect(
        await request(viewerSocket, 'chat:send', {
          channelId,
          text: 'first',
          clientMessageId: 'm-1',
        }),
      ).toMatchObject({ ok: true });

      // Five joins: one SQL read, the same history for each.
      const before = reads();
      for (let i = 0; i < 5; i += 1) expect((await join(channelId)).texts).toEqual(['first']);
      expect(reads() - before).toBe(1);

      // A message on this node: the next join reads again and sees it; later joins do not.
      h.clock.advance(1000); // message ids order by time
      expect(
        await request(viewerSocket, 'chat:send', {
          channelId,
          text: 'second',
          clientMessageId: 'm-2',
        }),
      ).toMatchObject({ ok: true });
      const afterSecond = reads();
      expect((await join(channelId)).texts).toEqual(['first', 'second']);
      expect((await join(channelId)).texts).toEqual(['first', 'second']);
      expect(reads() - afterSecond).toBe(1);

      // A message accepted by another node: this node's next join is not served the old history.
      h.clock.advance(1000);
      await otherNode.send(
        { userId: owner, role: 'streamer' },
        {
          channelId,
          text: 'from the other node',
          clientMessageId: 'o-1',
        },
      );
      const afterOther = reads();
      expect((await join(channelId)).texts).toEqual(['first', 'second', 'from the other node']);
      expect((await join(channelId)).texts).toHaveLength(3);
      expect(reads() - afterOther).toBe(1);

      // Moderation on the other node also moves the history on.
      await otherNode.ban(
        { userId: owner, role: 'streamer' },
        { channelId, userId: viewer, durationSeconds: 60n, reason: 'spam' },
      );
      const afterBan = reads();
      await join(channelId);
      await join(channelId);
      expect(reads() - afterBan).toBe(1);

      // A channel's cached history is its own: another channel reads its own (empty) history.
      const quiet = ulid();
      await h.linkChannel(quiet, owner);
      const beforeQuiet = reads();
      expect((await join(quiet)).texts).toEqual([]);
      expect((await join(channelId)).texts).toHaveLength(3);
      expect(reads() - beforeQuiet).toBe(1);
    },
  );
});
