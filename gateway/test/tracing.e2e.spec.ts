/**
 * One trace follows a bet across the mesh: the embedded platform exports to a local OTLP receiver,
 * a viewer watching the market over socket.io places a bet through the gateway, and the spans that
 * arrive share one trace id from the gateway's PlaceBet through the bet engine, the user service's
 * ReserveStakes (eligibility and the ledger's holds), the bus hop to the realtime service and its push to the viewer's rooms.
 *
 * In embedded mode every service shares one process and so one resource (`service.name` is
 * `streambet`): each span names its service in the `streambet.service` attribute.
 */
import { createClient } from '@connectrpc/connect';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BetEngineService,
  BetStatus,
} from '@streambet/contracts/gen/streambet/betengine/v1/bet_engine_pb';
import { BetPlacedSchema } from '@streambet/contracts/gen/streambet/events/v1/bet_pb';
import { OddsChangedSchema } from '@streambet/contracts/gen/streambet/events/v1/odds_pb';
import { HoldPlacedSchema } from '@streambet/contracts/gen/streambet/events/v1/wallet_pb';
import { UserInternalService } from '@streambet/contracts/gen/streambet/user/v1/internal_pb';
import { MarketKind } from '@streambet/contracts/gen/streambet/pool/v1/pool_pb';
import { generateServiceKeys } from '@streambet/platform/auth/tokens';
import { servicePorts } from '@streambet/platform/runtime/platform-config';
import {
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '@streambet/testkit/otlp-receiver';
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

const service = 'streambet.service';
const kind = { server: 2, client: 3, producer: 4, consumer: 5 } as const;

let receiver: OtlpReceiver;
let platform: EmbeddedPlatform;
let kit: SeedKit;
let socket: Socket | undefined;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const pair = await generateServiceKeys(Object.keys(servicePorts));
  platform = await startEmbeddedPlatform({
    ports: 'free',
    env: {
      LOG_LEVEL: 'silent',
      USER_SCRYPT_LOG_N: '10',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
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
  socket?.close();
  await platform?.shutdown();
  await receiver?.close();
});

/** Connects through the gateway as `viewer` (who joins their own user room on connect). */
async function connectViewer(viewer: Actor): Promise<Socket> {
  const connected = connectSocket(platform.gatewayUrl, {
    path: '/socket.io/',
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token: viewer.accessToken },
  });
  await new Promise<void>((resolve, reject) => {
    connected.once('connect', () => resolve());
    connected.once('connect_error', reject);
  });
  return connected;
}

/**
 * Joins the market room. The realtime service learns of a market from MarketCreated on the bus,
 * asynchronously: until it has, the join answers NOT_FOUND, and the next request (one round trip
 * later, no timer) tries again.
 */
async function joinMarketRoom(viewerSocket: Socket, marketId: string): Promise<void> {
  for (let attempt = 0; attempt < 5_000; attempt += 1) {
    const ack = (await viewerSocket
      .timeout(5_000)
      .emitWithAck('room:join', { room: `market:${marketId}` })) as {
      ok: boolean;
      code?: string;
    };
    if (ack.ok) return;
    if (ack.code !== 'NOT_FOUND') throw new Error(`room:join refused: ${JSON.stringify(ack)}`);
  }
  throw new Error(`the realtime service never learned of market ${marketId}`);
}

/** The next `event` the socket receives whose payload satisfies `match`. */
function nextPush<T>(viewerSocket: Socket, event: string, match: (payload: T) => boolean) {
  return new Promise<T>((resolve) => {
    const listener = (payload: T): void => {
      if (!match(payload)) return;
      viewerSocket.off(event, listener);
      resolve(payload);
    };
    viewerSocket.on(event, listener);
  });
}

/** The chain of ancestors of `span` within `spans`, nearest first; stops at a parent not received. */
function ancestors(span: ReceivedSpan, spans: ReadonlyMap<string, ReceivedSpan>): ReceivedSpan[] {
  const chain: ReceivedSpan[] = [];
  for (let parent = spans.get(span.parentSpanId); parent !== undefined;) {
    chain.push(parent);
    parent = spans.get(parent.parentSpanId);
  }
  return chain;
}

describe('distributed tracing across the mesh (OTLP export)', () => {
  it('given a viewer watching a market, when they bet through the gateway, then one trace links the gateway, the bet engine, the user service, the bus hop and the realtime push', async () => {
    const channelId = newChannelId();
    const owner = await kit.register('trace-streamer@example.com', 'TraceStreamer');
    const streamer = await kit.makeStreamer(owner, seedPassword, channelId, 'tracestreamer');
    await kit.pool.updateChannelSettings(
      { channelId, broadcastDelaySeconds: 0 },
      { headers: streamer.headers },
    );
    const viewer = await kit.register('trace-viewer@example.com', 'TraceViewer');
    await kit.grantPoints(viewer.userId, 100_000n, `trace-grant-${viewer.userId}`);
    const created = await kit.pool.createMarket(
      {
        idempotencyKey: 'trace-market',
        channelId,
        title: 'Traced?',
        outcomes: [{ title: 'Yes' }, { title: 'No' }],
        currency: 'PTS',
        kind: MarketKind.POOL,
        commissionBps: 500,
        bettingWindowSeconds: 600,
        openNow: true,
      },
      { headers: streamer.headers },
    );
    const market = created.market!;
    socket = await connectViewer(viewer);
    await joinMarketRoom(socket, market.marketId);

    const stakeMinor = 2_500n;
    // The viewer's own room gets BetPlaced (bet engine) and HoldPlaced (the user service's ledger);
    // the market room the odds with the new total.
    const pushed = nextPush<{ betId: string }>(
      socket,
      BetPlacedSchema.typeName,
      (payload) => payload.betId !== '',
    );
    const holdPushed = nextPush(socket, HoldPlacedSchema.typeName, () => true);
    const oddsPushed = nextPush<{ odds?: { totalStakedMinor?: string } }>(
      socket,
      OddsChangedSchema.typeName,
      (payload) => payload.odds?.totalStakedMinor === String(stakeMinor),
    );
    const { bet } = await createClient(BetEngineService, kit.connect).placeBet(
      {
        idempotencyKey: 'traced-bet',
        marketId: market.marketId,
        outcomeId: market.outcomes[0]!.outcomeId,
        currency: 'PTS',
        stakeMinor,
      },
      { headers: viewer.headers },
    );
    expect(bet?.status).toBe(BetStatus.ACCEPTED);
    expect((await pushed).betId).toBe(bet!.betId);
    await oddsPushed;
    await holdPushed;

    // Graceful shutdown ends every span (batches drained, consumers closed) and flushes the export.
    socket.close();
    await platform.shutdown();

    const all = receiver.spans();
    expect(new Set(all.map((span) => span.resourceServiceName))).toEqual(new Set(['streambet']));
    const placeBet = `${BetEngineService.typeName}/PlaceBet`;
    const edge = all.filter(
      (span) =>
        span.name === placeBet &&
        span.kind === kind.server &&
        span.attributes[service] === 'gateway',
    );
    expect(edge).toHaveLength(1);
    const root = edge[0]!;
    expect(root.parentSpanId).toBe('');
    const trace = new Map(
      all.filter((span) => span.traceId === root.traceId).map((span) => [span.spanId, span]),
    );
    // One tree: every span of the trace reaches the gateway's span through parents received.
    for (const span of trace.values()) {
      if (span === root) continue;
      expect({ span: span.name, root: ancestors(span, trace).at(-1)?.spanId }).toEqual({
        span: span.name,
        root: root.spanId,
      });
    }
    const find = (what: string, test: (span: ReceivedSpan) => boolean): ReceivedSpan => {
      const found = [...trace.values()].find(test);
      expect(found, what).toBeDefined();
      return found!;
    };

    const gatewayCall = find(
      'the gateway calling the bet engine',
      (s) => s.name === placeBet && s.kind === kind.client && s.attributes[service] === 'gateway',
    );
    expect(gatewayCall.parentSpanId).toBe(root.spanId);
    const betEngine = find(
      'the bet engine serving PlaceBet',
      (s) =>
        s.name === placeBet && s.kind === kind.server && s.attributes[service] === 'bet-engine',
    );
    expect(betEngine.parentSpanId).toBe(gatewayCall.spanId);
    const batch = find('the placement batch', (s) => s.name === 'bet-engine placement batch');
    expect(ancestors(batch, trace)).toContain(betEngine);
    expect(batch.attributes).toMatchObject({
      [service]: 'bet-engine',
      'streambet.batch.size': '1',
    });
    // Placement reserves stakes (eligibility and holds in one transaction) in the user service.
    const ledger = find(
      'the user service serving ReserveStakes',
      (s) =>
        s.kind === kind.server &&
        s.attributes[service] === 'user' &&
        s.attributes['rpc.service'] === UserInternalService.typeName &&
        s.attributes['rpc.method'] === 'ReserveStakes',
    );
    expect(ancestors(ledger, trace)).toContain(batch);
    // The ledger's own event (written by the user service's outbox) continues the same trace.
    const holdConsumed = find(
      'the realtime service consuming HoldPlaced',
      (s) =>
        s.name === `consume ${HoldPlacedSchema.typeName}` && s.attributes[service] === 'realtime',
    );
    expect(ancestors(holdConsumed, trace)).toContain(ledger);
    find(
      'the push of HoldPlaced to the viewer',
      (s) =>
        s.name === 'realtime push' &&
        s.parentSpanId === holdConsumed.spanId &&
        s.attributes['messaging.destination.name'] === `user:${viewer.userId}`,
    );
    const consume = find(
      'the realtime service consuming BetPlaced',
      (s) =>
        s.kind === kind.consumer &&
        s.name === `consume ${BetPlacedSchema.typeName}` &&
        s.attributes[service] === 'realtime',
    );
    expect(consume.attributes).toMatchObject({
      'messaging.system': 'memory',
      'messaging.destination.name': 'bet',
    });
    expect(ancestors(consume, trace)).toContain(batch);
    const push = find(
      'the push to the viewer',
      (s) =>
        s.name === 'realtime push' &&
        s.attributes['streambet.push.event'] === BetPlacedSchema.typeName,
    );
    expect(push).toMatchObject({
      kind: kind.producer,
      parentSpanId: consume.spanId,
      attributes: {
        [service]: 'realtime',
        'messaging.system': 'socket.io',
        'messaging.destination.name': `user:${viewer.userId}`,
      },
    });
    const marketPush = find(
      'the push to the market room',
      (s) =>
        s.name === 'realtime push' &&
        s.attributes['messaging.destination.name'] === `market:${market.marketId}` &&
        s.attributes['streambet.push.event'] === OddsChangedSchema.typeName,
    );
    expect(marketPush.kind).toBe(kind.producer);
    expect(ancestors(marketPush, trace)).toContain(batch);
    const services = new Set([...trace.values()].map((span) => span.attributes[service]));
    for (const name of ['gateway', 'bet-engine', 'user', 'realtime']) {
      expect(services.has(name), name).toBe(true);
    }
  }, 120_000);
});
