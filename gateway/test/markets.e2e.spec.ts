/**
 * The whole parimutuel flow through the gateway on the embedded platform (issue 4, Must show): a
 * streamer opens a market, 200 viewers bet concurrently on several outcomes over Connect and gRPC,
 * the market locks and resolves, and every wallet ends exactly where product.md's formula says —
 * computed here independently of packages/parimutuel. The same with a cancel (everyone refunded)
 * and with a retroactive lock (bets after the event instant voided, the rest settled).
 */
import { createClient, Code, ConnectError, type Client } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BetEngineService,
  BetStatus,
  BetVoidReason,
  type Bet,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketKind, MarketState } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import {
  SettlementService,
  SettlementStatus,
  type Settlement,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { generateServiceKeys } from '@streambet/platform/auth/tokens';
import { servicePorts } from '@streambet/platform/runtime/platform-config';
import { pgliteTemplate } from '@streambet/testkit/sql';
import { startEmbeddedPlatform, type EmbeddedPlatform } from '../src/embedded-platform.js';
import {
  createSeedKit,
  newChannelId,
  seedPassword,
  serviceTokensFrom,
  type Actor,
  type SeedKit,
} from '../src/seed/actors.js';

const viewerCount = 200;
const grantMinor = 1_000_000n;
const commissionBps = 500n;
const streamerShareBps = 5000n;

let platform: EmbeddedPlatform;
let kit: SeedKit;
let streamer: Actor;
let viewers: Actor[];
let channelId: string;
let betsOverConnect: Client<typeof BetEngineService>;
let betsOverGrpc: Client<typeof BetEngineService>;
let settlements: Client<typeof SettlementService>;

beforeAll(async () => {
  const pair = await generateServiceKeys(Object.keys(servicePorts));
  platform = await startEmbeddedPlatform({
    ports: 'free',
    // Cheap password hashes: 201 registrations, not a test of scrypt.
    env: {
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
      USER_SCRYPT_LOG_N: '10',
      // Every simulated viewer calls from 127.0.0.1: the per-address limit would be the whole test.
      RATE_LIMIT_IP_PER_SECOND: '0',
    },
    template: await pgliteTemplate(),
    keys: { servicePrivateJwks: pair.privateJwks, servicePublicJwks: pair.publicJwks },
  });
  kit = createSeedKit({
    gatewayUrl: platform.gatewayUrl,
    userServiceUrl: platform.serviceUrls.get('user')!,
    serviceToken: serviceTokensFrom(pair.privateJwks),
    bus: platform.bus,
  });
  betsOverConnect = createClient(BetEngineService, kit.connect);
  betsOverGrpc = createClient(BetEngineService, kit.grpc);
  settlements = createClient(SettlementService, kit.connect);

  channelId = newChannelId();
  const owner = await kit.register('streamer@example.com', 'TheStreamer');
  streamer = await kit.makeStreamer(owner, seedPassword, channelId, 'thestreamer');
  // A lock without an event instant goes back by the channel's broadcast delay (default 5 s) and
  // would void the bets of the last seconds: this channel streams without delay. The retroactive
  // lock test gives its instant explicitly.
  await kit.pool.updateChannelSettings(
    { channelId, broadcastDelaySeconds: 0 },
    { headers: streamer.headers },
  );
  viewers = await Promise.all(
    Array.from({ length: viewerCount }, (_, i) =>
      kit.register(`viewer${i}@example.com`, `Viewer_${i}`),
    ),
  );
  await Promise.all(viewers.map((v) => kit.grantPoints(v.userId, grantMinor, `e2e-${v.userId}`)));
}, 180_000);

afterAll(async () => {
  await platform?.shutdown();
});

async function openMarket(title: string, outcomes: string[]) {
  const created = await kit.pool.createMarket(
    {
      idempotencyKey: `create-${title}`,
      channelId,
      title,
      outcomes: outcomes.map((t) => ({ title: t })),
      currency: 'PTS',
      kind: MarketKind.POOL,
      commissionBps: Number(commissionBps),
      bettingWindowSeconds: 600,
      openNow: true,
    },
    { headers: streamer.headers },
  );
  const market = created.market!;
  expect(market.state).toBe(MarketState.OPEN);
  return { marketId: market.marketId, outcomeIds: market.outcomes.map((o) => o.outcomeId) };
}

async function available(actor: Actor): Promise<bigint> {
  const wallet = await kit.users.getWallet({}, { headers: actor.headers });
  return wallet.balances.find((b) => b.currency === 'PTS')?.availableMinor ?? 0n;
}

async function ledgerAccount(accountId: string) {
  const response = await kit.ledger.getAccountBalances(
    { accountIds: [accountId] },
    await kit.asService(),
  );
  return response.balances[0];
}

interface PlacedBet {
  readonly viewer: Actor;
  readonly outcomeId: string;
  readonly stakeMinor: bigint;
  readonly bet: Bet;
}

/** Every viewer bets at once, half over Connect and half over gRPC; stakes and outcomes vary. */
async function placeAll(
  marketId: string,
  outcomeIds: string[],
  who: Actor[],
  round: string,
): Promise<PlacedBet[]> {
  return Promise.all(
    who.map(async (viewer, i) => {
      const outcomeId = outcomeIds[i % outcomeIds.length]!;
      const stakeMinor = BigInt(1 + ((i * 7919) % 5000));
      const client = i % 2 === 0 ? betsOverConnect : betsOverGrpc;
      const response = await client.placeBet(
        {
          idempotencyKey: `${round}-${viewer.userId}`,
          marketId,
          outcomeId,
          currency: 'PTS',
          stakeMinor,
        },
        { headers: viewer.headers },
      );
      return { viewer, outcomeId, stakeMinor, bet: response.bet! };
    }),
  );
}

/** Waits (bounded) until settlement reports a final state for the market. */
async function finalSettlement(marketId: string): Promise<Settlement> {
  for (let attempt = 0; attempt < 1200; attempt += 1) {
    try {
      const { settlement } = await settlements.getSettlement(
        { marketId },
        { headers: streamer.headers },
      );
      if (
        settlement?.status === SettlementStatus.COMPLETED ||
        settlement?.status === SettlementStatus.REFUNDED ||
        settlement?.status === SettlementStatus.FAILED
      ) {
        return settlement;
      }
    } catch (error) {
      if (ConnectError.from(error).code !== Code.NotFound) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`market ${marketId} was not settled in time`);
}

/** Waits (bounded) until every listed bet of the viewer reaches one of `statuses`. */
async function betStatuses(placed: PlacedBet[], marketId: string, statuses: BetStatus[]) {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const seen = await Promise.all(
      placed.map(async (p) => {
        const { bets } = await betsOverConnect.listMyBets(
          { marketId },
          { headers: p.viewer.headers },
        );
        return bets.find((b) => b.betId === p.bet.betId);
      }),
    );
    if (seen.every((b) => b !== undefined && statuses.includes(b.status))) return seen as Bet[];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('bets did not reach their final status in time');
}

describe('parimutuel markets end to end through the gateway', () => {
  it(`given ${viewerCount} viewers betting concurrently, when the market locks and resolves, then every wallet, the streamer's share, the rake and the house end where the formula says and escrow is zero`, async () => {
    const { marketId, outcomeIds } = await openMarket('Who wins the match?', [
      'Red',
      'Blue',
      'Draw',
    ]);
    const before = new Map(
      await Promise.all(viewers.map(async (v) => [v.userId, await available(v)] as const)),
    );
    const rakeBefore = (await ledgerAccount('rake:PTS'))?.postedMinor ?? 0n;
    const houseBefore = (await ledgerAccount('house:PTS'))?.postedMinor ?? 0n;

    const placed = await placeAll(marketId, outcomeIds, viewers, 'main');
    for (const p of placed) {
      expect(p.bet.status).toBe(BetStatus.ACCEPTED);
      expect(p.bet.stakeMinor).toBe(p.stakeMinor);
    }
    // Each stake is held: available went down by exactly the stake.
    for (const p of placed.slice(0, 10)) {
      expect(await available(p.viewer)).toBe(before.get(p.viewer.userId)! - p.stakeMinor);
    }
    // A retry of the same placement returns the same bet and holds nothing more.
    const retry = await betsOverConnect.placeBet(
      {
        idempotencyKey: `main-${viewers[0]!.userId}`,
        marketId,
        outcomeId: placed[0]!.outcomeId,
        currency: 'PTS',
        stakeMinor: placed[0]!.stakeMinor,
      },
      { headers: viewers[0]!.headers },
    );
    expect(retry.bet?.betId).toBe(placed[0]!.bet.betId);

    const odds = await betsOverConnect.getOdds({ marketId });
    const total = placed.reduce((sum, p) => sum + p.stakeMinor, 0n);
    expect(odds.odds?.totalStakedMinor).toBe(total);
    // On-call sees where placement time went: batch sizes and every step's time on /metrics.
    const metrics = await (
      await fetch(`${platform.serviceUrls.get('bet-engine')!}/metrics`)
    ).text();
    const count = (series: string): number =>
      Number(new RegExp(`^${series} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
    expect(count('bet_engine_batch_size_sum\\{service="bet-engine"\\}')).toBeGreaterThanOrEqual(
      viewerCount,
    );
    // 'holds' is the one ReserveStakes call: eligibility and the holds in one transaction.
    for (const step of ['intents', 'holds', 'finalize', 'odds']) {
      expect(
        count(`bet_engine_batch_step_seconds_count\\{service="bet-engine",step="${step}"\\}`),
      ).toBeGreaterThan(0);
    }
    expect(count('bet_engine_batch_queue_wait_seconds_count\\{service="bet-engine"\\}')).toBe(
      count('bet_engine_batch_size_count\\{service="bet-engine"\\}'),
    );

    await kit.pool.lockMarket({ marketId }, { headers: streamer.headers });
    const winner = outcomeIds[1]!;
    await kit.pool.resolveMarket(
      { marketId, winningOutcomeId: winner },
      { headers: streamer.headers },
    );
    const settlement = await finalSettlement(marketId);
    expect({ status: SettlementStatus[settlement.status], error: settlement.lastError }).toEqual({
      status: 'COMPLETED',
      error: '',
    });

    // product.md, Parimutuel math, computed here on its own.
    const winningStake = placed
      .filter((p) => p.outcomeId === winner)
      .reduce((sum, p) => sum + p.stakeMinor, 0n);
    const losing = total - winningStake;
    const commission = (losing * commissionBps) / 10_000n;
    const distributable = losing - commission;
    const payoutOf = (p: PlacedBet) =>
      p.outcomeId === winner ? p.stakeMinor + (p.stakeMinor * distributable) / winningStake : 0n;
    const paid = placed.reduce(
      (sum, p) => sum + (payoutOf(p) - p.stakeMinor > 0n ? payoutOf(p) - p.stakeMinor : 0n),
      0n,
    );
    const breakage = distributable - paid;
    const streamerShare = (commission * streamerShareBps) / 10_000n;
    expect({
      total: settlement.totalStakedMinor,
      winning: settlement.winningStakedMinor,
      commission: settlement.commissionMinor,
      share: settlement.streamerShareMinor,
      breakage: settlement.breakageMinor,
    }).toEqual({
      total,
      winning: winningStake,
      commission,
      share: streamerShare,
      breakage,
    });

    for (const p of placed) {
      expect({ user: p.viewer.email, available: await available(p.viewer) }).toEqual({
        user: p.viewer.email,
        available: before.get(p.viewer.userId)! - p.stakeMinor + payoutOf(p),
      });
    }
    expect((await ledgerAccount(`market:${marketId}:escrow`))?.postedMinor ?? 0n).toBe(0n);
    expect((await ledgerAccount(`streamer:${streamer.userId}:revenue:PTS`))?.postedMinor).toBe(
      streamerShare,
    );
    expect(((await ledgerAccount('rake:PTS'))?.postedMinor ?? 0n) - rakeBefore).toBe(
      commission - streamerShare,
    );
    expect(((await ledgerAccount('house:PTS'))?.postedMinor ?? 0n) - houseBefore).toBe(breakage);

    // The owners see the result on their bets.
    const final = await betStatuses(placed, marketId, [BetStatus.WON, BetStatus.LOST]);
    for (const [i, bet] of final.entries()) {
      expect(bet.payoutMinor).toBe(payoutOf(placed[i]!));
    }
  }, 240_000);

  it('given bets on a market, when the streamer cancels it, then every viewer gets exactly their stake back and escrow is zero', async () => {
    const { marketId, outcomeIds } = await openMarket('Next map?', ['Dust', 'Mirage']);
    const bettors = viewers.slice(0, 60);
    const before = new Map(
      await Promise.all(bettors.map(async (v) => [v.userId, await available(v)] as const)),
    );
    const placed = await placeAll(marketId, outcomeIds, bettors, 'cancel');
    await kit.pool.cancelMarket(
      { marketId, reason: 'stream crashed' },
      { headers: streamer.headers },
    );
    const settlement = await finalSettlement(marketId);
    expect(settlement.status).toBe(SettlementStatus.REFUNDED);
    for (const v of bettors) expect(await available(v)).toBe(before.get(v.userId));
    expect((await ledgerAccount(`market:${marketId}:escrow`))?.postedMinor ?? 0n).toBe(0n);
    const final = await betStatuses(placed, marketId, [BetStatus.VOIDED, BetStatus.REFUNDED]);
    expect(final.every((b) => b.payoutMinor === 0n || b.payoutMinor === b.stakeMinor)).toBe(true);
  }, 120_000);

  it('given bets before and after the event instant, when the streamer locks retroactively, then the late bets are voided and refunded and only the early ones are settled', async () => {
    const { marketId, outcomeIds } = await openMarket('First blood?', ['Yes', 'No']);
    const early = viewers.slice(0, 40);
    const late = viewers.slice(40, 60);
    const before = new Map(
      await Promise.all(
        [...early, ...late].map(async (v) => [v.userId, await available(v)] as const),
      ),
    );
    const earlyBets = await placeAll(marketId, outcomeIds, early, 'retro-early');
    const eventAtMs = Math.max(...earlyBets.map((p) => Number(p.bet.placedAtMs)));
    // The late bets must be accepted strictly after the event instant (the bet engine's clock).
    while (Date.now() <= eventAtMs + 1) await new Promise((resolve) => setTimeout(resolve, 2));
    const lateBets = await placeAll(marketId, outcomeIds, late, 'retro-late');
    expect(lateBets.every((p) => p.bet.placedAtMs > BigInt(eventAtMs))).toBe(true);

    const locked = await kit.pool.lockMarket(
      { marketId, eventAtMs: BigInt(eventAtMs) },
      { headers: streamer.headers },
    );
    expect(locked.market?.state).toBe(MarketState.LOCKED);
    const voided = await betStatuses(lateBets, marketId, [BetStatus.VOIDED]);
    expect(voided.every((b) => b.voidReason === BetVoidReason.RETROACTIVE_LOCK)).toBe(true);
    for (const v of late) expect(await available(v)).toBe(before.get(v.userId));

    const winner = outcomeIds[0]!;
    await kit.pool.resolveMarket(
      { marketId, winningOutcomeId: winner },
      { headers: streamer.headers },
    );
    const settlement = await finalSettlement(marketId);
    expect(SettlementStatus[settlement.status]).toBe('COMPLETED');
    const total = earlyBets.reduce((sum, p) => sum + p.stakeMinor, 0n);
    expect(settlement.totalStakedMinor).toBe(total);
    const winningStake = earlyBets
      .filter((p) => p.outcomeId === winner)
      .reduce((sum, p) => sum + p.stakeMinor, 0n);
    const losing = total - winningStake;
    const distributable = losing - (losing * commissionBps) / 10_000n;
    for (const p of earlyBets) {
      const payout =
        p.outcomeId === winner ? p.stakeMinor + (p.stakeMinor * distributable) / winningStake : 0n;
      expect(await available(p.viewer)).toBe(before.get(p.viewer.userId)! - p.stakeMinor + payout);
    }
    for (const v of late) expect(await available(v)).toBe(before.get(v.userId));
    expect((await ledgerAccount(`market:${marketId}:escrow`))?.postedMinor ?? 0n).toBe(0n);
  }, 120_000);
});
