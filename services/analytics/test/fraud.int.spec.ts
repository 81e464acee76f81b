/**
 * The fraud rules on the event stream, through the service's consumers and RPCs: a scripted
 * alt-account scenario (a streamer's second account on the streamer's device bets on the
 * streamer's market), a late-bet cluster before a manual lock, deposit–withdraw cycling, a
 * velocity spike and repeated retroactive voids each raise one flag with evidence (once, however
 * often events are redelivered) and a FraudFlagRaised event; admins list, filter and resolve them
 * (idempotent, audited); the contract's errors.
 */
import { Code, ConnectError } from '@connectrpc/connect';
import {
  FraudFlagStatus,
  FraudRule,
} from '@streambet/contracts/gen/streambet/analytics/v1/analytics_pb';
import { BetVoidReason } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  BetPlacedSchema,
  BetVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import { ChannelLinkedSchema } from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import {
  MarketCreatedSchema,
  MarketLockedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import {
  DepositSucceededSchema,
  WithdrawalRequestedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/payment_pb';
import {
  UserLoggedInSchema,
  UserRegisteredSchema,
} from '@streambet/contracts/gen/streambet/events/v1/user_pb';
import { MarketLockReason } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { EventEnvelope } from '@streambet/platform/bus/types';
import { manualClock, testEpochMs } from '@streambet/testkit/clock';
import { envelope } from '@streambet/testkit/events';
import { nextUlid } from '@streambet/testkit/ids';
import { asUser } from '@streambet/testkit/rpc';
import { sqlTargets } from '@streambet/testkit/sql';
import { createTestTokens, type TestTokens } from '@streambet/testkit/tokens';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFraudConsumer } from '../src/fraud/consumer.js';
import { createAnalyticsTestService, defaultFraudThresholds } from '../src/testing.js';

let tokens: TestTokens;
beforeAll(async () => {
  tokens = await createTestTokens();
});

const s = (seconds: number) => testEpochMs + seconds * 1000;

/** The scripted day: who is who, and the events that give them away. */
function scenario() {
  const streamer = nextUlid();
  const alt = nextUlid();
  const honest = nextUlid();
  const ring = [nextUlid(), nextUlid(), nextUlid()];
  const pair = [nextUlid(), nextUlid()];
  const cycler = nextUlid();
  const bettor = nextUlid();
  const spammer = nextUlid();
  const sniper = nextUlid();
  const channelId = nextUlid();
  const marketId = nextUlid();
  const lockedMarket = nextUlid();
  const events: EventEnvelope[] = [];
  const push = (e: EventEnvelope) => events.push(e);
  const bet = (
    userId: string,
    market: string,
    atS: number,
    client: { deviceId?: string; networkId?: string } = {},
    stakeMinor = 100n,
  ) =>
    envelope(
      'bet',
      market,
      BetPlacedSchema,
      {
        betId: nextUlid(),
        marketId: market,
        channelId,
        userId,
        currency: 'BRL',
        stakeMinor,
        placedAtMs: BigInt(s(atS)),
        client: { deviceId: client.deviceId ?? '', networkId: client.networkId ?? '' },
      },
      { occurredAtMs: s(atS) },
    );
  push(
    envelope(
      'user',
      streamer,
      UserRegisteredSchema,
      { userId: streamer, client: { deviceId: 'dev-streamer', networkId: 'net-home' } },
      { occurredAtMs: s(0) },
    ),
  );
  push(
    envelope(
      'user',
      alt,
      UserRegisteredSchema,
      { userId: alt, client: { deviceId: 'dev-other', networkId: 'net-cafe' } },
      { occurredAtMs: s(1) },
    ),
  );
  push(
    envelope(
      'user',
      alt,
      UserLoggedInSchema,
      {
        userId: alt,
        sessionId: nextUlid(),
        client: { deviceId: 'dev-streamer', networkId: 'net-mobile' },
      },
      { occurredAtMs: s(2) },
    ),
  );
  push(
    envelope(
      'user',
      honest,
      UserRegisteredSchema,
      { userId: honest, client: { deviceId: 'dev-honest', networkId: 'net-elsewhere' } },
      { occurredAtMs: s(3) },
    ),
  );
  push(
    envelope(
      'integration',
      channelId,
      ChannelLinkedSchema,
      { channelId, ownerUserId: streamer },
      { occurredAtMs: s(4) },
    ),
  );
  push(
    envelope(
      'market',
      marketId,
      MarketCreatedSchema,
      { marketId, channelId, channelOwnerUserId: streamer, currency: 'BRL' },
      { occurredAtMs: s(5) },
    ),
  );
  const altBet = bet(alt, marketId, 10, { deviceId: 'dev-other', networkId: 'net-cafe' }, 2500n);
  push(altBet);
  push(bet(honest, marketId, 11, { deviceId: 'dev-honest', networkId: 'net-elsewhere' }));
  // Late bets before a manual lock at 100 s: three accounts on one network, a pair on another.
  for (const [i, user] of ring.entries())
    push(bet(user, lockedMarket, 95 + i, { networkId: 'net-ring' }));
  for (const [i, user] of pair.entries())
    push(bet(user, lockedMarket, 96 + i, { networkId: 'net-pair' }));
  push(
    envelope(
      'market',
      lockedMarket,
      MarketLockedSchema,
      {
        marketId: lockedMarket,
        channelId,
        lockedAtMs: BigInt(s(100)),
        lockEffectiveAtMs: BigInt(s(100)),
        reason: MarketLockReason.MANUAL,
      },
      { occurredAtMs: s(100) },
    ),
  );
  // Cycling: 600.00 in, 10.00 staked, 550.00 out. The bettor stakes 300.00 first.
  for (const [user, stake] of [
    [cycler, 1000n],
    [bettor, 30_000n],
  ] as const) {
    push(
      envelope(
        'payment',
        nextUlid(),
        DepositSucceededSchema,
        { paymentId: nextUlid(), userId: user, amount: { amountMinor: 60_000n, currency: 'BRL' } },
        { occurredAtMs: s(200) },
      ),
    );
    push(bet(user, marketId, 210, {}, stake));
    push(
      envelope(
        'payment',
        nextUlid(),
        WithdrawalRequestedSchema,
        { paymentId: nextUlid(), userId: user, amount: { amountMinor: 55_000n, currency: 'BRL' } },
        { occurredAtMs: s(300) },
      ),
    );
  }
  // Velocity: 30 bets in 29 s.
  for (let i = 0; i < 30; i += 1) push(bet(spammer, marketId, 400 + i));
  // Retroactive voids on three markets.
  for (let i = 0; i < 3; i += 1) {
    const market = nextUlid();
    push(
      envelope(
        'bet',
        market,
        BetVoidedSchema,
        {
          betId: nextUlid(),
          marketId: market,
          channelId,
          userId: sniper,
          reason: BetVoidReason.RETROACTIVE_LOCK,
          currency: 'BRL',
          voidedStakeMinor: 100n,
          voidedAtMs: BigInt(s(500 + i)),
        },
        { occurredAtMs: s(500 + i) },
      ),
    );
  }
  return {
    events,
    streamer,
    alt,
    ring,
    cycler,
    spammer,
    sniper,
    channelId,
    marketId,
    lockedMarket,
    altBet,
  };
}

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return Code[ConnectError.from(error).code];
  }
  return 'OK';
}

