import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectError, Code } from '@connectrpc/connect';
import { io } from 'socket.io-client';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { BetPlacedSchema } from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import { MarketLockedSchema } from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { PayoutMadeSchema } from '@streambet/contracts/gen/streambet/events/v1/settlement_pb';
import { HoldPlacedSchema } from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import { AccountKind } from '@streambet/contracts/gen/streambet/user/v1/ledger_types_pb';
import { RoomKind } from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import { POSTGRES_SKIP_REASON, sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { next, request, startRealtime, ulid, type RealtimeHarness } from './harness.js';

const targets = sqlTargets();

async function code(call: Promise<unknown>): Promise<Code> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error).code;
  }
  throw new Error('call unexpectedly succeeded');
}

describe.each(targets.map((t) => [t.name, t] as const))(
  'realtime sockets on %s',
  (_name, target) => {
    let db: SqlTestDatabase;
    let h: RealtimeHarness;
    beforeAll(async () => {
      db = await target.create();
      h = await startRealtime(db);
    });
    afterAll(async () => {
      await h.close();
      await db.dispose();
    });

    it('given an anonymous viewer in a market room, when the bet engine publishes OddsChanged, then the viewer receives its JSON mapping', async () => {
      const channelId = ulid();
      const marketId = ulid();
      await h.linkChannel(channelId, ulid());
      await h.createMarket(marketId, channelId);
      const viewer = await h.connect(undefined, ['polling', 'websocket']);
      expect(await request(viewer, 'room:join', { room: `market:${marketId}` })).toEqual({
        ok: true,
        room: `market:${marketId}`,
      });
      const odds = next<{ channelId: string; odds: { version: string; totalStakedMinor: string } }>(
        viewer,
        OddsChangedSchema.typeName,
      );
      await h.publish('odds', marketId, OddsChangedSchema, {
        channelId,
        odds: {
          marketId,
          kind: MarketKind.POOL,
          currency: 'PTS',
          totalStakedMinor: 1500n,
          version: 7n,
        },
      });
      expect(await odds).toMatchObject({
        channelId,
        odds: { version: '7', totalStakedMinor: '1500' },
      });

      const locked = next(viewer, MarketLockedSchema.typeName);
      await h.publish('market', marketId, MarketLockedSchema, { marketId, channelId, version: 3n });
      expect(await locked).toMatchObject({ marketId, channelId, version: '3' });
    });

    it('refuses joins of unknown rooms, of user rooms and of garbage, and anonymous chat', async () => {
      const viewer = await h.connect();
      expect(await request(viewer, 'room:join', { room: `market:${ulid()}` })).toMatchObject({
        ok: false,
        code: 'NOT_FOUND',
      });
      expect(await request(viewer, 'room:join', { room: `user:${ulid()}` })).toMatchObject({
        ok: false,
        code: 'INVALID_ARGUMENT',
      });
      expect(await request(viewer, 'room:join', 42)).toMatchObject({
        ok: false,
        code: 'INVALID_ARGUMENT',
      });
      expect(
        await request(viewer, 'chat:send', {
          channelId: ulid(),
          text: 'hi',
          clientMessageId: 'a',
        }),
      ).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    });

    it('fails the handshake of an invalid token with UNAUTHENTICATED', async () => {
      const socket = io(h.url, {
        path: '/socket.io/',
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        auth: { token: 'not-a-jwt' },
      });
      const error = await new Promise<Error>((resolve) => socket.once('connect_error', resolve));
      expect(error.message).toBe('UNAUTHENTICATED');
      socket.disconnect();
    });

    it("delivers a user's bets, payouts and wallet changes to that user's sockets only", async () => {
      const alice = ulid();
      const bob = ulid();
      const marketId = ulid();
      const aliceSocket = await h.connect({ userId: alice, role: 'viewer' });
      const bobSocket = await h.connect({ userId: bob, role: 'viewer' });
      const bobEvents: string[] = [];
      bobSocket.onAny((event: string) => bobEvents.push(event));

      const placed = next<{ betId: string }>(aliceSocket, BetPlacedSchema.typeName);
      const payout = next<{ payout: { userId: string } }>(aliceSocket, PayoutMadeSchema.typeName);
      const hold = next(aliceSocket, HoldPlacedSchema.typeName);
      await h.publish('bet', marketId, BetPlacedSchema, {
        betId: 'bet-1',
        marketId,
        userId: alice,
        stakeMinor: 100n,
      });
      await h.publish('settlement', marketId, PayoutMadeSchema, {
        payout: { userId: alice, marketId },
      });
      await h.publish('wallet', 'hold-1', HoldPlacedSchema, {
        transfer: { transferId: 'hold-1' },
        debitAccount: {
          accountId: `wallet:${alice}:PTS`,
          kind: AccountKind.USER_WALLET,
          ownerId: alice,
        },
        creditAccount: {
          accountId: `market:${marketId}:escrow`,
          kind: AccountKind.MARKET_ESCROW,
          ownerId: marketId,
        },
      });
      expect(await placed).toMatchObject({ betId: 'bet-1' });
      expect(await payout).toMatchObject({ payout: { userId: alice } });
      await hold;

      // Bob's own event comes after Alice's three on the same bus and process: had he received
      // any of hers, it would have arrived before it.
      const bobsOwn = next<{ betId: string }>(bobSocket, BetPlacedSchema.typeName);
      await h.publish('bet', marketId, BetPlacedSchema, { betId: 'bet-2', marketId, userId: bob });
      expect(await bobsOwn).toMatchObject({ betId: 'bet-2' });
      expect(bobEvents).toEqual([BetPlacedSchema.typeName]);
    });

    it('auth:refresh swaps the user room; a bad token leaves the socket anonymous', async () => {
      const first = ulid();
      const second = ulid();
      const socket = await h.connect({ userId: first, role: 'viewer' });
      expect(
        await request(socket, 'auth:refresh', {
          token: await h.tokens.userToken(second, 'viewer'),
        }),
      ).toEqual({ ok: true });
      const mine = next<{ betId: string }>(socket, BetPlacedSchema.typeName);
      // Sent to the old user first: had the socket stayed in that room, it would arrive first.
      await h.publish('bet', 'm', BetPlacedSchema, { betId: 'old-user', userId: first });
      await h.publish('bet', 'm', BetPlacedSchema, { betId: 'new-user', userId: second });
      expect(await mine).toMatchObject({ betId: 'new-user' });

      expect(await request(socket, 'auth:refresh', { token: 'garbage' })).toMatchObject({
        ok: false,
        code: 'UNAUTHENTICATED',
      });
      expect(
        await request(socket, 'chat:send', {
          channelId: ulid(),
          text: 'hi',
          clientMessageId: 'x',
        }),
      ).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    });

    it('Publish pushes to rooms for services only and validates the batch', async () => {
      const channelId = ulid();
      const marketId = ulid();
      await h.linkChannel(channelId, ulid());
      await h.createMarket(marketId, channelId);
      const viewer = await h.connect();
      await request(viewer, 'room:join', { room: `market:${marketId}` });
      const pushed = next(viewer, 'bet.confirmed');
      const service = {
        headers: { authorization: `Bearer ${await h.tokens.serviceToken('bet-engine')}` },
      };
      const answer = await h.internal.publish(
        {
          messages: [
            {
              room: { kind: RoomKind.MARKET, id: marketId },
              eventName: 'bet.confirmed',
              payloadJson: '{"x":1}',
            },
          ],
        },
        service,
      );
      expect(answer.accepted).toBe(1);
      expect(await pushed).toEqual({ x: 1 });
      expect(
        await code(
          h.internal.publish(
            {
              messages: [
                {
                  room: { kind: RoomKind.MARKET, id: marketId },
                  eventName: 'chat:message',
                  payloadJson: '{}',
                },
              ],
            },
            service,
          ),
        ),
      ).toBe(Code.InvalidArgument);
      expect(
        await code(
          h.internal.publish(
            {
              messages: [
                {
                  room: { kind: RoomKind.MARKET, id: marketId },
                  eventName: 'x',
                  payloadJson: '[1]',
                },
              ],
            },
            service,
          ),
        ),
      ).toBe(Code.InvalidArgument);
      expect(
        await code(
          h.internal.publish(
            {
              messages: [
                {
                  room: { kind: RoomKind.MARKET, id: marketId },
                  eventName: 'x',
                  payloadJson: '{}',
                },
              ],
            },
            await h.as(ulid(), 'admin'),
          ),
        ),
      ).toBe(Code.PermissionDenied);
    });
  },
);

if (!targets.some((t) => t.name === 'postgres')) {
  describe.skip(`realtime sockets on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs when TEST_DATABASE_URL is set', () => {});
  });
}
