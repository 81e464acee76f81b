/**
 * Issue 12 follow-up, end to end on the embedded platform: viewers bet on a parimutuel market, the
 * streamer resolves it, settlement resolves the market in the ledger (ResolveMarket) and pays out
 * of the escrow (CreditMarketPayouts), and the winner's socket.io connection through the gateway
 * receives MarketPayoutsCredited carrying exactly the paid balance GetWallet then reports — so a
 * wallet on screen updates without a reload; the streamer's socket receives the revenue share
 * credited in a payout page. Every push to a socket lists only that owner's accounts.
 */
import { createClient } from '@connectrpc/connect';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BetEngineService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import {
  SettlementService,
  SettlementStatus,
} from '@streambet/contracts/gen/streambet/settlement/v1/settlement_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
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

const PAYOUTS = 'streambet.events.v1.MarketPayoutsCredited';
const RESOLVED = 'streambet.events.v1.MarketHoldsResolved';

interface PageAccount {
  accountId: string;
  ownerId?: string;
  balance?: { availableMinor?: string };
}
interface PagePush {
  marketId: string;
  sequence: string;
  wholeMarket?: boolean;
  accounts: PageAccount[];
}

let platform: EmbeddedPlatform;
let kit: SeedKit;
const sockets: Socket[] = [];

