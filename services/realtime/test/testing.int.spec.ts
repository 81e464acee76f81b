/**
 * The realtime service's testing entry: its migrations apply to a fresh database, its RPCs are
 * served behind its real access policy, and what the fan-out pushes lands in `emitted`.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { RoomKind } from '@streambet/contracts/gen/streambet/realtime/v1/realtime_pb';
import { manualClock } from '@streambet/testkit/clock';
import { nextUlid } from '@streambet/testkit/ids';
import { asService, asUser } from '@streambet/testkit/rpc';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { describe, expect, it } from 'vitest';
import { createRealtimeTestService } from '../src/testing.js';

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'realtime testing entry on %s',
  (_name, target) => {
    it("pushes a service's Publish to the room and refuses it to a user", async () => {
      const db = await target.create();
      const tokens = await createTestTokens();
      const realtime = await createRealtimeTestService({
        sql: db.sql,
        clock: manualClock(),
        tokens,
      });
      try {
        const marketId = nextUlid();
        const request = {
          messages: [
            {
              room: { kind: RoomKind.MARKET, id: marketId },
              eventName: 'market:note',
              payloadJson: '{"note":"hello"}',
            },
          ],
        };
        let refused: Code | undefined;
        try {
          await realtime.internal.publish(request, await asUser(tokens, nextUlid(), 'admin'));
        } catch (error) {
          refused = ConnectError.from(error).code;
        }
        expect(refused).toBe(Code.PermissionDenied);
        expect(realtime.emitted).toEqual([]);

        const published = await realtime.internal.publish(request, await asService(tokens, 'pool'));
        expect(published.accepted).toBe(1);
        expect(realtime.emitted).toEqual([
          { room: `market:${marketId}`, event: 'market:note', payload: { note: 'hello' } },
        ]);
      } finally {
        realtime.close();
        await db.dispose();
      }
    });
  },
);
