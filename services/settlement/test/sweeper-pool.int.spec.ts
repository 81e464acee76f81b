/**
 * The missing-run sweeper against the real pool (its handlers on an in-memory transport, through
 * the `@streambet/pool/testing` entry): the adapters the service wires (ListMarkets for every
 * channel's RESOLVED and CANCELED markets, page by page, and GetMarketForSettlement with a service
 * credential) find a resolved and a canceled market whose events settlement never saw, and leave
 * the open one alone.
 */
import type { Client } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolInternalService } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  createPoolTestService,
  marketRequest,
  type PoolTestService,
} from '@streambet/pool/testing';
import { manualClock } from '@streambet/testkit/clock';
import { asService, asUser } from '@streambet/testkit/rpc';
import { sqlTargets, type SqlTestDatabase } from '@streambet/testkit/sql';
import { createTestTokens } from '@streambet/testkit/tokens';
import { finishedMarketsFromClient, termsFromClient } from '../src/downstreams.js';
import type { NewRun } from '../src/store.js';
import { createMissingRunSweeper } from '../src/sweeper.js';

const target = sqlTargets()[0]!;

describe(`missing-run sweeper with the real pool on ${target.name}`, () => {
  const clock = manualClock();
  let db: SqlTestDatabase;
  let pool: PoolTestService;
  let serviceHeaders: Record<string, string>;

  beforeAll(async () => {
    const tokens = await createTestTokens();
    db = await target.create();
    pool = await createPoolTestService({ sql: db.sql, clock, tokens });
    serviceHeaders = { ...(await asService(tokens, 'settlement')).headers };
    await pool.linkChannel('CHS', 'streamer-s');
    const owner = await asUser(tokens, 'streamer-s', 'streamer');
    const resolved = (await pool.pool.createMarket(marketRequest('CHS', { openNow: true }), owner))
      .market!;
    clock.advance(10_000);
    await pool.pool.lockMarket({ marketId: resolved.marketId }, owner);
    await pool.pool.resolveMarket(
      { marketId: resolved.marketId, winningOutcomeId: resolved.outcomes[0]!.outcomeId },
      owner,
    );
    const canceled = (await pool.pool.createMarket(marketRequest('CHS'), owner)).market!;
    await pool.pool.cancelMarket({ marketId: canceled.marketId, reason: 'test' }, owner);
    await pool.pool.createMarket(marketRequest('CHS', { openNow: true }), owner);
    clock.advance(60_000);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  it('records a run for each finished market without one, from the pool terms, paging the list', async () => {
    const runs = new Map<string, NewRun>();
    let ids = 0;
    const sweeper = createMissingRunSweeper({
      store: {
        recordRun(_tx, run) {
          if (runs.has(run.marketId)) return Promise.resolve(false);
          runs.set(run.marketId, run);
          return Promise.resolve(true);
        },
        marketsWithRuns: (marketIds) =>
          Promise.resolve(new Set(marketIds.filter((id) => runs.has(id)))),
      },
      sql: db.sql,
      markets: finishedMarketsFromClient(pool.pool, 1),
      // Only the method the adapter calls, with the credential the platform client would add.
      terms: termsFromClient({
        getMarketForSettlement: (request: { marketId: string }) =>
          pool.internal.getMarketForSettlement(request, { headers: serviceHeaders }),
      } as unknown as Client<typeof PoolInternalService>),
      clock,
      logger: { warn: () => {}, error: () => {}, info: () => {}, debug: () => {} } as never,
      newSettlementId: () => `settlement-${(ids += 1)}`,
    });

    const first = await sweeper.sweepOnce();
    expect(first.checked).toBe(2);
    expect(first.started).toHaveLength(2);
    const recorded = [...runs.values()].sort((a, b) => Number(a.canceled) - Number(b.canceled));
    expect(recorded.map((run) => run.canceled)).toEqual([false, true]);
    expect(recorded[0]?.winningOutcomeId).not.toBe('');
    expect(recorded[1]?.winningOutcomeId).toBe('');
    expect(recorded.every((run) => run.channelId === 'CHS' && run.currency === 'PTS')).toBe(true);

    expect(await sweeper.sweepOnce()).toEqual({ checked: 2, started: [] });
  });
});
