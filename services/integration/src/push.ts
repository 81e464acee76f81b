/**
 * Pushes markets opened on StreamBet to the channel's Twitch link as Channel Points predictions
 * (ChannelSettings.push_markets_to_twitch): create on MarketOpened, lock on MarketLocked, resolve
 * or cancel on MarketResolved / MarketCanceled, through Helix `POST/PATCH /helix/predictions`
 * with the streamer's token, behind the Twitch circuit breaker (platforms.ts).
 *
 * Consumer group `integration.push-predictions` on topic `market`. Idempotent under redelivery:
 * `integration_pushed_predictions` holds one row per market (claimed before the Helix call,
 * advanced after it), so a repeated event finds its work done. A market Twitch's limits cannot
 * carry is SKIPPED with the reason on the channel's push_note; Twitch refusing a call (4xx) is
 * recorded the same way; Twitch unreachable is retried (the claim is released first).
 */
import { fromBinary } from '@bufbuild/protobuf';
import {
  MarketCanceledSchema,
  MarketLockedSchema,
  MarketOpenedSchema,
  MarketResolvedSchema,
} from '@streambet/contracts/gen/streambet/events/v1/market_pb';
import type { Logger } from '@streambet/platform/log/logger';
import type { Clock } from '@streambet/platform/rpc/clock';
import type { EventConsumer } from '@streambet/platform/runtime/service-host';
import { decidePush, type PushableMarket } from './domain/push.js';
import { PlatformRejectedError, type PlatformApis } from './platforms.js';
import type { ChannelRow, IntegrationStore } from './store.js';
import type { TokenCipher } from './token-crypto.js';

/** A market as the pool describes it (PoolService.GetMarket). */
export interface MarketFacts extends PushableMarket {
  readonly channelId: string;
  /** StreamBet outcome ids, in the order of `outcomes`. */
  readonly outcomeIds: readonly string[];
}

type PushStatus = 'ACTIVE' | 'LOCKED' | 'RESOLVED' | 'CANCELED' | 'SKIPPED';

interface PushRow {
  readonly linkId: string;
  readonly predictionId: string;
  readonly outcomeMap: Record<string, string>;
  readonly status: PushStatus;
}