describe.each(sqlTargets().map((t) => [t.name, t] as const))('fraud flags on %s', (_n, target) => {
  it('group-committed deliveries raise the same flags, once each', async () => {
    const db = await target.create();
    try {
      const clock = manualClock(s(1000));
      const service = await createAnalyticsTestService({ sql: db.sql, tokens, clock });
      const consumer = createFraudConsumer({
        thresholds: defaultFraudThresholds,
        clock,
        sql: db.sql,
      });
      if (!('handleIdempotently' in consumer))
        throw new Error('the fraud consumer batches with sql');
      const story = scenario();
      // One burst (one transaction, the events judged in delivery order), then redeliveries.
      await Promise.all(story.events.map((event) => consumer.handleIdempotently(event)));
      await Promise.all(
        [story.altBet, ...story.events.slice(-10)].map((event) =>
          consumer.handleIdempotently(event),
        ),
      );
      const admin = await asUser(tokens, nextUlid(), 'admin');
      const all = await service.analytics.listFraudFlags({}, admin);
      expect(all.flags.map((f) => FraudRule[f.rule]).sort()).toEqual([
        'DEPOSIT_WITHDRAW_CYCLING',
        'LATE_BET_CLUSTER',
        'REPEATED_RETROACTIVE_VOIDS',
        'STREAMER_ALT_BETTING',
        'VELOCITY_SPIKE',
      ]);
      const outbox = await db.sql.query('SELECT 1 FROM outbox');
      expect(outbox.rows).toHaveLength(5);
    } finally {
      await db.dispose();
    }
  });

  it('raises one flag per suspicion with evidence, lists, filters and resolves them', async () => {
    const db = await target.create();
    try {
      const clock = manualClock(s(1000));
      const service = await createAnalyticsTestService({ sql: db.sql, tokens, clock });
      const story = scenario();
      await service.ingest(story.events);
      await service.ingest([story.altBet, ...story.events.slice(-10)]); // redelivered
      const admin = await asUser(tokens, nextUlid(), 'admin');
      const all = await service.analytics.listFraudFlags({}, admin);
      expect(all.flags.map((f) => FraudRule[f.rule]).sort()).toEqual([
        'DEPOSIT_WITHDRAW_CYCLING',
        'LATE_BET_CLUSTER',
        'REPEATED_RETROACTIVE_VOIDS',
        'STREAMER_ALT_BETTING',
        'VELOCITY_SPIKE',
      ]);
      const alt = all.flags.find((f) => f.rule === FraudRule.STREAMER_ALT_BETTING)!;
      expect(alt).toMatchObject({
        status: FraudFlagStatus.OPEN,
        userIds: [story.alt, story.streamer],
        channelId: story.channelId,
        marketId: story.marketId,
        raisedAtMs: BigInt(s(1000)),
      });
      expect(JSON.parse(alt.evidenceJson)).toMatchObject({
        stakeMinor: '2500',
        sharedLinks: [{ kind: 'device', id: 'dev-streamer' }],
      });
      const late = all.flags.find((f) => f.rule === FraudRule.LATE_BET_CLUSTER)!;
      expect([...late.userIds].sort()).toEqual([...story.ring].sort());
      expect(late.summary).toContain('3 accounts on network');
      const cycling = all.flags.find((f) => f.rule === FraudRule.DEPOSIT_WITHDRAW_CYCLING)!;
      expect(cycling.userIds).toEqual([story.cycler]);
      expect(all.flags.find((f) => f.rule === FraudRule.VELOCITY_SPIKE)!.userIds).toEqual([
        story.spammer,
      ]);
      const outbox = await db.sql.query<{ topic: string; type: string }>(
        'SELECT topic, type FROM outbox ORDER BY seq',
      );
      expect(outbox.rows).toHaveLength(5);
      expect(new Set(outbox.rows.map((r) => `${r.topic} ${r.type}`))).toEqual(
        new Set(['analytics streambet.events.v1.FraudFlagRaised']),
      );

      const byUser = await service.analytics.listFraudFlags({ userId: story.streamer }, admin);
      expect(byUser.flags.map((f) => f.flagId)).toEqual([alt.flagId]);
      const byRule = await service.analytics.listFraudFlags(
        { rules: [FraudRule.VELOCITY_SPIKE, FraudRule.LATE_BET_CLUSTER] },
        admin,
      );
      expect(byRule.flags).toHaveLength(2);
      const first = await service.analytics.listFraudFlags({ page: { pageSize: 3 } }, admin);
      const second = await service.analytics.listFraudFlags(
        { page: { pageSize: 3, pageToken: first.page!.nextPageToken } },
        admin,
      );
      expect([...first.flags, ...second.flags].map((f) => f.flagId)).toEqual(
        all.flags.map((f) => f.flagId),
      );
      expect(second.page?.nextPageToken).toBe('');

      clock.advance(60_000);
      const request = {
        flagId: alt.flagId,
        resolution: FraudFlagStatus.CONFIRMED,
        note: 'same device as the streamer; account frozen',
      };
      const resolved = await service.analytics.resolveFraudFlag(request, admin);
      expect(resolved.flag).toMatchObject({
        status: FraudFlagStatus.CONFIRMED,
        resolvedAtMs: BigInt(s(1060)),
        resolutionNote: request.note,
      });
      clock.advance(60_000);
      const again = await service.analytics.resolveFraudFlag(request, admin);
      expect(again.flag).toEqual(resolved.flag);
      expect(
        await codeOf(
          service.analytics.resolveFraudFlag(
            { ...request, resolution: FraudFlagStatus.DISMISSED },
            admin,
          ),
        ),
      ).toBe('FailedPrecondition');
      const open = await service.analytics.listFraudFlags(
        { statuses: [FraudFlagStatus.OPEN] },
        admin,
      );
      expect(open.flags).toHaveLength(4);
      const audit = await service.analytics.queryAuditLog(
        { subjectType: 'fraud_flag', subjectId: alt.flagId },
        admin,
      );
      expect(audit.entries).toHaveLength(1);
      expect(audit.entries[0]).toMatchObject({
        action: 'streambet.analytics.v1.AnalyticsService/ResolveFraudFlag',
        reason: request.note,
        actorType: 1,
      });

      for (const [bad, code] of [
        [{ ...request, flagId: nextUlid() }, 'NotFound'],
        [{ ...request, resolution: FraudFlagStatus.OPEN }, 'InvalidArgument'],
        [{ ...request, note: '' }, 'InvalidArgument'],
      ] as const) {
        expect({ bad, code: await codeOf(service.analytics.resolveFraudFlag(bad, admin)) }).toEqual(
          { bad, code },
        );
      }
      expect(await codeOf(service.analytics.listFraudFlags({ fromMs: 5n, toMs: 5n }, admin))).toBe(
        'InvalidArgument',
      );
      expect(
        await codeOf(service.analytics.listFraudFlags({ page: { pageToken: 'nope' } }, admin)),
      ).toBe('InvalidArgument');
      const streamer = await asUser(tokens, story.streamer, 'streamer');
      expect(await codeOf(service.analytics.listFraudFlags({}, streamer))).toBe('PermissionDenied');
      expect(await codeOf(service.analytics.resolveFraudFlag(request, streamer))).toBe(
        'PermissionDenied',
      );
    } finally {
      await db.dispose();
    }
  });
});
