/**
 * The bet engine's outbox: BetPlaced, BetVoided and OddsChanged appended in the transaction that
 * changes the bets and totals they describe.
 */
import { appendToOutbox } from '@streambet/platform/outbox/outbox';
import { newEventId } from '@streambet/platform/outbox/event-id';
import { injectTraceHeaders } from '@streambet/platform/obs/tracing';
import type { SqlExecutor } from '@streambet/platform/sql/types';
import type { BetStatus, MarketView, VoidReason } from '../domain/bet.js';
import {
  encodeBetVoided,
  type BetRecord,
  type EncodedEvent,
  type EventMetadataInit,
} from '../proto-codec.js';
import { marketFacts } from './markets.js';

/** Topic of bet events (BetPlaced, BetVoided), keyed by market id. */
export const betTopic = 'bet';
/** Topic of odds snapshots (OddsChanged), keyed by market id. */
export const oddsTopic = 'odds';

/** Appends encoded events to the outbox in `tx`, each with its metadata and trace headers. */
export async function appendEvents(
  tx: SqlExecutor,
  nowMs: number,
  events: ReadonlyArray<{
    topic: string;
    key: string;
    actorUserId: string;
    encode: (meta: EventMetadataInit) => EncodedEvent;
  }>,
): Promise<void> {
  if (events.length === 0) return;
  const ids = events.map(() => newEventId());
  const headers = injectTraceHeaders({ producer: 'bet-engine' });
  const traceParent = headers.traceparent ?? '';
  let next = 0;
  await appendToOutbox(
    tx,
    events.map((event, index) => {
      const encoded = event.encode({
        eventId: ids[index]!,
        occurredAtMs: nowMs,
        traceParent,
        aggregateId: event.key,
        actorUserId: event.actorUserId,
      });
      return {
        topic: event.topic,
        key: event.key,
        type: encoded.type,
        payload: encoded.payload,
        headers,
      };
    }),
    { clock: () => nowMs, newId: () => ids[next++]! },
  );
}

/** Appends BetVoided for each voided bet. */
export async function appendVoidedEvents(
  tx: SqlExecutor,
  voided: ReadonlyArray<{ bet: BetRecord; previousStatus: BetStatus }>,
  markets: ReadonlyMap<string, MarketView>,
  details: {
    reason: VoidReason;
    releasedByEngine: boolean;
    lockEffectiveAtMs: number;
    nowMs: number;
  },
): Promise<void> {
  await appendEvents(
    tx,
    details.nowMs,
    voided.map(({ bet }) => ({
      topic: betTopic,
      key: bet.marketId,
      actorUserId: '',
      encode: (meta) =>
        encodeBetVoided(
          bet,
          marketFacts(markets.get(bet.marketId)!),
          {
            reason: details.reason,
            releasedMinor: details.releasedByEngine ? bet.stakeMinor : 0n,
            lockEffectiveAtMs: details.lockEffectiveAtMs,
            voidedAtMs: details.nowMs,
          },
          meta,
        ),
    })),
  );
}
