/**
 * The live demo `npm start` runs so that a newcomer who opens the gateway sees something happen
 * (issue 5): a demo streamer with a linked channel, an open play-money market, and simulated
 * viewers betting every few hundred milliseconds so odds move. When a market's betting window
 * ends the pool auto-locks it; the demo then resolves it with a random winner (settlement pays
 * out) and opens the next one. Everything goes through the public API and the bus, exactly as
 * real clients and the integration service would; nothing writes to a service's tables.
 */
import { randomInt } from 'node:crypto';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Platform, Role } from '@streambet/contracts/gen/streambet/common/v1/common_pb';
import { UserService } from '@streambet/contracts/gen/streambet/user/v1/user_pb';
import { BetEngineService } from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { MarketKind, MarketState } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import type { Logger } from '@streambet/platform/log/logger';
import { createSeedKit, seedPassword, type Actor, type SeedTargets } from './actors.js';

/** The demo's admin account (password: the seed password), printed at start. */
export const demoAdminEmail = 'admin@demo.streambet.dev';

/** Demo settings. */
export interface DemoOptions {
  readonly bettorCount?: number;
  /** Pause between two simulated bets. */
  readonly betIntervalMs?: number;
  /** Betting window of each demo market (30–1800 s). */
  readonly bettingWindowSeconds?: number;
  /** Pause between the lock and the resolution, and before the next market. */
  readonly resolveAfterMs?: number;
}

/** A running demo. */
export interface RunningDemo {
  readonly channelId: string;
  stop(): Promise<void>;
}

const questions: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['Who wins this round?', ['Red team', 'Blue team']],
  ['Next map?', ['Dust II', 'Mirage', 'Inferno']],
  ['Will the streamer clutch the 1v3?', ['Yes', 'No']],
  ['How many kills this game?', ['Under 10', '10 to 20', 'Over 20']],
];

/** Seeds the demo and keeps it moving until stopped. Failures are logged, never thrown. */
export async function startDemo(
  targets: SeedTargets,
  logger: Logger,
  options: DemoOptions = {},
): Promise<RunningDemo> {
  const bettorCount = options.bettorCount ?? 12;
  const betIntervalMs = options.betIntervalMs ?? 400;
  const windowSeconds = options.bettingWindowSeconds ?? 90;
  const resolveAfterMs = options.resolveAfterMs ?? 8000;
  const kit = createSeedKit(targets);
  const bets = createClient(BetEngineService, kit.connect);

  const owner = await kit.registerOrLogin('streamer@demo.streambet.dev', 'DemoStreamer');
  // Linked to simulated Twitch and Kick through the real OAuth round trip (one StreamBet channel);
  // a restarted demo on its kept data links again and gets the same channel back.
  const { streamer, channelId: demoChannelId } = await kit.linkChannels(owner, seedPassword, [
    { platform: Platform.TWITCH, platformUserId: '1000', login: 'demostreamer' },
    { platform: Platform.KICK, platformUserId: '2000', login: 'demostreamer' },
  ]);
  const bettors: Actor[] = [];
  for (let i = 0; i < bettorCount; i += 1) {
    const bot = await kit.registerOrLogin(`bot${i}@demo.streambet.dev`, `DemoBot${i}`);
    await kit.grantPoints(bot.userId, 1_000_000n, `demo-bot-${bot.userId}`);
    bettors.push(bot);
  }
  logger.info(
    { channelId: demoChannelId, bettors: bettorCount },
    'demo: channel seeded with simulated bettors (log in as any new user to bet)',
  );
  // The admin console's login (/admin/): made an admin as the operator's `npm run admin -- grant`
  // would, through SetUserRole with the user service's own credential.
  const admin = await kit.registerOrLogin(demoAdminEmail, 'DemoAdmin');
  await createClient(
    UserService,
    createGrpcTransport({ baseUrl: targets.userServiceUrl }),
  ).setUserRole(
    { userId: admin.userId, role: Role.ADMIN, granted: true, reason: 'demo admin of npm start' },
    { headers: { authorization: `Bearer ${await targets.serviceToken('user')}` } },
  );
  // The password goes in the message: the logger redacts fields named like secrets.
  logger.info(
    { console: `${targets.gatewayUrl}/admin/`, email: demoAdminEmail },
    `demo: admin console at ${targets.gatewayUrl}/admin/ — sign in as ${demoAdminEmail} with "${seedPassword}"`,
  );

  let stopped = false;
  let round = 0;
  let current: { marketId: string; outcomeIds: string[] } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let busy: Promise<void> = Promise.resolve();

  const openNext = async (): Promise<void> => {
    const listed = await kit.pool.listMarkets(
      { channelId: demoChannelId, states: [MarketState.OPEN] },
      { headers: streamer.headers },
    );
    const open = listed.markets[0];
    if (open !== undefined) {
      current = { marketId: open.marketId, outcomeIds: open.outcomes.map((o) => o.outcomeId) };
      return;
    }
    const [title, outcomes] = questions[round % questions.length]!;
    round += 1;
    const created = await kit.pool.createMarket(
      {
        idempotencyKey: `demo-${Date.now()}`,
        channelId: demoChannelId,
        title,
        outcomes: outcomes.map((t) => ({ title: t })),
        currency: 'PTS',
        kind: MarketKind.POOL,
        bettingWindowSeconds: windowSeconds,
        openNow: true,
      },
      { headers: streamer.headers },
    );
    const market = created.market!;
    current = { marketId: market.marketId, outcomeIds: market.outcomes.map((o) => o.outcomeId) };
    logger.info({ marketId: market.marketId, title }, 'demo: market opened');
  };

  /** Resolves every locked demo market with a random winner. */
  const resolveLocked = async (): Promise<void> => {
    const listed = await kit.pool.listMarkets(
      { channelId: demoChannelId, states: [MarketState.LOCKED] },
      { headers: streamer.headers },
    );
    for (const market of listed.markets) {
      const winner = market.outcomes[randomInt(market.outcomes.length)]!;
      await kit.pool.resolveMarket(
        { marketId: market.marketId, winningOutcomeId: winner.outcomeId },
        { headers: streamer.headers },
      );
      logger.info({ marketId: market.marketId, winner: winner.title }, 'demo: market resolved');
    }
  };

  const tick = async (): Promise<void> => {
    if (current === undefined) await openNext();
    const market = current!;
    const bot = bettors[randomInt(bettors.length)]!;
    try {
      await bets.placeBet(
        {
          idempotencyKey: `demo-${Date.now()}-${randomInt(1e9)}`,
          marketId: market.marketId,
          outcomeId: market.outcomeIds[randomInt(market.outcomeIds.length)]!,
          currency: 'PTS',
          stakeMinor: BigInt(10 * (1 + randomInt(50))),
        },
        { headers: bot.headers },
      );
    } catch {
      // Betting closed (auto-lock): give the viewers a moment to see the lock, then settle and
      // open the next market.
      current = undefined;
      await new Promise((resolve) => setTimeout(resolve, resolveAfterMs));
      await resolveLocked();
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      busy = tick()
        .catch((error: unknown) => logger.warn({ err: error }, 'demo: step failed; retrying'))
        .finally(schedule);
    }, betIntervalMs);
  };
  await resolveLocked();
  await openNext();
  schedule();

  return {
    channelId: demoChannelId,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await busy;
    },
  };
}
