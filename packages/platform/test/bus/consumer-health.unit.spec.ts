import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createConsumerHealth } from '@streambet/platform/bus/consumer-health';
import type { EventEnvelope } from '@streambet/platform/bus/types';

const event: EventEnvelope = {
  id: 'evt-1',
  type: 'streambet.events.v1.MarketResolved',
  topic: 'market',
  key: 'm-1',
  payload: new Uint8Array(),
  headers: {},
  occurredAtMs: 0,
};

function setup() {
  let nowMs = 1_000_000;
  const errors: Array<{ fields: object; message: string }> = [];
  const infos: string[] = [];
  const registry = new Registry();
  const health = createConsumerHealth({
    registry,
    now: () => nowMs,
    alertAfterMs: 60_000,
    logger: {
      error: (fields, message) => errors.push({ fields, message }),
      info: (_fields, message) => infos.push(message),
    },
  });
  return {
    health,
    registry,
    errors,
    infos,
    advance: (ms: number) => (nowMs += ms),
  };
}

describe('consumer health', () => {
  it('reports the oldest failing age per topic and group and logs once past the threshold', async () => {
    const { health, registry, errors, infos, advance } = setup();
    let failing = true;
    const handler = health.wrap('settlement.market', () =>
      failing ? Promise.reject(new Error('database down')) : Promise.resolve(),
    );
    await expect(handler(event)).rejects.toThrow('database down');
    advance(30_000);
    await expect(handler(event)).rejects.toThrow('database down');
    expect(errors).toHaveLength(0);
    expect(
      await registry.getSingleMetricAsString('bus_oldest_failing_event_age_seconds'),
    ).toContain(
      'bus_oldest_failing_event_age_seconds{topic="market",group="settlement.market"} 30',
    );

    advance(30_000);
    await expect(handler(event)).rejects.toThrow('database down');
    advance(30_000);
    await expect(handler(event)).rejects.toThrow('database down');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields).toMatchObject({
      group: 'settlement.market',
      topic: 'market',
      eventId: 'evt-1',
      failingForMs: 60_000,
      attempts: 3,
    });
    expect(await registry.getSingleMetricAsString('bus_handler_failures_total')).toContain(
      'bus_handler_failures_total{topic="market",group="settlement.market"} 4',
    );

    failing = false;
    await handler(event);
    expect(infos).toEqual(['event handler recovered after failing past the alert threshold']);
    expect(
      await registry.getSingleMetricAsString('bus_oldest_failing_event_age_seconds'),
    ).not.toContain('group="settlement.market"');
  });

  it('counts dead letters and stops tracking the event', async () => {
    const { health, registry } = setup();
    const handler = health.wrap('realtime.fanout', () => Promise.reject(new Error('boom')));
    await expect(handler(event)).rejects.toThrow('boom');
    health.deadLettered('realtime.fanout', event);
    expect(await registry.getSingleMetricAsString('bus_dead_lettered_total')).toContain(
      'bus_dead_lettered_total{topic="market",group="realtime.fanout"} 1',
    );
    expect(await registry.getSingleMetricAsString('bus_failing_events')).not.toContain(
      'realtime.fanout',
    );
  });
});