/** Creates the pusher (its `consumer` is registered by app.ts). */
export function createPredictionPusher(deps: {
  readonly store: IntegrationStore;
  readonly apis: PlatformApis;
  readonly cipher: TokenCipher | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The market's title, outcomes and window (PoolService.GetMarket). */
  readonly market: (marketId: string) => Promise<MarketFacts | undefined>;
}) {
  const { store, apis, clock } = deps;
  const sql = store.sql;

  async function row(marketId: string): Promise<PushRow | undefined> {
    const result = await sql.query<{
      link_id: string;
      prediction_id: string;
      outcome_map: string;
      status: PushStatus;
    }>(
      `SELECT link_id, prediction_id, outcome_map, status FROM integration_pushed_predictions
       WHERE market_id = $1`,
      [marketId],
    );
    const r = result.rows[0];
    return r === undefined
      ? undefined
      : {
          linkId: r.link_id,
          predictionId: r.prediction_id,
          outcomeMap: JSON.parse(r.outcome_map) as Record<string, string>,
          status: r.status,
        };
  }

  async function setRow(
    marketId: string,
    fields: { status: PushStatus; predictionId?: string; outcomeMap?: string; note?: string },
  ): Promise<void> {
    await sql.query(
      `UPDATE integration_pushed_predictions SET status = $2,
         prediction_id = COALESCE($3, prediction_id), outcome_map = COALESCE($4, outcome_map),
         note = COALESCE($5, note), updated_at_ms = $6 WHERE market_id = $1`,
      [
        marketId,
        fields.status,
        fields.predictionId ?? null,
        fields.outcomeMap ?? null,
        fields.note ?? null,
        clock.now(),
      ],
    );
  }

  /** The channel's Twitch link when the channel pushes markets; undefined otherwise. */
  async function pushingLink(streambetChannelId: string): Promise<ChannelRow | undefined> {
    const links = await store.linksOf(sql, streambetChannelId);
    const twitch = links.find((l) => l.platform === 'TWITCH' && l.linkStatus === 'ACTIVE');
    if (twitch === undefined || !twitch.pushMarketsToTwitch) return undefined;
    return twitch;
  }

  function token(link: ChannelRow): string {
    if (deps.cipher === undefined) throw new Error('INTEGRATION_TOKEN_KEY is unset');
    return deps.cipher.decrypt(link.accessTokenSealed, link.channelId);
  }

  async function note(streambetChannelId: string, marketId: string, text: string): Promise<void> {
    await store.setPushNote(
      sql,
      streambetChannelId,
      text === '' ? '' : `market ${marketId}: ${text}`,
    );
  }

  async function opened(marketId: string, channelId: string): Promise<void> {
    const link = await pushingLink(channelId);
    if (link === undefined || (await row(marketId)) !== undefined) return;
    const market = await deps.market(marketId);
    if (market === undefined) return;
    const active = await sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM integration_pushed_predictions
       WHERE streambet_channel_id = $1 AND status IN ('ACTIVE', 'LOCKED') AND market_id <> $2`,
      [channelId, marketId],
    );
    const decision = decidePush(market, Number(active.rows[0]?.n ?? 0));
    // Claim the market (a redelivery, or a second replica, finds the row and stops).
    const claimed = await sql.query(
      `INSERT INTO integration_pushed_predictions
         (market_id, streambet_channel_id, link_id, status, note, updated_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (market_id) DO NOTHING`,
      [
        marketId,
        channelId,
        link.channelId,
        decision.kind === 'push' ? 'ACTIVE' : 'SKIPPED',
        decision.kind === 'skip' ? decision.reason : '',
        clock.now(),
      ],
    );
    if (claimed.rowCount !== 1) return;
    if (decision.kind === 'skip') {
      await note(channelId, marketId, `not pushed to Twitch: ${decision.reason}`);
      return;
    }
    try {
      const created = await apis.twitch.createPrediction(token(link), {
        broadcasterId: link.platformChannelId,
        title: market.title,
        outcomes: market.outcomes,
        windowSeconds: decision.windowSeconds,
      });
      const map = Object.fromEntries(
        market.outcomeIds.map((id, i) => [id, created.outcomeIds[i] ?? '']),
      );
      await setRow(marketId, {
        status: 'ACTIVE',
        predictionId: created.id,
        outcomeMap: JSON.stringify(map),
      });
      await note(channelId, marketId, '');
    } catch (error) {
      if (error instanceof PlatformRejectedError) {
        await setRow(marketId, { status: 'SKIPPED', note: error.message });
        await note(channelId, marketId, `not pushed to Twitch: ${error.message}`);
        return;
      }
      // Unreachable: release the claim and let the bus retry.
      await sql.query(`DELETE FROM integration_pushed_predictions WHERE market_id = $1`, [
        marketId,
      ]);
      throw error;
    }
  }

  async function advance(
    marketId: string,
    channelId: string,
    to: 'LOCKED' | 'RESOLVED' | 'CANCELED',
    winningOutcomeId?: string,
  ): Promise<void> {
    const pushed = await row(marketId);
    if (pushed === undefined || pushed.predictionId === '') return;
    const order: Record<PushStatus, number> = {
      ACTIVE: 0,
      LOCKED: 1,
      RESOLVED: 2,
      CANCELED: 2,
      SKIPPED: 3,
    };
    if (order[pushed.status] >= order[to]) return;
    const link = await store.channel(pushed.linkId);
    if (link === undefined || link.linkStatus !== 'ACTIVE') return;
    try {
      await apis.twitch.endPrediction(token(link), {
        broadcasterId: link.platformChannelId,
        id: pushed.predictionId,
        status: to,
        ...(winningOutcomeId === undefined
          ? {}
          : { winningOutcomeId: pushed.outcomeMap[winningOutcomeId] ?? '' }),
      });
      await setRow(marketId, { status: to });
    } catch (error) {
      if (!(error instanceof PlatformRejectedError)) throw error;
      // Ended on Twitch by hand, or Twitch's own lock came first: recorded, not retried.
      await setRow(marketId, { status: to, note: error.message });
      await note(channelId, marketId, `Twitch refused ${to}: ${error.message}`);
    }
  }

  const consumer: EventConsumer = {
    name: 'push-predictions',
    topics: ['market'],
    maxAttempts: 'unlimited',
    async handleIdempotently(envelope) {
      switch (envelope.type) {
        case MarketOpenedSchema.typeName: {
          const e = fromBinary(MarketOpenedSchema, envelope.payload);
          return opened(e.marketId, e.channelId);
        }
        case MarketLockedSchema.typeName: {
          const e = fromBinary(MarketLockedSchema, envelope.payload);
          return advance(e.marketId, e.channelId, 'LOCKED');
        }
        case MarketResolvedSchema.typeName: {
          const e = fromBinary(MarketResolvedSchema, envelope.payload);
          return advance(e.marketId, e.channelId, 'RESOLVED', e.winningOutcomeId);
        }
        case MarketCanceledSchema.typeName: {
          const e = fromBinary(MarketCanceledSchema, envelope.payload);
          return advance(e.marketId, e.channelId, 'CANCELED');
        }
        default:
          return;
      }
    },
  };

  return { consumer, opened, advance };
}

/** The pusher. */
export type PredictionPusher = ReturnType<typeof createPredictionPusher>;
