import { fromBinary } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Platform } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import {
  ChannelUnlinkedSchema,
  PredictionBeganSchema,
  PredictionEndedSchema,
  PredictionEndStatus,
  PredictionLockedSchema,
  StreamWentOfflineSchema,
} from '@streambet/contracts/gen/streambet/events/v1/integration_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import {
  ChannelSettingsChangedSchema,
  MarketCanceledSchema,
  MarketCreatedSchema,
  MarketLockedSchema,
  MarketOpenedSchema,
  MarketResolvedSchema,
  MarketVoidedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import {
  MarketCancelReason,
  MarketKind,
  MarketLockReason,
  MarketState,
} from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { POSTGRES_SKIP_REASON, sqlTargets } from '@streambet/testkit/sql';
import { createHarness, failure, marketRequest, outcomeId, type Harness } from './harness.js';

const targets = sqlTargets();

describe.each(targets.map((t) => [t.name, t] as const))('pool markets on %s', (_name, target) => {
  let h: Harness;
  let channelCounter = 0;
  beforeAll(async () => {
    h = await createHarness(target);
  });
  afterAll(async () => {
    await h.dispose();
  });

  /** A fresh linked channel owned by a fresh streamer. */
  async function channel(platform = Platform.TWITCH) {
    channelCounter += 1;
    const channelId = `CH${channelCounter}`;
    const ownerId = `streamer-${channelCounter}`;
    await h.linkChannel(channelId, ownerId, platform);
    return { channelId, ownerId, owner: await h.as(ownerId, 'streamer') };
  }

  async function marketCount(): Promise<number> {
    const rows = await h.db.sql.query<{ n: bigint }>(
      'SELECT count(*)::bigint AS n FROM pool_markets',
    );
    return Number(rows.rows[0]!.n);
  }

  it('given a streamer on their channel, when a market goes DRAFT → OPEN → LOCKED → RESOLVED, then every step commits one event with the next version', async () => {
    const { channelId, ownerId, owner } = await channel();
    const created = (await h.pool.createMarket(marketRequest(channelId), owner)).market!;
    expect(created).toMatchObject({
      state: MarketState.DRAFT,
      version: 1n,
      currency: 'PTS',
      kind: MarketKind.POOL,
    });
    const opened = (await h.pool.openMarket({ marketId: created.marketId }, owner)).market!;
    expect(opened).toMatchObject({
      state: MarketState.OPEN,
      openedAtMs: BigInt(h.clock.now()),
      bettingClosesAtMs: BigInt(h.clock.now() + 120_000),
    });
    h.clock.advance(30_000);
    const locked = await h.pool.lockMarket({ marketId: created.marketId }, owner);
    expect(locked.market).toMatchObject({
      state: MarketState.LOCKED,
      lockReason: MarketLockReason.MANUAL,
      lockedAtMs: BigInt(h.clock.now()),
      // Default: retroactive by the channel's broadcast delay (5 s by default).
      lockEffectiveAtMs: BigInt(h.clock.now() - 5000),
    });
    expect(locked.voidsConfirmed).toBe(false);
    const winner = outcomeId(created, 1);
    const resolved = (
      await h.pool.resolveMarket({ marketId: created.marketId, winningOutcomeId: winner }, owner)
    ).market!;
    expect(resolved).toMatchObject({
      state: MarketState.RESOLVED,
      winningOutcomeId: winner,
      version: 4n,
    });
    expect(resolved.voidGraceEndsAtMs).toBe(BigInt(h.clock.now() + 600_000));

    const rows = await h.outbox(created.marketId);
    expect(rows.map((r) => [r.topic, r.type])).toEqual([
      ['market', MarketCreatedSchema.typeName],
      ['market', MarketOpenedSchema.typeName],
      ['market', MarketLockedSchema.typeName],
      ['market', MarketResolvedSchema.typeName],
    ]);
    const createdEvent = fromBinary(MarketCreatedSchema, rows[0]!.payload);
    expect(createdEvent).toMatchObject({
      marketId: created.marketId,
      channelOwnerUserId: ownerId,
      version: 1n,
    });
    expect(createdEvent.metadata).toMatchObject({
      producer: 'pool',
      aggregateId: created.marketId,
      actorUserId: ownerId,
    });
    const lockedEvent = fromBinary(MarketLockedSchema, rows[2]!.payload);
    expect(lockedEvent).toMatchObject({
      lockEffectiveAtMs: BigInt(h.clock.now() - 5000),
      version: 3n,
    });
    const resolvedEvent = fromBinary(MarketResolvedSchema, rows[3]!.payload);
    expect(resolvedEvent).toMatchObject({
      winningOutcomeId: winner,
      currency: 'PTS',
      commissionBps: 500,
      streamerRevenueShareBps: 5000,
      streamerUserId: ownerId,
      version: 4n,
    });

    // Retries of the same transitions are answered with the market unchanged and publish nothing.
    await h.pool.openMarket({ marketId: created.marketId }, owner).catch(() => undefined);
    await h.pool.resolveMarket({ marketId: created.marketId, winningOutcomeId: winner }, owner);
    expect(await h.outbox(created.marketId)).toHaveLength(4);

    const service = await h.service('settlement');
    const terms = await h.internal.getMarketForSettlement({ marketId: created.marketId }, service);
    expect(terms).toMatchObject({
      state: MarketState.RESOLVED,
      winningOutcomeId: winner,
      streamerUserId: ownerId,
      commissionBps: 500,
      voidedAfterResolution: false,
    });
    const rules = (
      await h.internal.getMarketForBetting({ marketId: created.marketId }, await h.service())
    ).rules!;
    expect(rules).toMatchObject({
      channelOwnerUserId: ownerId,
      state: MarketState.RESOLVED,
      outcomeIds: created.outcomes.map((o) => o.outcomeId),
      lockEffectiveAtMs: BigInt(h.clock.now() - 5000),
    });
  });

  it('given bad input, then each rule answers INVALID_ARGUMENT naming the field and nothing is stored', async () => {
    const { channelId, owner } = await channel();
    const before = await marketCount();
    const cases: Array<[Parameters<typeof marketRequest>[1], string]> = [
      [{ title: '' }, 'title'],
      [{ title: 'x'.repeat(141) }, 'title'],
      [{ outcomes: [{ title: 'Only' }] }, 'outcomes'],
      [{ outcomes: Array.from({ length: 11 }, (_, i) => ({ title: `o${i}` })) }, 'outcomes'],
      [{ outcomes: [{ title: 'Yes' }, { title: 'x'.repeat(41) }] }, 'outcomes[1].title'],
      [{ outcomes: [{ title: 'Yes' }, { title: 'YES' }] }, 'outcomes[1].title'],
      [{ currency: 'EUR' }, 'currency'],
      [{ kind: MarketKind.UNSPECIFIED }, 'kind'],
      [{ bettingWindowSeconds: 29 }, 'betting_window_seconds'],
      [{ bettingWindowSeconds: 1801 }, 'betting_window_seconds'],
      [{ commissionBps: 2001 }, 'commission_bps'],
      [
        { stakeLimits: { minStakeMinor: 0n, maxStakePerBetMinor: 5n, maxStakePerUserMinor: 5n } },
        'stake_limits.min_stake_minor',
      ],
      [
        { stakeLimits: { minStakeMinor: 6n, maxStakePerBetMinor: 5n, maxStakePerUserMinor: 5n } },
        'stake_limits.max_stake_per_bet_minor',
      ],
      [
        { stakeLimits: { minStakeMinor: 1n, maxStakePerBetMinor: 5n, maxStakePerUserMinor: 4n } },
        'stake_limits.max_stake_per_user_minor',
      ],
      [{ idempotencyKey: '' }, 'idempotency_key'],
    ];
    for (const [overrides, field] of cases) {
      const error = await failure(h.pool.createMarket(marketRequest(channelId, overrides), owner));
      expect(error.code, field).toBe(Code.InvalidArgument);
      expect(error.message).toContain(`${field}:`);
    }
    const exchange = await failure(
      h.pool.createMarket(marketRequest(channelId, { kind: MarketKind.EXCHANGE }), owner),
    );
    expect(exchange).toMatchObject({
      code: Code.FailedPrecondition,
      message: expect.stringContaining('EXCHANGE') as string,
    });
    expect((await failure(h.pool.createMarket(marketRequest('NO-SUCH-CHANNEL'), owner))).code).toBe(
      Code.NotFound,
    );
    expect(await marketCount()).toBe(before);
  });

  it("given someone else's streamer or a viewer, then PERMISSION_DENIED and the market is unchanged", async () => {
    const { channelId, owner } = await channel();
    const intruder = await h.as('streamer-elsewhere', 'streamer');
    expect((await failure(h.pool.createMarket(marketRequest(channelId), intruder))).code).toBe(
      Code.PermissionDenied,
    );
    expect(
      (
        await failure(
          h.pool.createMarket(marketRequest(channelId), await h.as('viewer-1', 'viewer')),
        )
      ).code,
    ).toBe(Code.PermissionDenied);
    const market = (await h.pool.createMarket(marketRequest(channelId, { openNow: true }), owner))
      .market!;
    h.clock.advance(10_000);
    expect((await failure(h.pool.lockMarket({ marketId: market.marketId }, intruder))).code).toBe(
      Code.PermissionDenied,
    );
    h.clock.advance(10_000);
    await h.pool.lockMarket({ marketId: market.marketId }, owner);
    const resolve = await failure(
      h.pool.resolveMarket(
        { marketId: market.marketId, winningOutcomeId: outcomeId(market, 0) },
        intruder,
      ),
    );
    expect(resolve).toMatchObject({
      code: Code.PermissionDenied,
      message: expect.stringContaining("channel's owner") as string,
    });
    expect(
      (await failure(h.pool.cancelMarket({ marketId: market.marketId, reason: 'nope' }, intruder)))
        .code,
    ).toBe(Code.PermissionDenied);
    expect((await h.pool.getMarket({ marketId: market.marketId })).market!.state).toBe(
      MarketState.LOCKED,
    );
    // An admin manages any channel.
    const admin = await h.as('admin-1', 'admin');
    const resolved = await h.pool.resolveMarket(
      { marketId: market.marketId, winningOutcomeId: outcomeId(market, 0) },
      admin,
    );
    expect(resolved.market!.state).toBe(MarketState.RESOLVED);
  });

  it('given wrong states and bad lifecycle input, then FAILED_PRECONDITION / INVALID_ARGUMENT / ABORTED and no event', async () => {
    const { channelId, owner } = await channel();
    const market = (await h.pool.createMarket(marketRequest(channelId), owner)).market!;
    const id = market.marketId;
    expect((await failure(h.pool.lockMarket({ marketId: id }, owner))).code).toBe(
      Code.FailedPrecondition,
    );
    expect(
      (
        await failure(
          h.pool.resolveMarket({ marketId: id, winningOutcomeId: outcomeId(market, 0) }, owner),
        )
      ).code,
    ).toBe(Code.FailedPrecondition);
    expect(
      (await failure(h.pool.openMarket({ marketId: id, expectedVersion: 7n }, owner))).code,
    ).toBe(Code.Aborted);
    await h.pool.openMarket({ marketId: id, expectedVersion: 1n }, owner);
    h.clock.advance(70_000);
    const tooEarly = await failure(
      h.pool.lockMarket({ marketId: id, eventAtMs: BigInt(h.clock.now() - 60_001) }, owner),
    );
    expect(tooEarly).toMatchObject({
      code: Code.InvalidArgument,
      message: expect.stringContaining('event_at_ms') as string,
    });
    const locked = await h.pool.lockMarket(
      { marketId: id, eventAtMs: BigInt(h.clock.now() - 60_000) },
      owner,
    );
    expect(locked.market!.lockEffectiveAtMs).toBe(BigInt(h.clock.now() - 60_000));
    // A repeated lock returns the first lock unchanged, whatever instant it names.
    const again = await h.pool.lockMarket(
      { marketId: id, eventAtMs: BigInt(h.clock.now()) },
      owner,
    );
    expect(again.market!.lockEffectiveAtMs).toBe(BigInt(h.clock.now() - 60_000));
    expect(
      (
        await failure(
          h.pool.resolveMarket({ marketId: id, winningOutcomeId: 'not-an-outcome' }, owner),
        )
      ).code,
    ).toBe(Code.InvalidArgument);
    expect((await failure(h.pool.cancelMarket({ marketId: id, reason: '' }, owner))).code).toBe(
      Code.InvalidArgument,
    );
    expect(
      (await failure(h.pool.cancelMarket({ marketId: id, reason: 'x'.repeat(501) }, owner))).code,
    ).toBe(Code.InvalidArgument);
    expect((await failure(h.pool.getMarket({ marketId: 'missing' }))).code).toBe(Code.NotFound);
    expect((await h.outbox(id)).map((r) => r.type)).toEqual([
      MarketCreatedSchema.typeName,
      MarketOpenedSchema.typeName,
      MarketLockedSchema.typeName,
    ]);
    const canceled = await h.pool.cancelMarket({ marketId: id, reason: 'stream crashed' }, owner);
    expect(canceled.market).toMatchObject({
      state: MarketState.CANCELED,
      cancelReason: MarketCancelReason.MANUAL,
      cancelReasonText: 'stream crashed',
    });
    const rows = await h.outbox(id);
    expect(fromBinary(MarketCanceledSchema, rows[3]!.payload)).toMatchObject({
      previousState: MarketState.LOCKED,
      currency: 'PTS',
    });
    expect(
      (
        await failure(
          h.internal.getMarketForSettlement({ marketId: 'missing' }, await h.service('settlement')),
        )
      ).code,
    ).toBe(Code.NotFound);
  });

  it('given CreateMarket retried with the same key, then the first market is returned; other content is ALREADY_EXISTS', async () => {
    const { channelId, owner } = await channel();
    const request = marketRequest(channelId);
    const first = (await h.pool.createMarket(request, owner)).market!;
    const second = (await h.pool.createMarket(request, owner)).market!;
    expect(second.marketId).toBe(first.marketId);
    expect(await h.outbox(first.marketId)).toHaveLength(1);
    const conflict = await failure(
      h.pool.createMarket({ ...request, title: 'Another question?' }, owner),
    );
    expect(conflict.code).toBe(Code.AlreadyExists);
  });

  it('given a refused CreateMarket, then nothing is stored and its key is free; a settings update that changes nothing writes nothing', async () => {
    const { channelId, owner } = await channel(Platform.KICK);
    const before = await marketCount();
    const mirrored = marketRequest(channelId, {
      twitchPredictionId: 'pred-kick',
      outcomes: [
        { title: 'Yes', twitchOutcomeId: 'y' },
        { title: 'No', twitchOutcomeId: 'n' },
      ],
    });
    expect(await failure(h.pool.createMarket(mirrored, owner))).toEqual({
      code: Code.FailedPrecondition,
      message: 'twitch_prediction_id can only be mirrored on a Twitch channel',
    });
    // The refusal rolled back the idempotency claim: the same key serves a corrected request.
    const corrected = (
      await h.pool.createMarket(
        { ...marketRequest(channelId), idempotencyKey: mirrored.idempotencyKey ?? '' },
        owner,
      )
    ).market!;
    expect(await marketCount()).toBe(before + 1);
    expect((await h.outbox(corrected.marketId)).map((r) => r.type)).toEqual([
      MarketCreatedSchema.typeName,
    ]);

    // A prediction mirrored once cannot be mirrored by a second market.
    const twitch = await channel();
    const prediction = {
      twitchPredictionId: 'pred-once',
      outcomes: [
        { title: 'Yes', twitchOutcomeId: 'y' },
        { title: 'No', twitchOutcomeId: 'n' },
      ],
    };
    await h.pool.createMarket(marketRequest(twitch.channelId, prediction), twitch.owner);
    const other = await channel();
    expect(
      await failure(h.pool.createMarket(marketRequest(other.channelId, prediction), other.owner)),
    ).toEqual({
      code: Code.AlreadyExists,
      message: 'Twitch prediction pred-once is already mirrored by another market',
    });

    // Settings equal to the current ones: no new version, no event.
    const settings = (await h.pool.getChannelSettings({ channelId }, owner)).settings!;
    const same = (
      await h.pool.updateChannelSettings(
        { channelId, broadcastDelaySeconds: settings.broadcastDelaySeconds },
        owner,
      )
    ).settings!;
    expect(same.version).toBe(settings.version);
    expect(await h.outbox(channelId)).toEqual([]);
  });

  it('given DRAFT markets, then only the owner and admins see them; lists page newest first and filter by state', async () => {
    const { channelId, owner } = await channel();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      h.clock.advance(1);
      ids.push(
        (await h.pool.createMarket(marketRequest(channelId, { openNow: i % 2 === 0 }), owner))
          .market!.marketId,
      );
    }
    const draft = ids[1]!;
    expect((await failure(h.pool.getMarket({ marketId: draft }))).code).toBe(Code.NotFound);
    expect(
      (await failure(h.pool.getMarket({ marketId: draft }, await h.as('viewer-2', 'viewer')))).code,
    ).toBe(Code.NotFound);
    expect((await h.pool.getMarket({ marketId: draft }, owner)).market!.marketId).toBe(draft);

    const anonymous = await h.pool.listMarkets({ channelId });
    expect(anonymous.markets.map((m) => m.marketId)).toEqual([ids[4], ids[2], ids[0]]);
    const page1 = await h.pool.listMarkets({ channelId, page: { pageSize: 2 } }, owner);
    expect(page1.markets.map((m) => m.marketId)).toEqual([ids[4], ids[3]]);
    const page2 = await h.pool.listMarkets(
      { channelId, page: { pageSize: 2, pageToken: page1.page!.nextPageToken } },
      owner,
    );
    expect(page2.markets.map((m) => m.marketId)).toEqual([ids[2], ids[1]]);
    const page3 = await h.pool.listMarkets(
      { channelId, page: { pageSize: 2, pageToken: page2.page!.nextPageToken } },
      owner,
    );
    expect(page3.markets.map((m) => m.marketId)).toEqual([ids[0]]);
    expect(page3.page!.nextPageToken).toBe('');
    const drafts = await h.pool.listMarkets({ channelId, states: [MarketState.DRAFT] }, owner);
    expect(drafts.markets.map((m) => m.marketId)).toEqual([ids[3], ids[1]]);

    // Every channel at once (the lobby): public markets for anyone, drafts only for admins.
    const lobby = (await h.pool.listMarkets({ channelId: '' })).markets.map((m) => m.marketId);
    expect(lobby.filter((id) => ids.includes(id))).toEqual([ids[4], ids[2], ids[0]]);
    expect(
      (await failure(h.pool.listMarkets({ channelId: '', states: [MarketState.DRAFT] }, owner)))
        .code,
    ).toBe(Code.PermissionDenied);
    expect((await failure(h.pool.listMarkets({ channelId: 'nope' }))).code).toBe(Code.NotFound);
    expect((await failure(h.pool.listMarkets({ channelId, page: { pageSize: 201 } }))).code).toBe(
      Code.InvalidArgument,
    );
    expect((await failure(h.pool.listMarkets({ channelId, page: { pageToken: '!!' } }))).code).toBe(
      Code.InvalidArgument,
    );
    const all = await h.pool.listMarkets(
      { channelId: '', page: { pageSize: 200 } },
      await h.as('admin-1', 'admin'),
    );
    expect(all.markets.map((m) => m.marketId)).toEqual(expect.arrayContaining(ids));
  });

  it('given OPEN markets whose window elapsed, when lockDueMarkets runs at an injected now, then exactly those lock at betting_closes_at', async () => {
    const { channelId, owner } = await channel();
    const short = (
      await h.pool.createMarket(
        marketRequest(channelId, { openNow: true, bettingWindowSeconds: 30 }),
        owner,
      )
    ).market!;
    const long = (
      await h.pool.createMarket(
        marketRequest(channelId, { openNow: true, bettingWindowSeconds: 600 }),
        owner,
      )
    ).market!;
    const due = Number(short.bettingClosesAtMs);
    expect(await h.store.lockDueMarkets(due - 1)).toBe(0);
    expect(await h.store.lockDueMarkets(due + 2500)).toBe(1);
    expect(await h.store.lockDueMarkets(due + 2500)).toBe(0);
    const locked = (await h.pool.getMarket({ marketId: short.marketId })).market!;
    expect(locked).toMatchObject({
      state: MarketState.LOCKED,
      lockReason: MarketLockReason.WINDOW_ELAPSED,
      lockEffectiveAtMs: short.bettingClosesAtMs,
      lockedAtMs: BigInt(due + 2500),
    });
    const rows = await h.outbox(short.marketId);
    expect(fromBinary(MarketLockedSchema, rows.at(-1)!.payload)).toMatchObject({
      lockedByUserId: '',
      reason: MarketLockReason.WINDOW_ELAPSED,
    });
    expect((await h.pool.getMarket({ marketId: long.marketId })).market!.state).toBe(
      MarketState.OPEN,
    );
  });

  it('given a resolved market, then an admin voids it within the grace period only, and settlement sees voided_after_resolution', async () => {
    const { channelId, owner } = await channel();
    const admin = await h.as('admin-1', 'admin');
    async function resolvedMarket() {
      const market = (await h.pool.createMarket(marketRequest(channelId, { openNow: true }), owner))
        .market!;
      h.clock.advance(10_000);
      await h.pool.lockMarket({ marketId: market.marketId }, owner);
      return (
        await h.pool.resolveMarket(
          { marketId: market.marketId, winningOutcomeId: outcomeId(market, 0) },
          owner,
        )
      ).market!;
    }
    const late = await resolvedMarket();
    const early = await resolvedMarket();
    expect(
      (
        await failure(
          h.pool.voidResolvedMarket({ marketId: early.marketId, reason: 'wrong' }, owner),
        )
      ).code,
    ).toBe(Code.PermissionDenied);
    expect(
      (await failure(h.pool.cancelMarket({ marketId: early.marketId, reason: 'wrong' }, owner)))
        .code,
    ).toBe(Code.FailedPrecondition);
    h.clock.advance(599_999 - 10_000);
    const voided = (
      await h.pool.voidResolvedMarket({ marketId: early.marketId, reason: 'wrong result' }, admin)
    ).market!;
    expect(voided).toMatchObject({
      state: MarketState.CANCELED,
      cancelReason: MarketCancelReason.VOIDED_AFTER_RESOLUTION,
      winningOutcomeId: outcomeId(early, 0),
    });
    expect(
      fromBinary(MarketVoidedSchema, (await h.outbox(early.marketId)).at(-1)!.payload),
    ).toMatchObject({
      voidedWinningOutcomeId: outcomeId(early, 0),
      reasonText: 'wrong result',
    });
    const terms = await h.internal.getMarketForSettlement(
      { marketId: early.marketId },
      await h.service('settlement'),
    );
    expect(terms).toMatchObject({
      state: MarketState.CANCELED,
      voidedAfterResolution: true,
      winningOutcomeId: outcomeId(early, 0),
    });
    // `late` was resolved 10 s before `early`: its grace period ends at exactly this instant.
    h.clock.advance(10_001);
    const final = await failure(
      h.pool.voidResolvedMarket({ marketId: late.marketId, reason: 'wrong' }, admin),
    );
    expect(final).toMatchObject({
      code: Code.FailedPrecondition,
      message: expect.stringContaining('grace period') as string,
    });
  });

  it('given channel settings, then the owner changes delay, limits and window; commission is admin-only; new markets and locks use them', async () => {
    const { channelId, ownerId, owner } = await channel();
    const defaults = (await h.pool.getChannelSettings({ channelId }, owner)).settings!;
    expect(defaults).toMatchObject({
      ownerUserId: ownerId,
      platform: Platform.TWITCH,
      version: 0n,
      commissionBps: 500,
      broadcastDelaySeconds: 5,
    });
    expect(
      (
        await failure(
          h.pool.getChannelSettings({ channelId }, await h.as('streamer-x', 'streamer')),
        )
      ).code,
    ).toBe(Code.PermissionDenied);
    expect(
      (await failure(h.pool.updateChannelSettings({ channelId, commissionBps: 800 }, owner))).code,
    ).toBe(Code.PermissionDenied);
    expect(
      (await failure(h.pool.updateChannelSettings({ channelId, broadcastDelaySeconds: 61 }, owner)))
        .code,
    ).toBe(Code.InvalidArgument);
    const updated = (
      await h.pool.updateChannelSettings(
        {
          channelId,
          broadcastDelaySeconds: 20,
          pointsStakeLimits: {
            minStakeMinor: 10n,
            maxStakePerBetMinor: 50n,
            maxStakePerUserMinor: 90n,
          },
        },
        owner,
      )
    ).settings!;
    expect(updated).toMatchObject({
      version: 1n,
      broadcastDelaySeconds: 20,
      pointsStakeLimits: { minStakeMinor: 10n },
    });
    expect(
      (
        await failure(
          h.pool.updateChannelSettings(
            { channelId, defaultBettingWindowSeconds: 60, expectedVersion: 5n },
            owner,
          ),
        )
      ).code,
    ).toBe(Code.Aborted);
    await h.pool.updateChannelSettings(
      { channelId, commissionBps: 800 },
      await h.as('admin-1', 'admin'),
    );
    const changed = (await h.outbox(channelId)).map((r) =>
      fromBinary(ChannelSettingsChangedSchema, r.payload),
    );
    expect(changed.map((e) => e.changedFields)).toEqual([
      ['broadcast_delay_seconds', 'points_stake_limits'],
      ['commission_bps'],
    ]);

    const market = (await h.pool.createMarket(marketRequest(channelId, { openNow: true }), owner))
      .market!;
    expect(market).toMatchObject({
      commissionBps: 800,
      stakeLimits: { minStakeMinor: 10n, maxStakePerUserMinor: 90n },
    });
    expect(
      (await failure(h.pool.createMarket(marketRequest(channelId, { commissionBps: 700 }), owner)))
        .code,
    ).toBe(Code.PermissionDenied);
    h.clock.advance(45_000);
    const locked = (await h.pool.lockMarket({ marketId: market.marketId }, owner)).market!;
    expect(locked.lockEffectiveAtMs).toBe(BigInt(h.clock.now() - 20_000));
  });

  it("given the bet engine's odds snapshots, then GetMarket and ListMarkets show the newest one (older or repeated snapshots are ignored)", async () => {
    const { channelId, owner } = await channel();
    const market = (await h.pool.createMarket(marketRequest(channelId, { openNow: true }), owner))
      .market!;
    const snapshot = (version: bigint, yes: bigint, no: bigint) => ({
      channelId,
      odds: {
        marketId: market.marketId,
        kind: MarketKind.POOL,
        currency: 'PTS',
        totalStakedMinor: yes + no,
        bettorCount: 2n,
        version,
        outcomes: [
          { outcomeId: outcomeId(market, 0), stakedMinor: yes, betCount: 1n, decimalOdds: '1.90' },
          { outcomeId: outcomeId(market, 1), stakedMinor: no, betCount: 1n, decimalOdds: '2.10' },
        ],
      },
    });
    expect(await h.projectionEvent('odds-2', OddsChangedSchema, snapshot(2n, 300n, 200n))).toBe(
      true,
    );
    expect(await h.projectionEvent('odds-1', OddsChangedSchema, snapshot(1n, 100n, 0n))).toBe(true);
    expect(await h.projectionEvent('odds-2', OddsChangedSchema, snapshot(2n, 300n, 200n))).toBe(
      false,
    );
    const shown = (await h.pool.getMarket({ marketId: market.marketId })).market!;
    expect(shown).toMatchObject({
      totalStakedMinor: 500n,
      bettorCount: 2n,
      oddsVersion: 2n,
      version: 2n,
    });
    expect(shown.outcomes.map((o) => [o.stakedMinor, o.decimalOdds])).toEqual([
      [300n, '1.90'],
      [200n, '2.10'],
    ]);
    const listed = (await h.pool.listMarkets({ channelId })).markets.find(
      (m) => m.marketId === market.marketId,
    )!;
    expect(listed.totalStakedMinor).toBe(500n);
  });

  it('given integration events, then offline auto-locks, unlink cancels unfinished markets, and a mirrored prediction opens, locks and resolves', async () => {
    const { channelId, owner } = await channel();
    const auto = (await h.pool.createMarket(marketRequest(channelId, { openNow: true }), owner))
      .market!;
    const manual = (
      await h.pool.createMarket(
        marketRequest(channelId, { openNow: true, autoLockOnOffline: false }),
        owner,
      )
    ).market!;
    h.clock.advance(20_000);
    const offline = {
      channelId,
      platform: Platform.TWITCH,
      endedAtMs: BigInt(h.clock.now() - 3000),
    };
    expect(await h.integrationEvent('offline-1', StreamWentOfflineSchema, offline)).toBe(true);
    expect(await h.integrationEvent('offline-1', StreamWentOfflineSchema, offline)).toBe(false);
    expect((await h.pool.getMarket({ marketId: auto.marketId })).market).toMatchObject({
      state: MarketState.LOCKED,
      lockReason: MarketLockReason.STREAM_OFFLINE,
      lockEffectiveAtMs: BigInt(h.clock.now() - 3000),
    });
    expect((await h.pool.getMarket({ marketId: manual.marketId })).market!.state).toBe(
      MarketState.OPEN,
    );

    const mirrored = (
      await h.pool.createMarket(
        marketRequest(channelId, {
          title: 'Win?',
          twitchPredictionId: 'pred-1',
          outcomes: [
            { title: 'Yes', twitchOutcomeId: 'tw-yes' },
            { title: 'No', twitchOutcomeId: 'tw-no' },
          ],
          openNow: true,
        }),
        owner,
      )
    ).market!;
    expect(mirrored.state).toBe(MarketState.DRAFT);
    expect(
      (
        await failure(
          h.pool.createMarket(
            marketRequest(channelId, {
              twitchPredictionId: 'pred-2',
              outcomes: [
                { title: 'A', twitchOutcomeId: 'a' },
                { title: 'B', twitchOutcomeId: 'b' },
              ],
            }),
            owner,
          ),
        )
      ).code,
    ).toBe(Code.FailedPrecondition);
    await h.integrationEvent('began-1', PredictionBeganSchema, {
      channelId,
      predictionId: 'pred-1',
      title: 'Win?',
    });
    h.clock.advance(40_000);
    await h.integrationEvent('locked-1', PredictionLockedSchema, {
      channelId,
      predictionId: 'pred-1',
      lockedAtMs: BigInt(h.clock.now() - 1000),
    });
    await h.integrationEvent('ended-1', PredictionEndedSchema, {
      channelId,
      predictionId: 'pred-1',
      status: PredictionEndStatus.RESOLVED,
      winningOutcomeId: 'tw-no',
      endedAtMs: BigInt(h.clock.now()),
    });
    const resolved = (await h.pool.getMarket({ marketId: mirrored.marketId })).market!;
    expect(resolved).toMatchObject({
      state: MarketState.RESOLVED,
      winningOutcomeId: outcomeId(mirrored, 1),
      lockReason: MarketLockReason.TWITCH_PREDICTION_LOCKED,
    });
    expect((await h.outbox(mirrored.marketId)).map((r) => r.type)).toEqual([
      MarketCreatedSchema.typeName,
      MarketOpenedSchema.typeName,
      MarketLockedSchema.typeName,
      MarketResolvedSchema.typeName,
    ]);

    await h.integrationEvent('unlinked-1', ChannelUnlinkedSchema, { channelId, reason: 'bye' });
    for (const id of [auto.marketId, manual.marketId]) {
      expect((await h.pool.getMarket({ marketId: id })).market!.state).toBe(MarketState.CANCELED);
    }
    expect((await h.pool.getMarket({ marketId: mirrored.marketId })).market!.state).toBe(
      MarketState.RESOLVED,
    );
    expect((await failure(h.pool.createMarket(marketRequest(channelId), owner))).code).toBe(
      Code.NotFound,
    );
  });
});

if (!targets.some((t) => t.name === 'postgres')) {
  describe.skip(`pool markets on postgres (${POSTGRES_SKIP_REASON})`, () => {
    it('runs the same cases on real PostgreSQL', () => {});
  });
}