beforeAll(async () => {
  const pair = await generateServiceKeys(Object.keys(servicePorts));
  platform = await startEmbeddedPlatform({
    ports: 'free',
    env: {
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
      USER_SCRYPT_LOG_N: '10',
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
}, 180_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await platform?.shutdown();
});

/** A socket.io connection of `actor` through the gateway, recording every page push it gets. */
async function connect(actor: Actor): Promise<{ pages: Array<{ event: string; page: PagePush }> }> {
  const socket = io(platform.gatewayUrl, {
    path: '/socket.io/',
    transports: ['websocket'],
    auth: { token: actor.accessToken },
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  const pages: Array<{ event: string; page: PagePush }> = [];
  for (const event of [PAYOUTS, RESOLVED]) {
    socket.on(event, (page: PagePush) => pages.push({ event, page }));
  }
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { pages };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('wallet pushes of a market settled through the ledger', () => {
  it("given bets on a parimutuel market, when it resolves, then the winner's socket receives MarketPayoutsCredited with the paid balance GetWallet reports", async () => {
    const channelId = newChannelId();
    const owner = await kit.register('push-streamer@example.com', 'PushStreamer');
    const streamer = await kit.makeStreamer(owner, seedPassword, channelId, 'pushstreamer');
    await kit.pool.updateChannelSettings(
      { channelId, broadcastDelaySeconds: 0 },
      { headers: streamer.headers },
    );
    const [winner, loser] = await Promise.all([
      kit.register('push-winner@example.com', 'PushWinner'),
      kit.register('push-loser@example.com', 'PushLoser'),
    ]);
    await kit.grantPoints(winner.userId, 10_000n, `push-${winner.userId}`);
    await kit.grantPoints(loser.userId, 10_000n, `push-${loser.userId}`);
    const pts = async (actor: Actor): Promise<bigint> =>
      (await kit.users.getWallet({}, { headers: actor.headers })).balances.find(
        (b) => b.currency === 'PTS',
      )?.availableMinor ?? 0n;
    const before = await pts(winner);
    const winnerSocket = await connect(winner);
    const loserSocket = await connect(loser);
    const streamerSocket = await connect(streamer);

    const { market } = await kit.pool.createMarket(
      {
        idempotencyKey: 'push-market',
        channelId,
        title: 'Who takes the round?',
        outcomes: [{ title: 'Red' }, { title: 'Blue' }],
        currency: 'PTS',
        kind: MarketKind.POOL,
        commissionBps: 500,
        bettingWindowSeconds: 600,
        openNow: true,
      },
      { headers: streamer.headers },
    );
    const marketId = market!.marketId;
    const [red, blue] = market!.outcomes.map((o) => o.outcomeId);
    const place = (actor: Actor, outcomeId: string, stakeMinor: bigint) =>
      createClient(BetEngineService, kit.connect).placeBet(
        {
          idempotencyKey: `push-${actor.userId}`,
          marketId,
          outcomeId,
          currency: 'PTS',
          stakeMinor,
        },
        { headers: actor.headers },
      );
    await place(winner, red!, 1_000n);
    await place(loser, blue!, 3_000n);
    await kit.pool.lockMarket({ marketId }, { headers: streamer.headers });
    await kit.pool.resolveMarket(
      { marketId, winningOutcomeId: red! },
      { headers: streamer.headers },
    );

    // Settlement finishes (bounded), so a missing push is told apart from a settlement that failed.
    const settlements = createClient(SettlementService, kit.connect);
    let status = 'NONE';
    let lastError = '';
    const deadline = Date.now() + 60_000;
    while (!['COMPLETED', 'REFUNDED', 'FAILED'].includes(status) && Date.now() < deadline) {
      const response = await settlements
        .getSettlement({ marketId }, { headers: streamer.headers })
        .catch(() => undefined);
      status = SettlementStatus[response?.settlement?.status ?? SettlementStatus.UNSPECIFIED];
      lastError = response?.settlement?.lastError ?? '';
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect({ status, lastError }).toEqual({ status: 'COMPLETED', lastError: '' });
    const paid = await until('the payout push to the winner', () =>
      winnerSocket.pages.find((p) => p.event === PAYOUTS && p.page.marketId === marketId),
    );
    const available = await pts(winner);
    // Stake 1,000 back plus the losing 3,000 less 5% commission: − 1,000 + 3,850.
    expect(available).toBe(before - 1_000n + 3_850n);
    expect(
      paid.page.accounts.map((a) => [a.accountId, a.ownerId, a.balance?.availableMinor]),
    ).toEqual([[`wallet:${winner.userId}:PTS`, winner.userId, String(available)]]);
    // The whole-market resolution came first, at a lower sequence: keeping the highest
    // sequence leaves the paid balance on screen.
    const resolved = await until('the resolution push to the winner', () =>
      winnerSocket.pages.find((p) => p.event === RESOLVED && p.page.marketId === marketId),
    );
    expect(resolved.page.wholeMarket).toBe(true);
    expect(BigInt(resolved.page.sequence)).toBeLessThan(BigInt(paid.page.sequence));

    // The streamer's revenue share, credited in a payout page, reaches the streamer's socket.
    const revenueId = `streamer:${streamer.userId}:revenue:PTS`;
    const share = await until('the revenue push to the streamer', () =>
      streamerSocket.pages.find(
        (p) => p.event === PAYOUTS && p.page.accounts.some((a) => a.accountId === revenueId),
      ),
    );
    const revenue = await kit.ledger.getAccountBalances(
      { accountIds: [revenueId] },
      await kit.asService(),
    );
    expect(revenue.balances[0]!.availableMinor).toBeGreaterThan(0n);
    expect(share.page.accounts.map((a) => [a.accountId, a.balance?.availableMinor])).toEqual([
      [revenueId, String(revenue.balances[0]!.availableMinor)],
    ]);

    // The loser hears of the resolution (their stake posted), with only their own wallet.
    const lost = await until('the resolution push to the loser', () =>
      loserSocket.pages.find((p) => p.event === RESOLVED && p.page.marketId === marketId),
    );
    expect(lost.page.accounts.map((a) => a.accountId)).toEqual([`wallet:${loser.userId}:PTS`]);
    // Every socket saw only its owner's accounts.
    for (const [actor, socket] of [
      [winner, winnerSocket],
      [loser, loserSocket],
      [streamer, streamerSocket],
    ] as const) {
      const ids = socket.pages.flatMap(({ page }) => page.accounts.map((a) => a.accountId));
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) expect(id.split(':')[1], id).toBe(actor.userId);
    }
    expect(
      loserSocket.pages.some((p) =>
        p.page.accounts.some((a) => a.accountId === `wallet:${winner.userId}:PTS`),
      ),
    ).toBe(false);
  }, 180_000);
});
