/**
 * Pipelined placement (issue 12, decision 4): a bet does not wait for the batch in flight. While
 * one batch's stake reservation is held at the user service, a second batch starts, reserves and
 * is answered; a third waits only because the limit of batches in flight (2 here) is reached, and
 * lane tasks (voids, reconciliation) still never run beside a batch.
 */
import { BetStatus } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { sqlTargets } from '@streambet/testkit/sql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BetRecord } from '../src/proto-codec.js';
import type { PlacementSettings } from '../src/placement.js';
import { createHarness, newKey, testSettings, type Harness, type TestMarket } from './harness.js';

const twoInFlight: typeof testSettings & PlacementSettings = {
  ...testSettings,
  maxBatchesInFlight: 2,
};

describe.each(sqlTargets().map((t) => [t.name, t] as const))(
  'pipelined placement on %s',
  (_name, target) => {
    let h: Harness;
    let market: TestMarket;
    /** Reservations held at the gate, by the first bet's user. */
    const gates = new Map<string, () => void>();
    const gated = new Set<string>();
    const reservations: string[][] = [];

    beforeAll(async () => {
      h = await createHarness(target, twoInFlight, {
        holdGate: async (bets: readonly BetRecord[]) => {
          reservations.push(bets.map((b) => b.userId));
          const userId = bets[0]?.userId ?? '';
          if (!gated.has(userId)) return;
          await new Promise<void>((resolve) => gates.set(userId, resolve));
        },
      });
      market = await h.addMarket({ maxStakePerUserMinor: 100_000n });
    }, 180_000);
    afterAll(async () => {
      for (const open of gates.values()) open();
      await h?.dispose();
    });

    async function place(userId: string) {
      return h.betEngine.placeBet(
        {
          idempotencyKey: newKey(),
          marketId: market.marketId,
          outcomeId: market.outcomeIds[0]!,
          currency: 'PTS',
          stakeMinor: 10n,
        },
        await h.as(userId),
      );
    }

    it('answers a bet while an earlier batch is still in flight, and keeps tasks apart', async () => {
      const [slow, fast, third, fourth] = await h.addUsers(4, 1_000n);
      await place(fast!); // warm-up: escrow exists
      gated.add(slow!);
      gated.add(fast!);
      const slowBet = place(slow!);
      await vi.waitFor(() => expect(gates.has(slow!)).toBe(true), { timeout: 20_000 });
      // Batch 1 is in its reservation; batch 2 starts at once and is held too.
      const fastBet = place(fast!);
      await vi.waitFor(() => expect(gates.has(fast!)).toBe(true), { timeout: 20_000 });
      // Two in flight: the third bet queues; a lane task queues behind it.
      const thirdBet = place(third!);
      await vi.waitFor(() => expect(h.placement.queuedPlacements()).toBe(1), { timeout: 20_000 });
      let taskRan = false;
      const task = h.placement.runOnLane(() => {
        taskRan = true;
        return Promise.resolve();
      });
      // Releasing batch 2 answers its bet while batch 1 is still held, and lets the third start.
      gates.get(fast!)!();
      expect((await fastBet).bet?.status).toBe(BetStatus.ACCEPTED);
      expect((await thirdBet).bet?.status).toBe(BetStatus.ACCEPTED);
      expect(taskRan).toBe(false); // batch 1 is still in flight
      gates.get(slow!)!();
      expect((await slowBet).bet?.status).toBe(BetStatus.ACCEPTED);
      await task;
      expect(taskRan).toBe(true);
      expect((await place(fourth!)).bet?.status).toBe(BetStatus.ACCEPTED);
      const reserved = reservations.slice(-4).map((users) => users.length);
      expect(reserved).toEqual([1, 1, 1, 1]);
    });
  },
);
